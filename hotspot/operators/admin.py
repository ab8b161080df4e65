"""Operators: admin tokens, the audit log, and what an operator may do.

Every write is a plain function taking a Session (no Flask): it checks its input, makes the
change, and adds an `audit_log` row in the same transaction, so a change and its record commit
or roll back together. Work that must wait for the commit (Redis, rq jobs) is collected in a
`Followups` and run by `run_followups` afterwards.

Audit details never carry secrets: no passwords, NAS secrets, tokens or voucher codes. `audit`
also masks such keys should a caller ever pass one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotspot.access.provisioning import (
    Credentials,
    current_password,
    provision_purchase,
    write_radius_rows,
)
from hotspot.access.routers import canonical_address
from hotspot.access.termination import block_user
from hotspot.billing import vouchers
from hotspot.billing.notify import Notifier, dispatch
from hotspot.billing.payments import AfterCommit, find_account, record, timeline
from hotspot.catalog.packages import create_package, sync_group, validate_package
from hotspot.core.errors import ConflictError, InvalidInputError, NotFoundError
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    INT32_MAX,
    MAX_MONEY,
    AdminRole,
    AdminToken,
    AuditEntry,
    HotspotUser,
    Nas,
    Package,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    RadAcct,
    RadCheck,
    RadiusSession,
    SessionStatus,
    SmsMessage,
    SmsStatus,
    UserStatus,
    Voucher,
    VoucherStatus,
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 200
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
SECRET_KEYS = frozenset({"password", "secret", "token", "token_hash", "code", "codes"})
REDACTED = "[redacted]"

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_DATA_CAP = 2**62
MAX_DEVICES = 1000
MAX_EXTEND_DAYS = 3650
MAX_VOUCHERS_PER_BATCH = 10_000
BATCH_LABEL = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
DISCONNECT_JOB = "jobs.expiry.disconnect_user"


# --- tokens ------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: AdminRole | str) -> str:
    """A new bearer token, returned once: only its SHA-256 is stored."""
    return issue_token(session, name, role)[1]


def issue_token(session: Session, name: str, role: AdminRole | str) -> tuple[AdminToken, str]:
    """The stored row and the token itself.

    Names are unique among live tokens, so the audit log's actor (the name) is unambiguous.
    """
    name = _required_text(name, "name", 100)
    try:
        role = AdminRole(role)
    except ValueError:
        known = ", ".join(r.value for r in AdminRole)
        raise InvalidInputError(f"role must be one of: {known}") from None
    clash = session.scalar(
        select(AdminToken.id).where(AdminToken.name == name, AdminToken.revoked_at.is_(None))
    )
    if clash is not None:
        raise ConflictError(f"a live token named {name!r} already exists (id {clash})")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = AdminToken(name=name, role=role, token_hash=token_digest(token))
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str, now: dt.datetime | None = None) -> AdminToken | None:
    """The live token this bearer value is, or None.

    The lookup is by SHA-256 of the presented value: what the database compares is a hash the
    caller cannot steer byte by byte, so timing reveals nothing about stored tokens.
    `last_used_at` is written at most once a minute, not on every request.
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    found = session.scalar(select(AdminToken).where(AdminToken.token_hash == token_digest(token)))
    if found is None or found.revoked_at is not None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        found.last_used_at = now
    return found


def revoke_token(session: Session, token_id: int, now: dt.datetime | None = None) -> AdminToken:
    token = session.get(AdminToken, token_id, with_for_update=True)
    if token is None:
        raise NotFoundError(f"no token {token_id}")
    if token.revoked_at is not None:
        raise ConflictError(f"token {token_id} ({token.name}) was already revoked")
    token.revoked_at = now or dt.datetime.now(dt.UTC)
    return token


def list_tokens(session: Session) -> list[AdminToken]:
    return list(session.scalars(select(AdminToken).order_by(AdminToken.id)))


# --- the audit log -----------------------------------------------------------------------------


def audit(
    session: Session, actor: str, action: str, target: str | None, detail: Mapping[str, Any]
) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, detail=_scrub(dict(detail)))
    session.add(entry)
    session.flush()
    return entry


def jsonable(value: Any) -> Any:
    """JSON-able, secret-named keys masked: what the audit log and answers may show."""
    return _scrub(value)


