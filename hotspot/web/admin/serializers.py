"""What the admin API shows of each resource: one serializer per resource, used by every answer
that shows it. Nothing here carries a password, a NAS secret or a token."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from hotspot.adapters.job_queues import QueueCounts
from hotspot.billing.wallets import Wallet
from hotspot.core.money import amount_text
from hotspot.models import (
    AuditEntry,
    HotspotUser,
    LedgerPosting,
    Nas,
    Operator,
    Package,
    Payment,
    PaymentEvent,
    Plan,
    RadAcct,
    RadiusSession,
    SmsMessage,
    Subscriber,
)
from hotspot.operators.job_admin import JobView
from hotspot.operators.listing import Listing
from hotspot.web.serializers import iso
from hotspot.web.serializers import package_json as public_package_json
from hotspot.web.serializers import payment_json as public_payment_json


def listing(key: str, found: Listing[Any], items: list[dict[str, Any]], **more: Any) -> Response:
    return jsonify(
        {
            **more,
            key: items,
            "limit": found.page.limit,
            "offset": found.page.offset,
            "next_offset": found.next_offset,
        }
    )


def package_json(package: Package) -> dict[str, Any]:
    return {
        **public_package_json(package),
        "operator_id": package.operator_id,
        "group_name": package.group_name,
        "is_active": package.is_active,
        "created_at": iso(package.created_at),
        "updated_at": iso(package.updated_at),
    }


def nas_json(nas: Nas) -> dict[str, Any]:
    return {
        "id": nas.id,
        "operator_id": nas.operator_id,
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
        "operator_id": user.operator_id,
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
        **public_payment_json(payment),
        "amount_paid": (
            amount_text(payment.amount_paid, payment.currency)
            if payment.amount_paid is not None
            else None
        ),
        "operator_id": payment.operator_id,
        "package_id": payment.package_id,
        "user_id": payment.user_id,
        "phone": payment.phone,
        "bill_ref_number": payment.bill_ref_number,
        "checkout_request_id": payment.checkout_request_id,
        "result_code": payment.result_code,
        "updated_at": iso(payment.updated_at),
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


def operator_json(operator: Operator) -> dict[str, Any]:
    return {
        "id": operator.id,
        "code": operator.code,
        "name": operator.name,
        "currency": operator.currency,
        "phone_region": operator.phone_region,
        "sms_sender_id": operator.sms_sender_id,
        "contact_phone": operator.contact_phone,
        "sms_credits": operator.sms_credits,
        "portal_name": operator.portal_name,
        "portal_colors": operator.portal_colors,
        "mpesa_shortcode": operator.mpesa_shortcode,
        "mpesa_credentials_set": operator.mpesa_secrets is not None,  # never the values
        "gateways": operator.gateways,
        "gateway_credentials_set": operator.gateway_secrets is not None,
        "commission_rate": str(operator.commission_rate),
        "is_active": operator.is_active,
        "created_at": iso(operator.created_at),
        "updated_at": iso(operator.updated_at),
    }


def wallet_json(wallet: Wallet) -> dict[str, Any]:
    return {
        "operator": wallet.operator.code,
        "balance": str(wallet.balance),
        "received": str(wallet.received),
        "commission": str(wallet.commission),
        "paid_out": str(wallet.paid_out),
    }


def posting_json(posting: LedgerPosting) -> dict[str, Any]:
    """A posting as the wallet saw it: `amount` is what it did to the balance."""
    return {
        "id": posting.id,
        "kind": posting.kind,
        "amount": str(posting.wallet),
        "payment_id": posting.payment_id,
        "reference": posting.reference,
        "actor": posting.actor,
        "created_at": iso(posting.created_at),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "operator_id": plan.operator_id,
        "name": plan.name,
        "group_name": plan.group_name,
        "price": str(plan.price),
        "rate_limit": plan.rate_limit,
        "pool": plan.pool,
        "grace_days": plan.grace_days,
        "is_active": plan.is_active,
    }


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "operator_id": subscriber.operator_id,
        "plan_id": subscriber.plan_id,
        "account_number": subscriber.account_number,
        "username": subscriber.username,
        "phone": subscriber.phone,
        "static_ip": str(subscriber.static_ip) if subscriber.static_ip else None,
        "due_date": subscriber.due_date.isoformat(),
        "billing_day": subscriber.billing_day,
        "credit": str(subscriber.credit),
        "status": subscriber.status.value,
    }


def queue_json(counts: QueueCounts) -> dict[str, Any]:
    return {
        "name": counts.name,
        "queued": counts.queued,
        "scheduled": counts.scheduled,
        "started": counts.started,
        "failed": counts.failed,
        "oldest_queued_seconds": round(counts.oldest_queued_seconds, 3),
    }


def job_json(job: JobView) -> dict[str, Any]:
    return {
        "id": job.id,
        "queue": job.queue,
        "state": job.state,
        "function": job.function,
        "args": job.args,
        "enqueued_at": iso(job.enqueued_at),
        "due_at": iso(job.due_at),
        "started_at": iso(job.started_at),
        "ended_at": iso(job.ended_at),
        "retries_left": job.retries_left,
        "error": job.error,
    }
