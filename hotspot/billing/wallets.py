"""Operators' wallets, read from the ledger (hotspot/billing/ledger.sql): a balance is the sum
of its postings' wallet column, never a stored number. Payments are posted by the database as
they become paid; what is written here is the platform's payouts to operators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, ForbiddenError, InvalidInputError
from hotspot.core.values import optional_text
from hotspot.models import MAX_MONEY, LedgerPosting, Operator
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged, time_range
from hotspot.operators.tenants import get_operator


@dataclass(frozen=True)
class RecordPayout:
    code: str  # the operator's
    amount: Decimal
    reference: str | None = None  # the transfer's, e.g. an M-Pesa B2C receipt


@dataclass(frozen=True)
class Wallet:
    operator: Operator
    balance: Decimal
    received: Decimal  # all customers ever paid for it
    commission: Decimal
    paid_out: Decimal


def wallet(session: Session, actor: Actor, code: str) -> Wallet:
    operator = get_operator(session, actor, code)
    sums = session.execute(
        select(
            func.coalesce(func.sum(LedgerPosting.wallet), 0),
            func.coalesce(-func.sum(LedgerPosting.received), 0),
            func.coalesce(func.sum(LedgerPosting.commission), 0),
            func.coalesce(func.sum(LedgerPosting.payouts), 0),
        ).where(LedgerPosting.operator_id == operator.id)
    ).one()
    return Wallet(operator, *(Decimal(value) for value in sums))


def statement(
    session: Session,
    actor: Actor,
    code: str,
    page: Page,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Listing[LedgerPosting]:
    """The wallet's movements, newest first."""
    operator = get_operator(session, actor, code)
    stmt = select(LedgerPosting).where(
        LedgerPosting.operator_id == operator.id, LedgerPosting.wallet != 0
    )
    stmt = time_range(stmt, LedgerPosting.created_at, since, until)
    return paged(session, stmt.order_by(LedgerPosting.id.desc()), page)


def record_payout(session: Session, actor: Actor, command: RecordPayout) -> Wallet:
    """Money the platform sent the operator: never more than its balance. The operator's row is
    locked, so two payouts at once cannot both spend the same balance."""
    operator = get_operator(session, actor, command.code, lock=True)
    if not actor.platform:
        raise ForbiddenError("payouts are recorded by the platform")
    amount = command.amount
    if not (Decimal("0.01") <= amount <= MAX_MONEY) or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInputError(f"amount must be between 0.01 and {MAX_MONEY}, two decimals")
    before = wallet(session, actor, operator.code)
    if amount > before.balance:
        raise ConflictError(f"the wallet holds {before.balance}: less than {amount}")
    reference = optional_text(command.reference, "reference", 100)
    session.add(
        LedgerPosting(
            operator_id=operator.id,
            kind="payout",
            reference=reference,
            actor=actor.name,
            wallet=-amount,
            payouts=amount,
        )
    )
    session.flush()
    audit(session, actor, "wallet.payout", f"operator:{operator.code}",
          {"amount": str(amount), "reference": reference}, owner=operator.id)  # fmt: skip
    return wallet(session, actor, operator.code)
