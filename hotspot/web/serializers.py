"""The one serializer of each resource more than one part of the API shows: what everyone may see
of it, and what an operator sees besides (`hotspot.web.admin.serializers` adds those fields to
these, never builds the resource again)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotspot.billing.payment_state import failure_kind
from hotspot.core.money import amount_text
from hotspot.models import Package, Payment


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def package_json(package: Package) -> dict[str, Any]:
    """A package as the portal offers it."""
    return {
        "id": package.id,
        "name": package.name,
        "price": amount_text(package.price, package.currency),
        "currency": package.currency,
        "duration_seconds": package.duration_seconds,
        "data_cap_bytes": package.data_cap_bytes,
        "time_quota_seconds": package.time_quota_seconds,
        "daily_data_bytes": package.daily_data_bytes,
        "rate_limit": package.rate_limit,
        "devices": package.devices,
    }


def payment_json(payment: Payment) -> dict[str, Any]:
    """A payment as the browser that started it may see it: nothing that identifies the payer
    (phone, CheckoutRequestID) beyond what that browser already knows. `failure_kind` is what a
    program branches on; `failure_reason` says it in words."""
    return {
        "id": payment.id,
        "status": payment.status.value,
        "method": payment.method.value,
        "gateway": payment.gateway,
        "amount": amount_text(payment.amount, payment.currency),
        "mpesa_receipt": payment.mpesa_receipt,
        "failure_kind": failure_kind(payment),
        "failure_reason": payment.failure_reason,
        "created_at": iso(payment.created_at),
        "paid_at": iso(payment.paid_at),
    }