def _scrub(value: Any) -> Any:
    """JSON-able, with any secret-named key masked (a guard: callers pass no secrets)."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if str(k).lower() in SECRET_KEYS else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_audit(session: Session, f: AuditFilter, page: Page) -> Listing[AuditEntry]:
    stmt = select(AuditEntry)
    if f.actor:
        stmt = stmt.where(AuditEntry.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.target:
        stmt = stmt.where(AuditEntry.target == f.target)
    stmt = _time_range(stmt, AuditEntry.created_at, f.since, f.until)
    return paged(session, stmt.order_by(AuditEntry.id.desc()), page)


# --- after the commit --------------------------------------------------------------------------


@dataclass
class Followups:
    """What to do once the transaction committed: payment side effects and disconnects."""

    after: AfterCommit = field(default_factory=AfterCommit)
    disconnects: list[tuple[str, str, str]] = field(default_factory=list)  # user, reason, job id


def run_followups(followups: Followups, notifier: Notifier, query_first_delay: int) -> None:
    dispatch(followups.after, notifier, query_first_delay)
    for username, reason, job_id in followups.disconnects:
        notifier.enqueue(DISCONNECT_JOB, username, reason, job_id=job_id)


# --- pages and input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def parse(cls, limit: str | None, offset: str | None) -> Page:
        return cls(
            limit=_int_text(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
            offset=_int_text(offset, "offset", 0, INT32_MAX, 0),
        )


@dataclass(frozen=True)
class Listing(Generic[T]):
    items: list[T]
    page: Page
    next_offset: int | None


def paged(session: Session, stmt: Select[T], page: Page) -> Listing[T]:
    rows = list(session.scalars(stmt.limit(page.limit + 1).offset(page.offset)))
    more = len(rows) > page.limit
    return Listing(rows[: page.limit], page, page.offset + page.limit if more else None)


def paged_rows(session: Session, stmt: Select[*Ts], page: Page) -> Listing[Any]:
    rows = list(session.execute(stmt.limit(page.limit + 1).offset(page.offset)).all())
    more = len(rows) > page.limit
    return Listing(rows[: page.limit], page, page.offset + page.limit if more else None)


def _int_text(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low} and {high}")
    return value


def parse_time(raw: Any, name: str) -> dt.datetime:
    """ISO 8601; without an offset it is UTC. A '+' turned into a space by a query string is
    put back."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError(f"{name} must be an ISO 8601 time, e.g. 2026-01-31T18:00:00+03:00")
    text = raw.strip()
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{name} {raw!r} is not an ISO 8601 time, e.g. 2026-01-31T18:00:00+03:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def optional_time(raw: str | None, name: str) -> dt.datetime | None:
    return None if raw is None or raw == "" else parse_time(raw, name)


def parse_ip(raw: Any, name: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInputError(f"{name} must be an IP address")
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise InvalidInputError(f"{name} {raw!r} is not an IP address") from None


def parse_hotspot_address(raw: Any, name: str) -> str | None:
    """host or host:port of a router's hotspot pages, as the portal compares it
    (`routers.canonical_address`). None: unset."""
    if raw is None or raw == "":
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return canonical_address(raw)
    except ValueError:
        raise InvalidInputError(
            f"{name} must be host or host:port (an IP address or DNS name, no scheme or path), "
            f"not {raw!r}"
        ) from None


def parse_enum(raw: str | None, cls: type[Any], name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return cls(raw)
    except ValueError:
        known = ", ".join(m.value for m in cls)
        raise InvalidInputError(f"{name} must be one of: {known}") from None


def _required_text(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} is required (a non-empty string)")
    if len(value.strip()) > max_length:
        raise InvalidInputError(f"{name} must be at most {max_length} characters")
    return value.strip()


def _optional_text(value: Any, name: str, max_length: int) -> str | None:
    if value is None or value == "":
        return None
    return _required_text(value, name, max_length)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be true or false")
    return value


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"{name} must be an integer")
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low} and {high}")
    return value


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInputError('price must be a number or a decimal string, e.g. "50"')
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInputError(f"price {value!r} is not a number") from None
    if not price.is_finite():
        raise InvalidInputError(f"price {value!r} is not a number")
    if not Decimal(0) <= price <= MAX_MONEY:  # first: quantize fails on a huge number
        raise InvalidInputError(f"price must be between 0 and {MAX_MONEY}")
    if price != price.quantize(Decimal("0.01")):
        raise InvalidInputError("price has at most two decimals")
    return price.quantize(Decimal("0.01"))


