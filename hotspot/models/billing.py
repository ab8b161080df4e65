"""Money: payments, their events, vouchers, the M-Pesa callback token generations."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotspot.models.base import (
    Base,
    Money,
    Timestamp,
    enum_column,
    now_column,
)
from hotspot.models.catalog import Package
from hotspot.models.operators import operator_column


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    UNMATCHED = "unmatched"  # C2B money whose account reference names nobody: for an operator

    @property
    def final(self) -> bool:
        return self is not PaymentStatus.PENDING


class PaymentPurpose(enum.StrEnum):
    """What money is for; it decides the ledger's posting (hotspot/billing/ledger.sql)."""

    ACCESS = "access"  # a hotspot package
    SUBSCRIPTION = "subscription"  # a PPPoE subscriber's months
    SMS_CREDITS = "sms_credits"  # an operator buying SMS credits from the platform
    WALLET = "wallet"  # an operator paying into its own wallet


class PaymentMethod(enum.StrEnum):
    STK = "stk"
    C2B = "c2b"


class VoucherStatus(enum.StrEnum):
    UNUSED = "unused"
    REDEEMED = "redeemed"
    REVOKED = "revoked"


class Payment(Base):
    """One payment: an STK push we started, or C2B money sent to the paybill.

    `checkout_request_id` and `mpesa_receipt` are unique, so the same callback or receipt can
    never settle two payments.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "purpose IN ('access', 'subscription', 'sms_credits', 'wallet')", name="purpose_known"
        ),
        CheckConstraint("gateway IN ('mpesa', 'iotec', 'campay')", name="gateway_known"),
        Index("ix_payments_status_created_at", "status", "created_at"),
        Index("ix_payments_phone", "phone"),
        Index(
            "ix_payments_paid_day",
            text("((paid_at AT TIME ZONE 'UTC')::date)"),
            postgresql_where=text("status = 'paid'"),
        ),
        Index("ix_payments_created_day", text("((created_at AT TIME ZONE 'UTC')::date)")),
        Index(
            "ix_payments_operator_paid",
            "operator_id",
            "paid_at",
            postgresql_where=text("status = 'paid'"),
        ),
        ForeignKeyConstraint(
            ["package_id", "operator_id"],
            ["packages.id", "packages.operator_id"],
            name="fk_payments_package_of_operator",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    method: Mapped[PaymentMethod] = mapped_column(
        enum_column(PaymentMethod, "payment_method"), server_default=PaymentMethod.STK.value
    )
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text, server_default=PaymentPurpose.ACCESS.value)
    gateway: Mapped[str] = mapped_column(Text, server_default="mpesa", doc="who collects it")
    currency: Mapped[str | None] = mapped_column(String(3), doc="asked in (the package's)")
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id"), doc="a PPPoE subscriber's monthly payment"
    )
    phone: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money, doc="asked for (STK) or received (C2B)")
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), server_default=PaymentStatus.PENDING.value
    )
    portal_token_hash: Mapped[str | None] = mapped_column(Text)
    bill_ref_number: Mapped[str | None] = mapped_column(Text)
    checkout_request_id: Mapped[str | None] = mapped_column(
        Text, unique=True, doc="the gateway's reference of the collection (M-Pesa's name)"
    )
    merchant_request_id: Mapped[str | None] = mapped_column(Text)
    mpesa_receipt: Mapped[str | None] = mapped_column(Text, unique=True)
    result_code: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    mac: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    paid_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # The package's terms when the STK push was asked for (migration 0006): a payment settles at
    # the price it asked, whatever changes while the customer types the PIN.
    package_price: Mapped[Decimal | None] = mapped_column(Money)
    package_duration_seconds: Mapped[int | None] = mapped_column(Integer)

    package: Mapped[Package | None] = relationship(foreign_keys=[package_id])


class PaymentEvent(Base):
    """Audit trail: every step of every payment, raw bodies included."""

    __tablename__ = "payment_events"
    # Monthly partitions by created_at (migration 0020, hotspot/adapters/partitions.py).
    __table_args__ = (
        Index("ix_payment_events_payment_id_created_at", "payment_id", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('payment_events_id_seq')")
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, primary_key=True, server_default=text("now()")
    )


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "operator_id"],
            ["packages.id", "packages.operator_id"],
            name="fk_vouchers_package_of_operator",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    code: Mapped[str] = mapped_column(Text, unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    batch: Mapped[str | None] = mapped_column(Text, index=True)
    status: Mapped[VoucherStatus] = mapped_column(
        enum_column(VoucherStatus, "voucher_status"), server_default=VoucherStatus.UNUSED.value
    )
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"))
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = now_column()


class CallbackTokenGeneration(Base):
    """A generation of the M-Pesa callback URL token (the token is derived, never stored): valid
    until `retires_at`, or for good while it is empty."""

    __tablename__ = "callback_token_generations"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = now_column()
    retires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
