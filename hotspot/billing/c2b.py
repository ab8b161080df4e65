"""C2B paybill money: validated, confirmed, and turned into a renewal, credit or an unmatched
payment for an operator, never lost."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import (
    constraint_of,
    provision_purchase,
)
from hotspot.access.subscribers import apply_payment
from hotspot.adapters.db import transaction
from hotspot.billing.mpesa import parse_amount, raw_text
from hotspot.billing.paybill import Route, route
from hotspot.billing.payment_state import AfterCommit, pay, record
from hotspot.billing.sms_credits import add_sms_credits
from hotspot.core import storable
from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import Settings, check_paybill_rules
from hotspot.models import (
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)


@dataclass(frozen=True)
class Paybill:
    """What reading paybill money needs from the settings."""

    region: str
    zone: zoneinfo.ZoneInfo
    rules: tuple[str, ...]
    sms_credit_price: Decimal

    @classmethod
    def of(cls, settings: Settings) -> Paybill:
        return cls(
            settings.default_region,
            zoneinfo.ZoneInfo(settings.timezone),
            check_paybill_rules(settings.paybill_rules),
            settings.sms_credit_price,
        )


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    amount: Decimal
    bill_ref: str
    raw: dict[str, Any]
    shortcode: str | None = None  # BusinessShortCode: whose paybill took it


def parse_c2b(body: bytes) -> C2BPayment:
    try:
        data = storable.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInputError("body is not a JSON object")
    for name in ("TransID", "TransAmount", "BillRefNumber"):
        if data.get(name) in (None, ""):
            raise InvalidInputError(f"missing {name}")
    amount = parse_amount(data["TransAmount"])
    if amount <= 0:
        raise InvalidInputError("TransAmount must be positive")
    shortcode = str(data.get("BusinessShortCode") or "").strip() or None
    return C2BPayment(
        str(data["TransID"]), amount, str(data["BillRefNumber"]).strip(), data, shortcode
    )


def validate_c2b(sessions: sessionmaker[Session], body: bytes, paybill: Paybill) -> tuple[str, str]:
    """Daraja's validation call: (ResultCode, ResultDesc); money for nobody is refused."""
    try:
        payment = parse_c2b(body)
    except InvalidInputError as exc:
        code = "C2B00013" if "Amount" in str(exc) else "C2B00016"
        return code, f"Rejected: {exc}"
    with sessions() as session:
        found = _route(session, payment, paybill, lock=False)
    if found.rule is None:
        return "C2B00012", "Rejected: unknown account"
    return "0", "Accepted"


def confirm_c2b(
    sessions: sessionmaker[Session], body: bytes, paybill: Paybill, after: AfterCommit
) -> None:
    """Money has moved: it becomes access, months, credit, SMS credits, an operator's wallet
    money or an unmatched payment; never lost, never twice."""
    try:
        c2b = parse_c2b(body)
    except InvalidInputError as exc:
        with transaction(sessions) as session:
            record(session, None, "c2b_rejected", reason=str(exc), raw=raw_text(body))
        raise
    try:
        with transaction(sessions) as session:
            _confirm(session, c2b, paybill, after)
    except IntegrityError as exc:
        if constraint_of(exc) != "uq_payments_mpesa_receipt":
            raise
        with transaction(sessions) as session:  # a repeat of a confirmation we already hold
            existing = session.scalar(
                select(Payment.id).where(Payment.mpesa_receipt == c2b.trans_id)
            )
            record(session, existing, "duplicate_c2b", raw=c2b.raw)


def _route(session: Session, c2b: C2BPayment, paybill: Paybill, *, lock: bool) -> Route:
    return route(
        session,
        c2b.bill_ref,
        shortcode=c2b.shortcode,
        rules=paybill.rules,
        region=paybill.region,
        lock=lock,
    )


@dataclass(frozen=True)
class Received:
    """One confirmation being settled: the money, where it goes, and what follows the commit."""

    c2b: C2BPayment
    route: Route
    paybill: Paybill
    now: dt.datetime
    after: AfterCommit

    def payment(self, session: Session, purpose: PaymentPurpose, **columns: Any) -> Payment:
        """The payment row (unmatched until settled) and its confirmation event."""
        payment = Payment(
            operator_id=self.route.operator_id,
            purpose=purpose.value,
            method=PaymentMethod.C2B,
            amount=self.c2b.amount,
            amount_paid=self.c2b.amount,
            mpesa_receipt=self.c2b.trans_id,
            bill_ref_number=self.c2b.bill_ref,
            status=PaymentStatus.UNMATCHED,
            paid_at=self.now,
            result_code="0",
            **columns,
        )
        session.add(payment)
        session.flush()
        record(session, payment.id, "c2b_confirmation", raw=self.c2b.raw)
        return payment