def _data_cap(value: Any) -> int | None:
    return None if value is None else _int(value, "data_cap_bytes", 1, MAX_DATA_CAP)


def _known_fields(body: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"unknown field(s): {', '.join(unknown)} (allowed: {', '.join(allowed)})"
        )


def _time_range(
    stmt: Select[*Ts], column: Any, since: dt.datetime | None, until: dt.datetime | None
) -> Select[*Ts]:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


# --- packages ----------------------------------------------------------------------------------

PACKAGE_FIELDS = ("name", "price", "duration_seconds", "data_cap_bytes", "rate_limit", "devices")


def list_packages(session: Session, active: bool | None, page: Page) -> Listing[Package]:
    stmt = select(Package)
    if active is not None:
        stmt = stmt.where(Package.is_active.is_(active))
    return paged(session, stmt.order_by(Package.price, Package.id), page)


def get_package(session: Session, package_id: int, *, lock: bool = False) -> Package:
    package = session.get(Package, package_id, with_for_update=lock)
    if package is None:
        raise NotFoundError(f"no package {package_id}")
    return package


def admin_create_package(
    session: Session, actor: str, body: Mapping[str, Any], *, currency: str, interim_interval: int
) -> Package:
    _known_fields(body, PACKAGE_FIELDS)
    for required in ("name", "price", "duration_seconds", "rate_limit"):
        if required not in body:
            raise InvalidInputError(f"{required} is required")
    package = create_package(
        session,
        name=_required_text(body["name"], "name", 100),
        price=_price(body["price"]),
        duration_seconds=_int(body["duration_seconds"], "duration_seconds", 1, INT32_MAX),
        rate_limit=_required_text(body["rate_limit"], "rate_limit", 100),
        devices=_int(body.get("devices", 1), "devices", 1, MAX_DEVICES),
        data_cap_bytes=_data_cap(body.get("data_cap_bytes")),
        currency=currency,
        interim_interval=interim_interval,
    )
    audit(session, actor, "package.create", f"package:{package.id}", _package_detail(package))
    return package


def _package_detail(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "group_name": package.group_name,
        "price": str(package.price),
        "duration_seconds": package.duration_seconds,
        "data_cap_bytes": package.data_cap_bytes,
        "rate_limit": package.rate_limit,
        "devices": package.devices,
        "is_active": package.is_active,
    }


@dataclass(frozen=True)
class PackageChange:
    package: Package
    changed: dict[str, dict[str, Any]]
    users_resynced: int  # accounts whose Simultaneous-Use was rewritten


def change_package(
    session: Session,
    actor: str,
    package_id: int,
    body: Mapping[str, Any],
    *,
    interim_interval: int,
    now: dt.datetime,
) -> PackageChange:
    """Changes what the package is; its RADIUS group follows at once (next login of each user).

    The group name stays what it was: it is the RADIUS identity every account's radusergroup
    row points at, so a rename changes only what customers see. A change of `devices` also
    rewrites `Simultaneous-Use` of every account on the package.
    """
    _known_fields(body, (*PACKAGE_FIELDS, "is_active"))
    if not body:
        raise InvalidInputError(f"nothing to change (fields: {', '.join(PACKAGE_FIELDS)})")
    package = get_package(session, package_id, lock=True)
    wanted = _package_changes(body)
    if "name" in wanted:
        clash = session.scalar(
            select(Package.id).where(Package.name == wanted["name"], Package.id != package.id)
        )
        if clash is not None:
            raise ConflictError(f"a package named {wanted['name']!r} already exists")
    merged = {f: wanted.get(f, getattr(package, f)) for f in PACKAGE_FIELDS}
    validate_package(
        merged["price"],
        merged["duration_seconds"],
        merged["rate_limit"],
        merged["devices"],
        merged["data_cap_bytes"],
    )
    changed = {
        name: {"from": getattr(package, name), "to": value}
        for name, value in wanted.items()
        if getattr(package, name) != value
    }
    for name in changed:
        setattr(package, name, wanted[name])
    users = 0
    if changed:
        package.updated_at = now
        session.flush()
        sync_group(session, package, interim_interval)
        if "devices" in changed:
            users = _resync_devices(session, package)
        audit(
            session,
            actor,
            "package.change",
            f"package:{package.id}",
            {"changes": changed, "users_resynced": users},
        )
    return PackageChange(package, changed, users)


