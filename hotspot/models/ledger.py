"""The operators' wallets: a ledger of balanced postings, never changed once written
(hotspot/billing/ledger.sql holds the trigger that keeps it so and the payments' posting)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Numeric, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import Base, now_column

ACCOUNTS = ("received", "wallet", "commission", "payouts", "sms_sales")


def _account(doc: str) -> Mapped[Decimal]:
    return mapped_column(Numeric(14, 2), server_default="0", doc=doc)


class LedgerPosting(Base):
    """One business event and what it moved on each account; its accounts sum to zero."""

    __tablename__ = "ledger"
    __table_args__ = (
        CheckConstraint("kind IN ('payment', 'payout')", name="kind_known"),
        CheckConstraint(
            "received + wallet + commission + payouts + sms_sales = 0", name="balanced"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    reference: Mapped[str | None] = mapped_column(Text, doc="a payout's transfer reference")
    actor: Mapped[str | None] = mapped_column(Text, doc="who recorded a payout")
    received: Mapped[Decimal] = _account("what customers paid (a source: negative)")
    wallet: Mapped[Decimal] = _account("what the platform owes the operator")
    commission: Mapped[Decimal] = _account("the platform's commission")
    payouts: Mapped[Decimal] = _account("paid out to the operator")
    sms_sales: Mapped[Decimal] = _account("the platform's, for SMS credits")
    created_at: Mapped[dt.datetime] = now_column()