def _confirm(session: Session, c2b: C2BPayment, paybill: Paybill, after: AfterCommit) -> None:
    existing = session.scalar(select(Payment).where(Payment.mpesa_receipt == c2b.trans_id))
    if existing is not None:
        record(session, existing.id, "duplicate_c2b", raw=c2b.raw)
        return
    found = _route(session, c2b, paybill, lock=True)
    received = Received(c2b, found, paybill, dt.datetime.now(dt.UTC), after)
    SETTLE[found.rule](session, received)


def _unmatched(session: Session, received: Received) -> None:
    """Money for nobody waits for an admin (with the shortcode's operator, or the installation's
    own for the shared one)."""
    payment = received.payment(session, PaymentPurpose.ACCESS)
    record(session, payment.id, "unmatched", reference=received.c2b.bill_ref)
    received.after.notices.append(("unmatched", payment.id))


def _pay_hotspot(session: Session, received: Received) -> None:
    """The payer's hotspot account: renewed, or the money kept as credit."""
    user = received.route.user
    assert user is not None
    payment = received.payment(
        session,
        PaymentPurpose.ACCESS,
        user_id=user.id,
        phone=user.phone,
        package_id=user.package_id,
    )
    pay(payment, now=received.now, after=received.after)
    credentials = provision_purchase(session, payment, user.package, received.now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        username=user.username,
        credit=user.credit,
        expires_at=credentials.expires_at if credentials else None,
    )
    if credentials is not None:
        received.after.add_provisioned(payment.id, credentials)
    else:
        received.after.notices.append(("credit_kept", payment.id))


def _pay_subscriber(session: Session, received: Received) -> None:
    """A monthly payment: months bought, or credit kept; a blocked subscriber reconnected."""
    subscriber = received.route.subscriber
    assert subscriber is not None
    payment = received.payment(
        session, PaymentPurpose.SUBSCRIPTION, subscriber_id=subscriber.id, phone=subscriber.phone
    )
    pay(payment, now=received.now, after=received.after)
    applied = apply_payment(
        session, subscriber, received.c2b.amount, received.now, received.paybill.zone
    )
    record(
        session,
        payment.id,
        "subscriber_paid" if applied.months else "credited",
        account=subscriber.account_number,
        months=applied.months,
        credit=applied.credit,
        due_date=applied.due_date.isoformat(),
        reconnected=applied.reconnected,
    )
    received.after.notices.append(("payment_received", payment.id))
    if applied.months:
        received.after.redials.append(subscriber.id)
    else:
        received.after.notices.append(("credit_kept", payment.id))
    if applied.reconnected:
        received.after.notices.append(("reconnected", payment.id))


def _buy_sms_credits(session: Session, received: Received) -> None:
    """An operator buying SMS credits: whole credits at HOTSPOT_SMS_CREDIT_PRICE (the rest of
    the amount buys nothing and is shown in the event); its customers' SMS resume."""
    payment = received.payment(session, PaymentPurpose.SMS_CREDITS)
    pay(payment, now=received.now, after=received.after)
    price = received.paybill.sms_credit_price
    credits = int(received.c2b.amount // price)
    balance = add_sms_credits(session, received.route.operator_id, credits)
    received.after.notices.append(("credits_bought", payment.id))
    record(
        session,
        payment.id,
        "sms_credits_bought",
        credits=credits,
        price=price,
        unspent=received.c2b.amount - credits * price,
        balance=balance,
    )


def _pay_wallet(session: Session, received: Received) -> None:
    """An operator paying into its own wallet (the ledger posts it, without commission)."""
    payment = received.payment(session, PaymentPurpose.WALLET)
    pay(payment, now=received.now, after=received.after)
    record(session, payment.id, "wallet_paid", operator_id=received.route.operator_id)
    received.after.notices.append(("payment_received", payment.id))


SETTLE: dict[str | None, Callable[[Session, Received], None]] = {
    None: _unmatched,
    "hotspot": _pay_hotspot,
    "subscriber": _pay_subscriber,
    "sms": _buy_sms_credits,
    "wallet": _pay_wallet,
}