def _package_changes(body: Mapping[str, Any]) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    if "name" in body:
        wanted["name"] = _required_text(body["name"], "name", 100)
    if "price" in body:
        wanted["price"] = _price(body["price"])
    if "duration_seconds" in body:
        wanted["duration_seconds"] = _int(
            body["duration_seconds"], "duration_seconds", 1, INT32_MAX
        )
    if "data_cap_bytes" in body:
        wanted["data_cap_bytes"] = _data_cap(body["data_cap_bytes"])
    if "rate_limit" in body:
        wanted["rate_limit"] = _required_text(body["rate_limit"], "rate_limit", 100)
    if "devices" in body:
        wanted["devices"] = _int(body["devices"], "devices", 1, MAX_DEVICES)
    if "is_active" in body:
        wanted["is_active"] = _bool(body["is_active"], "is_active")
    return wanted


def _resync_devices(session: Session, package: Package) -> int:
    result = session.execute(
        update(RadCheck)
        .where(
            RadCheck.attribute == "Simultaneous-Use",
            RadCheck.username.in_(
                select(HotspotUser.username).where(HotspotUser.package_id == package.id)
            ),
        )
        .values(value=str(package.devices))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retire_package(session: Session, actor: str, package_id: int, now: dt.datetime) -> Package:
    """Off sale: no new purchases or vouchers; existing accounts keep working until they expire
    (its RADIUS group stays)."""
    package = get_package(session, package_id, lock=True)
    if not package.is_active:
        raise ConflictError(f"package {package.name!r} is already retired")
    package.is_active = False
    package.updated_at = now
    audit(session, actor, "package.retire", f"package:{package.id}", {"name": package.name})
    return package


# --- NAS ---------------------------------------------------------------------------------------

# A RADIUS secret is all that keeps a captured packet from being brute-forced offline
# (BlastRADIUS advice: at least 16 characters, better 22 random ones).
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 128


def list_nas(session: Session, page: Page) -> Listing[Nas]:
    return paged(session, select(Nas).order_by(Nas.id), page)


def get_nas(session: Session, nas_id: int, *, lock: bool = False) -> Nas:
    nas = session.get(Nas, nas_id, with_for_update=lock)
    if nas is None:
        raise NotFoundError(f"no NAS {nas_id}")
    return nas


def _nas_values(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    _known_fields(body, NAS_FIELDS)
    if creating:
        for required in ("nasname", "shortname", "secret"):
            if required not in body:
                raise InvalidInputError(f"{required} is required")
    values = dict(NAS_DEFAULTS) if creating else {}
    values.update((name, _NAS_PARSERS[name](value)) for name, value in body.items())
    return values


def _nas_secret(value: Any) -> str:
    """Never echoed: the reasons name only its length."""
    secret = _required_text(value, "secret", SECRET_MAX_LENGTH)
    if secret != value:
        raise InvalidInputError("secret must not start or end with spaces")
    if len(secret) < SECRET_MIN_LENGTH:
        raise InvalidInputError(
            f"secret must be at least {SECRET_MIN_LENGTH} characters, not {len(secret)} "
            "(a short RADIUS secret can be guessed offline from one captured packet)"
        )
    return secret


_NAS_PARSERS: dict[str, Callable[[Any], Any]] = {
    "nasname": lambda v: parse_ip(v, "nasname"),
    "shortname": lambda v: _required_text(v, "shortname", 64),
    "secret": _nas_secret,
    "type": lambda v: _required_text(v, "type", 32),
    "coa_port": lambda v: _int(v, "coa_port", 1, 65535),
    "description": lambda v: _optional_text(v, "description", 200),
    "require_message_authenticator": lambda v: _bool(v, "require_message_authenticator"),
    "hotspot_address": lambda v: parse_hotspot_address(v, "hotspot_address"),
}
NAS_FIELDS = tuple(_NAS_PARSERS)
NAS_DEFAULTS = {"type": "other", "coa_port": 3799, "require_message_authenticator": True}


def _nas_clash(session: Session, nasname: str, other_than: int | None) -> None:
    stmt = select(Nas.id).where(Nas.nasname == nasname)
    if other_than is not None:
        stmt = stmt.where(Nas.id != other_than)
    clash = session.scalar(stmt)
    if clash is not None:
        raise ConflictError(f"NAS {clash} already has the address {nasname}")


def _nas_detail(nas: Nas) -> dict[str, Any]:
    return {
        "nasname": nas.nasname,
        "shortname": nas.shortname,
        "type": nas.type,
        "coa_port": nas.coa_port,
        "description": nas.description,
        "require_message_authenticator": nas.require_message_authenticator,
        "hotspot_address": nas.hotspot_address,
    }


def create_nas(session: Session, actor: str, body: Mapping[str, Any]) -> Nas:
    values = _nas_values(body, creating=True)
    _nas_clash(session, values["nasname"], None)
    nas = Nas(**values)
    session.add(nas)
    session.flush()
    audit(session, actor, "nas.create", f"nas:{nas.id}", _nas_detail(nas))
    return nas


def change_nas(session: Session, actor: str, nas_id: int, body: Mapping[str, Any]) -> Nas:
    if not body:
        raise InvalidInputError(f"nothing to change (fields: {', '.join(NAS_FIELDS)})")
    values = _nas_values(body, creating=False)
    nas = get_nas(session, nas_id, lock=True)
    if "nasname" in values:
        _nas_clash(session, values["nasname"], nas.id)
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if getattr(nas, name) == value:
            continue
        if name == "secret":
            changed["secret_changed"] = True  # never the secret itself
        else:
            changed[name] = {"from": getattr(nas, name), "to": value}
        setattr(nas, name, value)
    if changed:
        audit(session, actor, "nas.change", f"nas:{nas.id}", {"changes": changed})
    return nas


def delete_nas(session: Session, actor: str, nas_id: int) -> Nas:
    nas = get_nas(session, nas_id, lock=True)
    detail = _nas_detail(nas)
    session.delete(nas)
    audit(session, actor, "nas.delete", f"nas:{nas_id}", detail)
    return nas


# --- hotspot users -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None  # a phone in any usual form, or the start of a username
    phone: str | None = None
    username: str | None = None  # prefix
    status: UserStatus | None = None
    package_id: int | None = None


def search_users(session: Session, f: UserFilter, page: Page, region: str) -> Listing[HotspotUser]:
    stmt = select(HotspotUser)
    if f.q:
        text = f.q.strip()
        prefix = HotspotUser.username.startswith(text.lower(), autoescape=True)
        try:
            stmt = stmt.where(or_(HotspotUser.phone == normalize_phone(text, region), prefix))
        except InvalidInputError:
            stmt = stmt.where(prefix)
    if f.phone:
        stmt = stmt.where(HotspotUser.phone == normalize_phone(f.phone, region))
    if f.username:
        stmt = stmt.where(
            HotspotUser.username.startswith(f.username.strip().lower(), autoescape=True)
        )
    if f.status is not None:
        stmt = stmt.where(HotspotUser.status == f.status)
    if f.package_id is not None:
        stmt = stmt.where(HotspotUser.package_id == f.package_id)
    return paged(session, stmt.order_by(HotspotUser.id.desc()), page)


def get_user(session: Session, username: str, *, lock: bool = False) -> HotspotUser:
    stmt = select(HotspotUser).where(HotspotUser.username == username.strip().lower())
    user = session.scalar(stmt.with_for_update() if lock else stmt)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def open_radacct(session: Session, username: str) -> list[RadAcct]:
    """The user's open sessions as FreeRADIUS sees them (radacct_active_user_idx)."""
    return list(
        session.scalars(
            select(RadAcct)
            .where(RadAcct.username == username, RadAcct.acctstoptime.is_(None))
            .order_by(RadAcct.acctstarttime.desc())
        )
    )


def recent_payments(session: Session, user_id: int, limit: int = 10) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.user_id == user_id)
            .order_by(Payment.id.desc())
            .limit(limit)
        )
    )


