"""The admin API for operators: `/api/admin/…`, bearer tokens, every write audited.

Handlers parse the request, call one function of `hotspot.operators.admin` in a transaction, run
what must follow the commit (jobs, Redis) and serialize. `admin` tokens read and write; `viewer`
tokens only read. Nothing returned here carries a password, a NAS secret or a token (voucher
codes are shown once, in the answer that created them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.exc import DataError, IntegrityError

from hotspot.core.errors import InvalidInputError
from hotspot.models import (
    AdminRole,
    AuditEntry,
    HotspotUser,
    Nas,
    Package,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    RadAcct,
    RadiusSession,
    SessionStatus,
    SmsMessage,
    SmsStatus,
    UserStatus,
)
from hotspot.operators import admin as ops
from hotspot.web import notifier, sessions, settings

admin = Blueprint("admin", __name__, url_prefix="/api/admin")

REALM = 'Bearer realm="hotspot-admin"'
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FREERADIUS_NOTE = (
    "No restart needed: FreeRADIUS reads a router's nas row again at most {seconds} s after it "
    "last did (HOTSPOT_RADIUS_CLIENT_LIFETIME), so a new router is served, a changed secret "
    "holds and a deleted router is refused within {seconds} s."
)


@dataclass(frozen=True)
class Operator:
    token_id: int
    name: str
    role: AdminRole


def operator() -> Operator:
    found: Operator = g.operator
    return found


# --- authentication ----------------------------------------------------------------------------


@admin.before_request
def require_token() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return unauthorized("send the header 'Authorization: Bearer <token>'", REALM)
    with sessions().begin() as session:
        found = ops.authenticate(session, token)
        if found is None:
            return unauthorized("unknown or revoked token", f'{REALM}, error="invalid_token"')
        g.operator = Operator(found.id, found.name, found.role)
    if found.role is not AdminRole.ADMIN and request.method not in READ_METHODS:
        return jsonify(error=f"a {found.role.value} token may only read"), 403
    return None


def unauthorized(reason: str, challenge: str) -> Response:
    response = jsonify(error=reason)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge
    return response


@admin.errorhandler(IntegrityError)
def integrity_error(error: IntegrityError) -> Any:
    # A concurrent write won a race the checks could not see (e.g. the same name twice).
    return jsonify(error="conflicts with existing data; reload and try again"), 409


@admin.errorhandler(DataError)
def data_error(error: DataError) -> Any:
    return jsonify(error="a value is out of range or malformed"), 422


# --- helpers -----------------------------------------------------------------------------------


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInputError("the body must be a JSON object")
    return data


def arg(name: str) -> str | None:
    value = request.args.get(name)
    return value.strip() if value is not None and value.strip() else None


def int_arg(name: str) -> int | None:
    value = arg(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be an integer") from None


def bool_arg(name: str) -> bool | None:
    value = arg(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInputError(f"{name} must be true or false")


def page() -> ops.Page:
    return ops.Page.parse(request.args.get("limit"), request.args.get("offset"))


def listing(key: str, found: ops.Listing[Any], items: list[dict[str, Any]]) -> Any:
    return jsonify(
        {
            key: items,
            "limit": found.page.limit,
            "offset": found.page.offset,
            "next_offset": found.next_offset,
        }
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def finish(followups: ops.Followups) -> None:
    ops.run_followups(followups, notifier(), settings().mpesa_query_first_delay)


def actor() -> str:
    return operator().name


# --- serializers -------------------------------------------------------------------------------


def package_json(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "group_name": package.group_name,
        "price": str(package.price),
        "currency": package.currency,
        "duration_seconds": package.duration_seconds,
        "data_cap_bytes": package.data_cap_bytes,
        "rate_limit": package.rate_limit,
        "devices": package.devices,
        "is_active": package.is_active,
        "created_at": iso(package.created_at),
        "updated_at": iso(package.updated_at),
    }


def nas_json(nas: Nas) -> dict[str, Any]:
    return {
        "id": nas.id,
        "nasname": nas.nasname,
        "shortname": nas.shortname,
        "type": nas.type,
        "coa_port": nas.coa_port,
        "description": nas.description,
        "require_message_authenticator": nas.require_message_authenticator,
        "hotspot_address": nas.hotspot_address,
        "secret_set": bool(nas.secret),  # the secret itself is never shown
    }


def user_json(user: HotspotUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "phone": user.phone,
        "status": user.status.value,
        "package_id": user.package_id,
        "package_name": user.package.name,
        "expires_at": iso(user.expires_at),
        "credit": str(user.credit),
        "data_used_bytes": user.data_used_bytes,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


def radacct_json(acct: RadAcct, user: HotspotUser | None = None) -> dict[str, Any]:
    shown = {
        "radacctid": acct.radacctid,
        "acct_unique_id": acct.acctuniqueid,
        "acct_session_id": acct.acctsessionid,
        "username": acct.username,
        "nas_ip": str(acct.nasipaddress),
        "nas_port_id": acct.nasportid,
        "framed_ip": str(acct.framedipaddress) if acct.framedipaddress else None,
        "mac": acct.callingstationid,
        "started_at": iso(acct.acctstarttime),
        "updated_at": iso(acct.acctupdatetime),
        "session_time": acct.acctsessiontime,
        "input_octets": acct.acctinputoctets,
        "output_octets": acct.acctoutputoctets,
    }
    if user is not None:
        shown["user"] = {"id": user.id, "phone": user.phone, "status": user.status.value}
    return shown


def session_json(row: RadiusSession, user: HotspotUser) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": user.username,
        "user_id": user.id,
        "status": row.status.value,
        "acct_unique_id": row.acct_unique_id,
        "nas_ip": str(row.nas_ip) if row.nas_ip else None,
        "framed_ip": str(row.framed_ip) if row.framed_ip else None,
        "mac": row.mac,
        "started_at": iso(row.started_at),
        "stopped_at": iso(row.stopped_at),
        "terminate_cause": row.terminate_cause,
        "input_octets": row.input_octets,
        "output_octets": row.output_octets,
    }


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "method": payment.method.value,
        "status": payment.status.value,
        "amount": str(payment.amount),
        "amount_paid": str(payment.amount_paid) if payment.amount_paid is not None else None,
        "package_id": payment.package_id,
        "user_id": payment.user_id,
        "phone": payment.phone,
        "bill_ref_number": payment.bill_ref_number,
        "checkout_request_id": payment.checkout_request_id,
        "mpesa_receipt": payment.mpesa_receipt,
        "result_code": payment.result_code,
        "failure_reason": payment.failure_reason,
        "created_at": iso(payment.created_at),
        "updated_at": iso(payment.updated_at),
        "paid_at": iso(payment.paid_at),
    }


def event_json(event: PaymentEvent) -> dict[str, Any]:
    return {"kind": event.kind, "detail": event.detail, "created_at": iso(event.created_at)}


def sms_json(message: SmsMessage) -> dict[str, Any]:
    # Not the body: credentials messages carry the customer's password.
    return {
        "id": message.id,
        "phone": message.phone,
        "user_id": message.user_id,
        "purpose": message.purpose,
        "status": message.status.value,
        "provider_status_code": message.provider_status_code,
        "provider_message_id": message.provider_message_id,
        "cost": message.cost,
        "error": message.error,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "created_at": iso(entry.created_at),
    }


# --- packages ----------------------------------------------------------------------------------


@admin.get("/packages")
def list_packages() -> Any:
    with sessions()() as session:
        found = ops.list_packages(session, bool_arg("active"), page())
        return listing("packages", found, [package_json(p) for p in found.items])


@admin.post("/packages")
def create_package() -> Any:
    s = settings()
    with sessions().begin() as session:
        package = ops.admin_create_package(
            session,
            actor(),
            body(),
            currency=s.currency,
            interim_interval=s.acct_interim_interval,
        )
        shown = package_json(package)
    return jsonify(shown), 201


@admin.get("/packages/<int32:package_id>")
def show_package(package_id: int) -> Any:
    with sessions()() as session:
        return jsonify(package_json(ops.get_package(session, package_id)))


@admin.patch("/packages/<int32:package_id>")
def change_package(package_id: int) -> Any:
    with sessions().begin() as session:
        change = ops.change_package(
            session,
            actor(),
            package_id,
            body(),
            interim_interval=settings().acct_interim_interval,
            now=now(),
        )
        shown = {
            **package_json(change.package),
            "changed": ops.jsonable(change.changed),
            "users_resynced": change.users_resynced,
        }
    return jsonify(shown)


@admin.post("/packages/<int32:package_id>/retire")
def retire_package(package_id: int) -> Any:
    with sessions().begin() as session:
        shown = package_json(ops.retire_package(session, actor(), package_id, now()))
    return jsonify(shown)


# --- NAS ---------------------------------------------------------------------------------------


def nas_written(nas: Nas) -> dict[str, Any]:
    seconds = settings().radius_client_lifetime
    return {
        **nas_json(nas),
        "freeradius_reload_needed": False,
        "freeradius_applies_within_seconds": seconds,
        "note": FREERADIUS_NOTE.format(seconds=seconds),
    }


@admin.get("/nas")
def list_nas() -> Any:
    with sessions()() as session:
        found = ops.list_nas(session, page())
        return listing("nas", found, [nas_json(n) for n in found.items])


@admin.post("/nas")
def create_nas() -> Any:
    with sessions().begin() as session:
        shown = nas_written(ops.create_nas(session, actor(), body()))
    return jsonify(shown), 201


@admin.get("/nas/<int32:nas_id>")
def show_nas(nas_id: int) -> Any:
    with sessions()() as session:
        return jsonify(nas_json(ops.get_nas(session, nas_id)))


@admin.patch("/nas/<int32:nas_id>")
def change_nas(nas_id: int) -> Any:
    with sessions().begin() as session:
        shown = nas_written(ops.change_nas(session, actor(), nas_id, body()))
    return jsonify(shown)


@admin.delete("/nas/<int32:nas_id>")
def delete_nas(nas_id: int) -> Any:
    with sessions().begin() as session:
        shown = nas_written(ops.delete_nas(session, actor(), nas_id))
    return jsonify({**shown, "deleted": True})


# --- hotspot users -----------------------------------------------------------------------------


@admin.get("/users")
def search_users() -> Any:
    f = ops.UserFilter(
        q=arg("q"),
        phone=arg("phone"),
        username=arg("username"),
        status=ops.parse_enum(arg("status"), UserStatus, "status"),
        package_id=int_arg("package_id"),
    )
    with sessions()() as session:
        found = ops.search_users(session, f, page(), settings().default_region)
        return listing("users", found, [user_json(u) for u in found.items])


@admin.get("/users/<username>")
def show_user(username: str) -> Any:
    with sessions()() as session:
        user = ops.get_user(session, username)
        return jsonify(
            {
                **user_json(user),
                "package": package_json(user.package),
                "open_sessions": [
                    radacct_json(a) for a in ops.open_radacct(session, user.username)
                ],
                "recent_payments": [payment_json(p) for p in ops.recent_payments(session, user.id)],
            }
        )


@admin.post("/users/<username>/extend")
def extend_user(username: str) -> Any:
    followups = ops.Followups()
    with sessions().begin() as session:
        shown = user_json(
            ops.extend(session, actor(), username, body(), now=now(), followups=followups)
        )
    finish(followups)
    return jsonify(shown)


@admin.post("/users/<username>/disable")
def disable_user(username: str) -> Any:
    followups = ops.Followups()
    with sessions().begin() as session:
        user, open_sessions = ops.disable_user(session, actor(), username, followups)
        shown = {**user_json(user), "disconnecting": open_sessions}
    finish(followups)
    return jsonify(shown)


@admin.post("/users/<username>/enable")
def enable_user(username: str) -> Any:
    with sessions().begin() as session:
        shown = user_json(ops.enable_user(session, actor(), username, now()))
    return jsonify(shown)


@admin.post("/users/<username>/disconnect")
def disconnect_user(username: str) -> Any:
    followups = ops.Followups()
    with sessions().begin() as session:
        user, open_sessions = ops.disconnect(session, actor(), username, followups)
        shown = {"username": user.username, "disconnecting": open_sessions}
    finish(followups)
    return jsonify(shown), 202


# --- sessions ----------------------------------------------------------------------------------


def session_filter() -> ops.SessionFilter:
    nas = arg("nas")
    return ops.SessionFilter(
        username=arg("username"),
        nas=ops.parse_ip(nas, "nas") if nas is not None else None,
        status=ops.parse_enum(arg("status"), SessionStatus, "status"),
        since=ops.optional_time(arg("since"), "since"),
        until=ops.optional_time(arg("until"), "until"),
    )


@admin.get("/sessions/active")
def active_sessions() -> Any:
    with sessions()() as session:
        found = ops.active_sessions(session, session_filter(), page())
        return listing("sessions", found, [radacct_json(a, u) for a, u in found.items])


@admin.get("/sessions")
def session_history() -> Any:
    with sessions()() as session:
        found = ops.session_history(session, session_filter(), page())
        return listing("sessions", found, [session_json(s, u) for s, u in found.items])


# --- payments ----------------------------------------------------------------------------------


@admin.get("/payments")
def list_payments() -> Any:
    f = ops.PaymentFilter(
        status=ops.parse_enum(arg("status"), PaymentStatus, "status"),
        method=ops.parse_enum(arg("method"), PaymentMethod, "method"),
        phone=arg("phone"),
        receipt=arg("receipt"),
        username=arg("username"),
        since=ops.optional_time(arg("since"), "since"),
        until=ops.optional_time(arg("until"), "until"),
    )
    with sessions()() as session:
        found = ops.list_payments(session, f, page(), settings().default_region)
        return listing("payments", found, [payment_json(p) for p in found.items])


@admin.get("/payments/<int64:payment_id>")
def show_payment(payment_id: int) -> Any:
    with sessions()() as session:
        payment = ops.get_payment(session, payment_id)
        return jsonify(
            {
                **payment_json(payment),
                "package": package_json(payment.package) if payment.package else None,
                "events": [event_json(e) for e in ops.payment_events(session, payment_id)],
            }
        )


@admin.post("/payments/<int64:payment_id>/resolve")
def resolve_payment(payment_id: int) -> Any:
    followups = ops.Followups()
    with sessions().begin() as session:
        payment, user, credentials = ops.resolve_payment(
            session,
            actor(),
            payment_id,
            body(),
            region=settings().default_region,
            now=now(),
            followups=followups,
        )
        shown = {
            **payment_json(payment),
            "account": user_json(user),
            "outcome": "provisioned" if credentials is not None else "credited",
        }
    finish(followups)
    return jsonify(shown)


# --- vouchers ----------------------------------------------------------------------------------


@admin.post("/vouchers/batches")
def create_voucher_batch() -> Any:
    with sessions().begin() as session:
        batch, package, codes = ops.create_voucher_batch(session, actor(), body(), now())
        shown = {"batch": batch, "package": package_json(package), "count": len(codes)}
    return jsonify({**shown, "codes": codes}), 201


@admin.get("/vouchers/batches")
def list_voucher_batches() -> Any:
    with sessions()() as session:
        found = ops.list_voucher_batches(session, int_arg("package_id"), page())
        return listing(
            "batches",
            found,
            [
                {
                    "batch": b.batch,
                    "package_id": b.package_id,
                    "package": b.package_name,
                    "created_at": iso(b.created_at),
                    "counts": b.counts,
                    "total": sum(b.counts.values()),
                }
                for b in found.items
            ],
        )


@admin.post("/vouchers/batches/<path:batch>/revoke")
def revoke_voucher_batch(batch: str) -> Any:
    with sessions().begin() as session:
        revoked = ops.revoke_voucher_batch(session, actor(), batch)
    return jsonify(batch=batch, revoked=revoked)


# --- SMS and the audit log ---------------------------------------------------------------------


@admin.get("/sms")
def list_sms() -> Any:
    f = ops.SmsFilter(
        status=ops.parse_enum(arg("status"), SmsStatus, "status"),
        phone=arg("phone"),
        purpose=arg("purpose"),
        since=ops.optional_time(arg("since"), "since"),
        until=ops.optional_time(arg("until"), "until"),
    )
    with sessions()() as session:
        found = ops.list_sms(session, f, page(), settings().default_region)
        return listing("messages", found, [sms_json(m) for m in found.items])


@admin.get("/audit")
def list_audit() -> Any:
    f = ops.AuditFilter(
        actor=arg("actor"),
        action=arg("action"),
        target=arg("target"),
        since=ops.optional_time(arg("since"), "since"),
        until=ops.optional_time(arg("until"), "until"),
    )
    with sessions()() as session:
        found = ops.list_audit(session, f, page())
        return listing("entries", found, [audit_json(e) for e in found.items])


@admin.get("/whoami")
def whoami() -> Any:
    me = operator()
    return jsonify(id=me.token_id, name=me.name, role=me.role.value)
