"""Operators' wallets, read from the ledger (hotspot/billing/ledger.sql): a balance is the sum of
its wallet entries, never a stored number. Payments are posted by the database as they become
paid; what is written here is the platform's payouts to operators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, ForbiddenError, InvalidInputError
from hotspot.core.values import optional_text
from hotspot.models import MAX_MONEY, Account, LedgerEntry, LedgerPosting, Operator
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged_rows, time_range
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
    rows = session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.operator_id == operator.id)
        .group_by(LedgerEntry.account)
    )
    sums: dict[str, Decimal] = {row.account: row.total for row in rows}
    zero = Decimal("0.00")
    return Wallet(
        operator,
        balance=sums.get(Account.WALLET, zero),
        received=-sums.get(Account.RECEIVED, zero),
        commission=sums.get(Account.COMMISSION, zero),
        paid_out=sums.get(Account.PAYOUTS, zero),
    )


def statement(
    session: Session,
    actor: Actor,
    code: str,
    page: Page,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Listing[tuple[LedgerPosting, Decimal]]:
    """The wallet's movements, newest first: each posting and what it did to the balance."""
    operator = get_operator(session, actor, code)
    stmt = (
        select(LedgerPosting, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.posting_id == LedgerPosting.id)
        .where(LedgerEntry.operator_id == operator.id, LedgerEntry.account == Account.WALLET)
    )
    stmt = time_range(stmt, LedgerPosting.created_at, since, until)
    return paged_rows(session, stmt.order_by(LedgerPosting.id.desc()), page)


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
    posting = LedgerPosting(
        operator_id=operator.id, kind="payout", reference=reference, actor=actor.name
    )
    session.add(posting)
    session.flush()
    # One statement: the ledger checks each INSERT statement's postings balance.
    session.execute(
        insert(LedgerEntry).values(
            [
                {"posting_id": posting.id, "operator_id": operator.id,
                 "account": Account.WALLET.value, "amount": -amount},
                {"posting_id": posting.id, "operator_id": operator.id,
                 "account": Account.PAYOUTS.value, "amount": amount},
            ]
        )
    )  # fmt: skip
    audit(session, actor, "wallet.payout", f"operator:{operator.code}",
          {"amount": str(amount), "reference": reference}, owner=operator.id)  # fmt: skip
    return wallet(session, actor, operator.code)