def extend(
    session: Session,
    actor: str,
    username: str,
    body: Mapping[str, Any],
    *,
    now: dt.datetime,
    followups: Followups,
) -> HotspotUser:
    """`{"days": n}` adds n days to the expiry (to now, for a lapsed account); `{"until": t}`
    sets it. radcheck's Expiration is rewritten and an expiry job scheduled at the new time.

    An expired account becomes active again; a disabled or capped one keeps its status and stays
    blocked (extending time gives back neither a disabled account nor data).
    """
    _known_fields(body, ("days", "until"))
    if ("days" in body) == ("until" in body):
        raise InvalidInputError('give either {"days": n} or {"until": "<ISO 8601 time>"}')
    user = get_user(session, username, lock=True)
    old = user.expires_at
    if "days" in body:
        days = _int(body["days"], "days", 1, MAX_EXTEND_DAYS)
        new = max(old, now) + dt.timedelta(days=days)
    else:
        new = parse_time(body["until"], "until")
        if new <= now:
            raise InvalidInputError("until must be in the future")
        if new > now + dt.timedelta(days=MAX_EXTEND_DAYS):
            raise InvalidInputError(f"until must be within {MAX_EXTEND_DAYS} days")
    user.expires_at = new.replace(microsecond=0)
    if user.status is UserStatus.EXPIRED:
        user.status = UserStatus.ACTIVE
    user.updated_at = now
    password = current_password(session, user.username)
    write_radius_rows(session, user, user.package, password)  # replaces radcheck: no block left
    if user.status in (UserStatus.DISABLED, UserStatus.CAPPED):
        block_user(session, user, user.status)
    followups.after.expiries.append(Credentials(user.username, password, user.expires_at, user.id))
    audit(
        session,
        actor,
        "user.extend",
        f"user:{user.username}",
        {
            "from": old.isoformat(),
            "to": user.expires_at.isoformat(),
            **({"days": body["days"]} if "days" in body else {"until": body["until"]}),
            "status": user.status.value,
        },
    )
    return user


