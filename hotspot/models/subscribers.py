"""Home subscribers on PPPoE: monthly plans, and the subscribers who pay them by a due date."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotspot.models.base import Base, Money, enum_column, now_column
from hotspot.models.operators import operator_column


class SubscriberStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # past its due date and grace: FreeRADIUS rejects it


class Plan(Base):
    """A monthly PPPoE plan; its RADIUS group (`group_name`) carries speed and pool."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("operator_id", "name", name="uq_plans_operator_id_name"),
        UniqueConstraint("id", "operator_id", name="uq_plans_id_operator_id"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("grace_days >= 0 AND grace_days <= 31", name="grace_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    name: Mapped[str] = mapped_column(Text)
    group_name: Mapped[str] = mapped_column(Text, unique=True)
    price: Mapped[Decimal] = mapped_column(Money, doc="a month")
    rate_limit: Mapped[str] = mapped_column(Text)
    pool: Mapped[str | None] = mapped_column(Text, doc="Framed-Pool on the router (None: its own)")
    grace_days: Mapped[int] = mapped_column(Integer, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = now_column()


class Subscriber(Base):
    """A home customer: online while paid up to its due date (plus the plan's grace)."""

    __tablename__ = "subscribers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["plan_id", "operator_id"],
            ["plans.id", "plans.operator_id"],
            name="fk_subscribers_plan_of_operator",
        ),
        CheckConstraint("billing_day BETWEEN 1 AND 31", name="billing_day_range"),
        CheckConstraint("credit >= 0", name="credit_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    account_number: Mapped[str] = mapped_column(
        Text, unique=True, doc="what the subscriber types as the paybill account reference"
    )
    username: Mapped[str] = mapped_column(Text, unique=True, doc="its PPPoE login")
    phone: Mapped[str | None] = mapped_column(Text)
    static_ip: Mapped[str | None] = mapped_column(INET, doc="Framed-IP-Address (None: the pool)")
    due_date: Mapped[dt.date] = mapped_column(Date, doc="paid up to this day")
    billing_day: Mapped[int] = mapped_column(
        SmallInteger, doc="the day of the month due dates keep (31: each month's last)"
    )
    credit: Mapped[Decimal] = mapped_column(Money, server_default="0")
    status: Mapped[SubscriberStatus] = mapped_column(
        enum_column(SubscriberStatus, "subscriber_status"),
        server_default=SubscriberStatus.ACTIVE.value,
    )
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()

    plan: Mapped[Plan] = relationship(foreign_keys=[plan_id])
