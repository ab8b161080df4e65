"""The operators' wallets: a ledger of balanced postings, never changed once written
(hotspot/billing/ledger.sql holds the triggers that keep it so)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import Base, now_column


class Account(enum.StrEnum):
    RECEIVED = "received"  # what customers paid (a source: negative)
    WALLET = "wallet"  # what the platform owes the operator
    COMMISSION = "commission"  # the platform's
    PAYOUTS = "payouts"  # paid out to the operator
    SMS_SALES = "sms_sales"  # the platform's, for SMS credits


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("kind IN ('payment', 'payout')", name="kind_known"),
        UniqueConstraint("payment_id", name="uq_ledger_postings_payment_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('ledger_postings_seq')")
    )
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    kind: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    reference: Mapped[str | None] = mapped_column(Text, doc="a payout's transfer reference")
    actor: Mapped[str | None] = mapped_column(Text, doc="who recorded a payout")
    created_at: Mapped[dt.datetime] = now_column()


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "account IN ('received', 'wallet', 'commission', 'payouts', 'sms_sales')",
            name="account_known",
        ),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_ledger_entries_operator_id_account", "operator_id", "account"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("ledger_postings.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    account: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