def disable_user(
    session: Session, actor: str, username: str, followups: Followups
) -> tuple[HotspotUser, int]:
    """FreeRADIUS rejects the account from now and its sessions are disconnected after the
    commit; returns the user and how many sessions were open."""
    user = get_user(session, username, lock=True)
    if user.status is UserStatus.DISABLED:
        raise ConflictError(f"user {user.username} is already disabled")
    previous = user.status
    block_user(session, user, UserStatus.DISABLED)
    sessions = len(open_radacct(session, user.username))
    entry = audit(
        session,
        actor,
        "user.disable",
        f"user:{user.username}",
        {"previous_status": previous.value, "open_sessions": sessions},
    )
    followups.disconnects.append((user.username, "admin-disabled", f"admin-disconnect-{entry.id}"))
    return user, sessions


def enable_user(session: Session, actor: str, username: str, now: dt.datetime) -> HotspotUser:
    """Undoes a disable. An account whose time ran out meanwhile comes back as expired, one over
    its data cap as capped; both stay blocked until bought again (or extended, if expired)."""
    user = get_user(session, username, lock=True)
    if user.status is not UserStatus.DISABLED:
        raise ConflictError(f"user {user.username} is not disabled (it is {user.status.value})")
    cap = user.package.data_cap_bytes
    if user.expires_at <= now:
        user.status = UserStatus.EXPIRED
    elif cap is not None and user.data_used_bytes >= cap:
        user.status = UserStatus.CAPPED
    else:
        user.status = UserStatus.ACTIVE
        session.execute(
            delete(RadCheck).where(
                RadCheck.username == user.username, RadCheck.attribute == "Auth-Type"
            )
        )
    user.updated_at = now
    audit(session, actor, "user.enable", f"user:{user.username}", {"status": user.status.value})
    return user


def disconnect(
    session: Session, actor: str, username: str, followups: Followups
) -> tuple[HotspotUser, int]:
    """Disconnect-Requests for every open session, by the worker after the commit. The account
    is not blocked: the customer may log in again."""
    user = get_user(session, username)
    sessions = len(open_radacct(session, user.username))
    entry = audit(
        session, actor, "user.disconnect", f"user:{user.username}", {"open_sessions": sessions}
    )
    followups.disconnects.append((user.username, "admin", f"admin-disconnect-{entry.id}"))
    return user, sessions


