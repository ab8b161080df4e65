"""Payments: an STK push asked for, from the portal's request to M-Pesa's prompt on the phone.

Money taken must become access exactly once. Every step is a `payment_events` row; a payment row
is locked while it is settled; uniqueness of the CheckoutRequestID, the M-Pesa receipt and the
credentials-per-payment row makes a second provisioning fail at commit whatever raced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.daraja import (
    MAX_AMOUNT,
    GatewayError,
)
from hotspot.adapters.db import transaction
from hotspot.billing.callbacks import apply_callback, orphan_callbacks
from hotspot.billing.mpesa import Gateway
from hotspot.billing.payment_state import AfterCommit, fail, lock, lock_checkout, record
from hotspot.core.errors import InvalidInputError, NotFoundError
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    INT32_MAX,
    HotspotUser,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
)

ACCOUNT_REFERENCE = "HOTSPOT"


@dataclass(frozen=True)
class Initiated:
    payment: Payment
    package: Package
    portal_token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(payment: Payment, token: str | None) -> bool:
    if not token or payment.portal_token_hash is None:
        return False
    return hmac.compare_digest(payment.portal_token_hash, hash_token(token))


def amount_due(session: Session, package: Package, phone: str) -> Decimal:
    """The price less the phone account's credit, in whole shillings (M-Pesa's unit), at least 1."""
    credit = session.scalar(
        select(HotspotUser.credit).where(
            HotspotUser.operator_id == package.operator_id, HotspotUser.phone == phone
        )
    )
    due = package.price - (credit or Decimal(0))
    return max(due.to_integral_value(rounding="ROUND_CEILING"), Decimal(1))


def create_payment(
    session: Session,
    *,
    package_id: Any,
    phone: Any,
    mac: Any = None,
    ip: Any = None,
    region: str,
) -> Initiated:
    """Checks the request and stores the payment as pending, before M-Pesa is asked anything."""
    if not isinstance(package_id, int) or isinstance(package_id, bool):
        raise InvalidInputError("package_id must be an integer")
    if not isinstance(phone, str):
        raise InvalidInputError("phone is required")
    package = session.get(Package, package_id) if 0 < package_id <= INT32_MAX else None
    if package is None or not package.is_active:
        raise NotFoundError(f"no package with id {package_id}")
    normalized = normalize_phone(phone, region)
    if not normalized.startswith("+254"):
        raise InvalidInputError("M-Pesa needs a Kenyan number (+254…)")
    amount = amount_due(session, package, normalized)
    if amount > MAX_AMOUNT:
        raise InvalidInputError(f"M-Pesa takes at most {MAX_AMOUNT:,} in one payment")
    token = secrets.token_urlsafe(24)
    payment = Payment(
        operator_id=package.operator_id,
        method=PaymentMethod.STK,
        package_id=package.id,
        phone=normalized,
        amount=amount,
        package_price=package.price,
        package_duration_seconds=package.duration_seconds,
        status=PaymentStatus.PENDING,
        portal_token_hash=hash_token(token),
        mac=_optional_text(mac, "mac"),
        ip=_optional_ip(ip),
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "initiated", package=package.name, amount=payment.amount)
    return Initiated(payment, package, token)


def _optional_text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInputError(f"{name} must be a short string")
    return value


def _optional_ip(value: Any) -> str | None:
    text = _optional_text(value, "ip")
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidInputError(f"ip {text!r} is not an IP address") from None


def start_stk_push(
    sessions: sessionmaker[Session],
    gateway: Gateway,
    initiated: Initiated,
    callback_url: str,
    after: AfterCommit,
) -> Payment:
    """Asks M-Pesa to prompt the phone; a gateway failure fails the payment with the reason."""
    payment = initiated.payment
    try:
        accepted = gateway.stk_push(
            phone=(payment.phone or "").lstrip("+"),
            amount=int(payment.amount),
            account_reference=ACCOUNT_REFERENCE,
            description=initiated.package.name[:13],
            callback_url=callback_url,
        )
    except GatewayError as exc:
        with transaction(sessions) as session:
            locked = lock(session, payment.id)
            record(session, payment.id, "stk_push_failed", reason=str(exc), raw=exc.raw)
            after.notices.append(("gateway_error", payment.id))
            if locked.status is PaymentStatus.PENDING:
                fail(locked, reason=str(exc), now=dt.datetime.now(dt.UTC), after=after)
            return locked
    with transaction(sessions) as session:
        lock_checkout(session, accepted.checkout_request_id)
        locked = lock(session, payment.id)
        locked.checkout_request_id = accepted.checkout_request_id
        locked.merchant_request_id = accepted.merchant_request_id
        record(session, payment.id, "stk_push", request=accepted.request, response=accepted.raw)
        session.flush()
        after.to_query.append(payment.id)
        for orphan in orphan_callbacks(session, accepted.checkout_request_id):
            # The callback outran our own bookkeeping of the push: settle with it now.
            try:
                with session.begin_nested():
                    apply_callback(session, locked, orphan, after)
            except IntegrityError:
                after.clear()
                after.to_query.append(payment.id)
                record(session, payment.id, "callback_rejected", reason="receipt already used")
        return locked
