"""Payments: a collection asked for, from the portal's request to the gateway's prompt on the
phone (M-Pesa's STK push, ioTec's or CamPay's collect: `billing.gateways`).

Money taken must become access exactly once. Every step is a `payment_events` row; a payment row
is locked while it is settled; uniqueness of the gateway's reference, the M-Pesa receipt and the
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

from hotspot.adapters.collections import CollectionRequest, GatewayError
from hotspot.adapters.db import transaction
from hotspot.billing.callbacks import apply_callback, orphan_callbacks
from hotspot.billing.gateways import (
    CollectionGateway,
    GatewayFor,
    chosen,
    label,
    needs_number_of,
    offered,
)
from hotspot.billing.payment_state import AfterCommit, fail, lock, lock_checkout, record
from hotspot.billing.settlement import external_id
from hotspot.core.errors import InvalidInputError, NotFoundError
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    INT32_MAX,
    HotspotUser,
    Operator,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
)


@dataclass(frozen=True)
class Initiated:
    payment: Payment
    package: Package
    portal_token: str
    gateway: CollectionGateway


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(payment: Payment, token: str | None) -> bool:
    if not token or payment.portal_token_hash is None:
        return False
    return hmac.compare_digest(payment.portal_token_hash, hash_token(token))


def amount_due(session: Session, package: Package, phone: str) -> Decimal:
    """The price less the phone account's credit, in whole units (no gateway here takes cents of
    KES, UGX or XAF), at least 1."""
    credit = session.scalar(
        select(HotspotUser.credit).where(
            HotspotUser.operator_id == package.operator_id, HotspotUser.phone == phone
        )
    )
    due = package.price - (credit or Decimal(0))
    return max(due.to_integral_value(rounding="ROUND_CEILING"), Decimal(1))


@dataclass(frozen=True)
class PaymentRequest:
    """A customer's request, as the portal sent it (checked here, not there)."""

    package_id: Any
    phone: Any
    mac: Any = None
    ip: Any = None
    gateway: Any = None  # a gateway's name; the operator's first when None


def create_payment(
    session: Session,
    asked: PaymentRequest,
    *,
    gateway_for: GatewayFor,
    installation_gateways: tuple[str, ...],
) -> Initiated:
    """Checks the request and stores the payment as pending, before the gateway is asked."""
    if not isinstance(asked.package_id, int) or isinstance(asked.package_id, bool):
        raise InvalidInputError("package_id must be an integer")
    if not isinstance(asked.phone, str):
        raise InvalidInputError("phone is required")
    package_id = asked.package_id
    package = session.get(Package, package_id) if 0 < package_id <= INT32_MAX else None
    if package is None or not package.is_active:
        raise NotFoundError(f"no package with id {package_id}")
    offers = offered(session.get(Operator, package.operator_id), installation_gateways)
    gateway = gateway_for(package.operator_id, chosen(asked.gateway, offers))
    if package.currency != gateway.currency:
        raise InvalidInputError(
            f"{package.name} is priced in {package.currency}; {label(gateway.name)} collects "
            f"{gateway.currency}"
        )
    normalized = normalize_phone(asked.phone, gateway.region)
    if not normalized.startswith("+" + gateway.country_code):
        raise InvalidInputError(needs_number_of(gateway))
    amount = amount_due(session, package, normalized)
    if amount > gateway.max_amount:
        raise InvalidInputError(
            f"{label(gateway.name)} takes at most {gateway.max_amount:,} in one payment"
        )
    if amount < gateway.min_amount:
        raise InvalidInputError(
            f"{label(gateway.name)} takes at least {gateway.min_amount:,} {gateway.currency} "
            "in one payment"
        )
    token = secrets.token_urlsafe(24)
    payment = Payment(
        operator_id=package.operator_id,
        method=PaymentMethod.STK,
        gateway=gateway.name,
        currency=package.currency,
        package_id=package.id,
        phone=normalized,
        amount=amount,
        package_price=package.price,
        package_duration_seconds=package.duration_seconds,
        status=PaymentStatus.PENDING,
        portal_token_hash=hash_token(token),
        mac=_optional_text(asked.mac, "mac"),
        ip=_optional_ip(asked.ip),
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "initiated", package=package.name, amount=payment.amount)
    return Initiated(payment, package, token, gateway)


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


def start_collection(
    sessions: sessionmaker[Session],
    initiated: Initiated,
    callback_url: str,
    after: AfterCommit,
) -> Payment:
    """Asks the gateway to prompt the phone; a gateway failure fails the payment with the reason.
    The trail's kinds keep M-Pesa's names (`stk_push`, `stk_push_failed`) for every gateway."""
    payment, gateway = initiated.payment, initiated.gateway
    try:
        started = gateway.collect(
            CollectionRequest(
                phone=payment.phone or "",
                amount=int(payment.amount),
                external_id=external_id(payment),
                description=initiated.package.name[:13],
                callback_url=callback_url,
            )
        )
    except GatewayError as exc:
        with transaction(sessions) as session:
            locked = lock(session, payment.id)
            after.notices.append(("gateway_error", payment.id))
            if exc.outcome_unknown:
                # It may be on the payer's phone: never asked twice, only asked about.
                record(session, payment.id, "stk_push_unknown", reason=str(exc), raw=exc.raw)
                after.to_query.append((payment.id, gateway.first_query_delay))
                return locked
            record(session, payment.id, "stk_push_failed", reason=str(exc), raw=exc.raw)
            if locked.status is PaymentStatus.PENDING:
                fail(locked, reason=str(exc), now=dt.datetime.now(dt.UTC), after=after)
            return locked
    with transaction(sessions) as session:
        lock_checkout(session, started.reference)
        locked = lock(session, payment.id)
        locked.checkout_request_id = started.reference
        locked.merchant_request_id = started.secondary_reference
        record(session, payment.id, "stk_push", request=started.request, response=started.raw)
        session.flush()
        after.to_query.append((payment.id, gateway.first_query_delay))
        for orphan in orphan_callbacks(session, started.reference):
            # The callback outran our own bookkeeping of the push: settle with it now.
            try:
                with session.begin_nested():
                    apply_callback(session, locked, orphan, after)
            except IntegrityError:
                after.clear()
                after.to_query.append((payment.id, gateway.first_query_delay))
                record(session, payment.id, "callback_rejected", reason="receipt already used")
        return locked