# --- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFilter:
    username: str | None = None
    nas: str | None = None  # NAS IP
    status: SessionStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def active_sessions(session: Session, f: SessionFilter, page: Page) -> Listing[Any]:
    """Open radacct rows with their account: (RadAcct, HotspotUser | None).

    Only open rows are read, through radacct's partial indexes on them (`acctstoptime IS NULL`):
    by user radacct_active_user_idx, by NAS radacct_bulk_close; unfiltered, a scan of one of them.
    Closed rows, however many, are never touched.
    """
    stmt = (
        select(RadAcct, HotspotUser)
        .outerjoin(HotspotUser, HotspotUser.username == RadAcct.username)
        .where(RadAcct.acctstoptime.is_(None))
    )
    if f.username:
        stmt = stmt.where(RadAcct.username == f.username.strip().lower())
    if f.nas:
        stmt = stmt.where(RadAcct.nasipaddress == f.nas)
    stmt = _time_range(stmt, RadAcct.acctstarttime, f.since, f.until)
    return paged_rows(
        session, stmt.order_by(RadAcct.acctstarttime.desc(), RadAcct.radacctid.desc()), page
    )


def session_history(session: Session, f: SessionFilter, page: Page) -> Listing[Any]:
    """Our sessions (radius_sessions) with their account: (RadiusSession, HotspotUser).

    Without a status filter, the pending placeholders made at each purchase are left out."""
    stmt = select(RadiusSession, HotspotUser).join(
        HotspotUser, HotspotUser.id == RadiusSession.user_id
    )
    if f.username:
        stmt = stmt.where(HotspotUser.username == f.username.strip().lower())
    if f.nas:
        stmt = stmt.where(RadiusSession.nas_ip == f.nas)
    if f.status is not None:
        stmt = stmt.where(RadiusSession.status == f.status)
    else:
        stmt = stmt.where(RadiusSession.status != SessionStatus.PENDING)
    stmt = _time_range(stmt, RadiusSession.started_at, f.since, f.until)
    return paged_rows(session, stmt.order_by(RadiusSession.id.desc()), page)


# --- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilter:
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    phone: str | None = None
    receipt: str | None = None
    username: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_payments(session: Session, f: PaymentFilter, page: Page, region: str) -> Listing[Payment]:
    stmt = select(Payment)
    if f.status is not None:
        stmt = stmt.where(Payment.status == f.status)
    if f.method is not None:
        stmt = stmt.where(Payment.method == f.method)
    if f.phone:
        stmt = stmt.where(Payment.phone == normalize_phone(f.phone, region))
    if f.receipt:
        stmt = stmt.where(Payment.mpesa_receipt == f.receipt.strip().upper())
    if f.username:
        stmt = stmt.where(
            Payment.user_id.in_(
                select(HotspotUser.id).where(HotspotUser.username == f.username.strip().lower())
            )
        )
    stmt = _time_range(stmt, Payment.created_at, f.since, f.until)
    return paged(session, stmt.order_by(Payment.id.desc()), page)


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFoundError(f"no payment {payment_id}")
    return payment


def resolve_payment(
    session: Session,
    actor: str,
    payment_id: int,
    body: Mapping[str, Any],
    *,
    region: str,
    now: dt.datetime,
    followups: Followups,
) -> tuple[Payment, HotspotUser, Credentials | None]:
    """Puts an unmatched C2B payment on an account, exactly as if its BillRefNumber had named it:
    the account's package is renewed (or the money kept as credit). Only once: the payment row is
    locked and must still be unmatched."""
    _known_fields(body, ("account",))
    account = _required_text(body.get("account"), "account", 100)
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        raise NotFoundError(f"no payment {payment_id}")
    if payment.status is not PaymentStatus.UNMATCHED:
        raise ConflictError(
            f"payment {payment_id} is {payment.status.value}: only unmatched payments are resolved"
        )
    user = find_account(session, account, region)
    if user is None:
        raise InvalidInputError(f"no account {account!r} (give a username or a phone number)")
    package = user.package
    payment.user_id = user.id
    payment.phone = user.phone
    payment.package_id = package.id
    payment.status = PaymentStatus.PAID
    payment.updated_at = now
    record(session, payment.id, "resolved", actor=actor, account=user.username)
    credentials = provision_purchase(session, payment, package, now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        source="operator",
        username=user.username,
        credit=user.credit,
        expires_at=credentials.expires_at if credentials else None,
    )
    followups.after.status_changes.append((payment.id, payment.status))
    if credentials is not None:
        followups.after.add_provisioned(payment.id, credentials)
    audit(
        session,
        actor,
        "payment.resolve",
        f"payment:{payment.id}",
        {
            "account": user.username,
            "reference": payment.bill_ref_number,
            "amount": str(payment.amount),
            "outcome": "provisioned" if credentials else "credited",
            "expires_at": credentials.expires_at.isoformat() if credentials else None,
        },
    )
    return payment, user, credentials


