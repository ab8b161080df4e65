"""C2B paybill money: validated, confirmed, and turned into a renewal, credit or an unmatched
payment for an operator, never lost."""

from __future__ import annotations

import datetime as dt
import zoneinfo
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
from hotspot.billing.payment_state import AfterCommit, pay, record
from hotspot.core import storable
from hotspot.core.errors import InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    HotspotUser,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Subscriber,
)
from hotspot.operators.tenants import default_operator_id


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    amount: Decimal
    bill_ref: str
    raw: dict[str, Any]


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
    return C2BPayment(str(data["TransID"]), amount, str(data["BillRefNumber"]).strip(), data)


def find_account(
    session: Session, reference: str, region: str, operator_id: int | None = None
) -> HotspotUser | None:
    """BillRefNumber as customers type it: their username or their phone number, among the
    accounts of `operator_id` (None: of every operator; a phone two operators' customers share
    then names nobody).

    The payer's MSISDN is hashed or masked by Safaricom, so it is never used.
    """
    by_name = select(HotspotUser).where(HotspotUser.username == reference.lower())
    if operator_id is not None:
        by_name = by_name.where(HotspotUser.operator_id == operator_id)
    user = session.scalar(by_name.with_for_update())
    if user is not None:
        return user
    try:
        phone = normalize_phone(reference, region)
    except InvalidInputError:
        return None
    by_phone = select(HotspotUser).where(HotspotUser.phone == phone)
    if operator_id is not None:
        by_phone = by_phone.where(HotspotUser.operator_id == operator_id)
    found = list(session.scalars(by_phone.limit(2).with_for_update()))
    return found[0] if len(found) == 1 else None


def find_subscriber(session: Session, reference: str, *, lock: bool = False) -> Subscriber | None:
    """A PPPoE subscriber's account number (the first rule: it names nobody else)."""
    stmt = select(Subscriber).where(Subscriber.account_number == reference.strip().upper())
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _pay_subscriber(
    session: Session,
    c2b: C2BPayment,
    *,
    subscriber: Subscriber,
    now: dt.datetime,
    after: AfterCommit,
    zone: zoneinfo.ZoneInfo,
) -> None:
    """A monthly payment: months bought, or credit kept; a blocked subscriber reconnected."""
    payment = Payment(
        operator_id=subscriber.operator_id,
        subscriber_id=subscriber.id,
        method=PaymentMethod.C2B,
        amount=c2b.amount,
        amount_paid=c2b.amount,
        mpesa_receipt=c2b.trans_id,
        bill_ref_number=c2b.bill_ref,
        phone=subscriber.phone,
        status=PaymentStatus.UNMATCHED,
        paid_at=now,
        result_code="0",
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "c2b_confirmation", raw=c2b.raw)
    pay(payment, now=now, after=after)
    applied = apply_payment(session, subscriber, c2b.amount, now, zone)
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
    if applied.months:
        after.redials.append(subscriber.id)


def validate_c2b(sessions: sessionmaker[Session], body: bytes, region: str) -> tuple[str, str]:
    """Daraja's validation call: (ResultCode, ResultDesc); money for nobody is refused."""
    try:
        payment = parse_c2b(body)
    except InvalidInputError as exc:
        code = "C2B00013" if "Amount" in str(exc) else "C2B00016"
        return code, f"Rejected: {exc}"
    with sessions() as session:
        known = find_subscriber(session, payment.bill_ref) or find_account(
            session, payment.bill_ref, region
        )
        if known is None:
            return "C2B00012", "Rejected: unknown account"
    return "0", "Accepted"


def confirm_c2b(
    sessions: sessionmaker[Session],
    body: bytes,
    region: str,
    after: AfterCommit,
    zone: zoneinfo.ZoneInfo,
) -> None:
    """Money has moved: it becomes a renewal, credit, or an unmatched payment — never lost."""
    try:
        c2b = parse_c2b(body)
    except InvalidInputError as exc:
        with transaction(sessions) as session:
            record(session, None, "c2b_rejected", reason=str(exc), raw=raw_text(body))
        raise
    try:
        with transaction(sessions) as session:
            _confirm(session, c2b, region, after, zone)
    except IntegrityError as exc:
        if constraint_of(exc) != "uq_payments_mpesa_receipt":
            raise
        with transaction(sessions) as session:  # a repeat of a confirmation we already hold
            existing = session.scalar(
                select(Payment.id).where(Payment.mpesa_receipt == c2b.trans_id)
            )
            record(session, existing, "duplicate_c2b", raw=c2b.raw)


def _confirm(
    session: Session, c2b: C2BPayment, region: str, after: AfterCommit, zone: zoneinfo.ZoneInfo
) -> None:
    existing = session.scalar(select(Payment).where(Payment.mpesa_receipt == c2b.trans_id))
    if existing is not None:
        record(session, existing.id, "duplicate_c2b", raw=c2b.raw)
        return
    now = dt.datetime.now(dt.UTC)
    subscriber = find_subscriber(session, c2b.bill_ref, lock=True)
    if subscriber is not None:
        _pay_subscriber(session, c2b, subscriber=subscriber, now=now, after=after, zone=zone)
        return
    user = find_account(session, c2b.bill_ref, region)
    payment = Payment(
        # Money for nobody waits with the installation's own operator for an admin.
        operator_id=user.operator_id if user else default_operator_id(session),
        method=PaymentMethod.C2B,
        amount=c2b.amount,
        amount_paid=c2b.amount,
        mpesa_receipt=c2b.trans_id,
        bill_ref_number=c2b.bill_ref,
        status=PaymentStatus.UNMATCHED,
        user_id=user.id if user else None,
        phone=user.phone if user else None,
        package_id=user.package_id if user else None,
        paid_at=now,
        result_code="0",
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "c2b_confirmation", raw=c2b.raw)
    if user is None:
        record(session, payment.id, "unmatched", reference=c2b.bill_ref)
        return
    pay(payment, now=now, after=after)
    credentials = provision_purchase(session, payment, user.package, now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        username=user.username,
        credit=user.credit,
        expires_at=credentials.expires_at if credentials else None,
    )
    if credentials is not None:
        after.add_provisioned(payment.id, credentials)
