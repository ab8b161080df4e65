"""What an operator does with payments: find them, read their timeline, and put an unmatched
C2B payment on the account it was meant for (audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.access.provisioning import Credentials, provision_purchase
from hotspot.billing.paybill import find_account
from hotspot.billing.payment_state import pay, record, timeline
from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.core.values import required_text
from hotspot.models import (
    HotspotUser,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
)
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.followups import Followups
from hotspot.operators.listing import Listing, Page, paged, time_range


@dataclass(frozen=True)
class PaymentFilter:
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    phone: str | None = None
    receipt: str | None = None
    username: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class ResolvePayment:
    payment_id: int
    account: str  # a username or a phone number


def list_payments(
    session: Session, actor: Actor, f: PaymentFilter, page: Page, region: str
) -> Listing[Payment]:
    stmt = actor.visible(select(Payment), Payment.operator_id)
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
    stmt = time_range(stmt, Payment.created_at, f.since, f.until)
    return paged(session, stmt.order_by(Payment.id.desc()), page)


def get_payment(session: Session, actor: Actor, payment_id: int) -> Payment:
    payment: Payment = actor.found(session.get(Payment, payment_id), f"no payment {payment_id}")
    return payment


def payment_events(session: Session, payment_id: int) -> list[PaymentEvent]:
    return timeline(session, payment_id)


def resolve_payment(
    session: Session,
    actor: Actor,
    command: ResolvePayment,
    *,
    region: str,
    now: dt.datetime,
    followups: Followups,
) -> tuple[Payment, HotspotUser, Credentials | None]:
    """Puts an unmatched C2B payment on an account, exactly as if its BillRefNumber had named it:
    the account's package is renewed (or the money kept as credit). Only once: the payment row is
    locked and must still be unmatched."""
    payment_id = command.payment_id
    account = required_text(command.account, "account", 100)
    payment: Payment = actor.found(
        session.get(Payment, payment_id, with_for_update=True, populate_existing=True),
        f"no payment {payment_id}",
    )
    if payment.status is not PaymentStatus.UNMATCHED:
        raise ConflictError(
            f"payment {payment_id} is {payment.status.value}: only unmatched payments are resolved"
        )
    user = find_account(session, account, region, actor.operator_id)
    if user is None:
        raise InvalidInputError(f"no account {account!r} (give a username or a phone number)")
    package = user.package
    payment.operator_id = user.operator_id  # a platform admin may put it on any operator's
    payment.user_id = user.id
    payment.phone = user.phone
    payment.package_id = package.id
    pay(payment, now=now, after=followups.after)
    record(session, payment.id, "resolved", actor=actor.name, account=user.username)
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
        owner=payment.operator_id,
    )
    return payment, user, credentials