def payment_events(session: Session, payment_id: int) -> list[PaymentEvent]:
    return timeline(session, payment_id)


# --- vouchers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherBatch:
    batch: str | None
    package_id: int
    package_name: str
    created_at: dt.datetime
    counts: dict[str, int]


def create_voucher_batch(
    session: Session, actor: str, body: Mapping[str, Any], now: dt.datetime
) -> tuple[str, Package, list[str]]:
    """New codes for an active package; returned once (the audit log has only the count)."""
    _known_fields(body, ("package_id", "count", "batch"))
    package = get_package(
        session, _int(body.get("package_id"), "package_id", 1, INT32_MAX), lock=False
    )
    if not package.is_active:
        raise InvalidInputError(f"package {package.name!r} is retired")
    count = _int(body.get("count"), "count", 1, MAX_VOUCHERS_PER_BATCH)
    if body.get("batch") is not None:
        label = _required_text(body["batch"], "batch", 64)
        if not BATCH_LABEL.match(label):
            raise InvalidInputError("batch may contain only letters, digits and . _ : -")
    else:
        label = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    if session.scalar(select(Voucher.id).where(Voucher.batch == label).limit(1)) is not None:
        raise ConflictError(f"batch {label!r} already exists")
    codes = list(vouchers.generate(session, package, count, label))
    audit(
        session,
        actor,
        "vouchers.create",
        f"voucher-batch:{label}",
        {"package_id": package.id, "package": package.name, "count": len(codes)},
    )
    return label, package, codes


def list_voucher_batches(
    session: Session, package_id: int | None, page: Page
) -> Listing[VoucherBatch]:
    counts = {
        status: func.count().filter(Voucher.status == status).label(status.value)
        for status in VoucherStatus
    }
    stmt = (
        select(
            Voucher.batch,
            Voucher.package_id,
            Package.name,
            func.min(Voucher.created_at).label("created_at"),
            *counts.values(),
        )
        .join(Package, Package.id == Voucher.package_id)
        .group_by(Voucher.batch, Voucher.package_id, Package.name)
        .order_by(func.min(Voucher.created_at).desc(), Voucher.batch)
    )
    if package_id is not None:
        stmt = stmt.where(Voucher.package_id == package_id)
    rows = paged_rows(session, stmt, page)
    batches = [
        VoucherBatch(
            batch=row.batch,
            package_id=row.package_id,
            package_name=row.name,
            created_at=row.created_at,
            counts={s.value: int(getattr(row, s.value)) for s in VoucherStatus},
        )
        for row in rows.items
    ]
    return Listing(batches, rows.page, rows.next_offset)


def revoke_voucher_batch(session: Session, actor: str, batch: str) -> int:
    """Revokes the batch's unused codes (redeemed ones stay redeemed); returns how many."""
    if session.scalar(select(Voucher.id).where(Voucher.batch == batch).limit(1)) is None:
        raise NotFoundError(f"no voucher batch {batch!r}")
    revoked = session.scalars(
        update(Voucher)
        .where(Voucher.batch == batch, Voucher.status == VoucherStatus.UNUSED)
        .values(status=VoucherStatus.REVOKED)
        .returning(Voucher.id)
    ).all()
    audit(session, actor, "vouchers.revoke", f"voucher-batch:{batch}", {"revoked": len(revoked)})
    return len(revoked)


# --- SMS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsFilter:
    status: SmsStatus | None = None
    phone: str | None = None
    purpose: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_sms(session: Session, f: SmsFilter, page: Page, region: str) -> Listing[SmsMessage]:
    stmt = select(SmsMessage)
    if f.status is not None:
        stmt = stmt.where(SmsMessage.status == f.status)
    if f.phone:
        stmt = stmt.where(SmsMessage.phone == normalize_phone(f.phone, region))
    if f.purpose:
        stmt = stmt.where(SmsMessage.purpose == f.purpose)
    stmt = _time_range(stmt, SmsMessage.created_at, f.since, f.until)
    return paged(session, stmt.order_by(SmsMessage.id.desc()), page)
