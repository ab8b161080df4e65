"""What is for sale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import (
    Base,
    Money,
    now_column,
)
from hotspot.models.operators import operator_column


class Package(Base):
    """What a customer buys; each package is one RADIUS group named `group_name`."""

    __tablename__ = "packages"
    __table_args__ = (
        # Names are the operator's own; RADIUS group names are one namespace for FreeRADIUS.
        UniqueConstraint("operator_id", "name", name="uq_packages_operator_id_name"),
        # What rows of the operator's customers and payments point at (composite foreign keys):
        # a user, payment or voucher can only ever name its own operator's package.
        UniqueConstraint("id", "operator_id", name="uq_packages_id_operator_id"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("duration_seconds > 0", name="duration_positive"),
        CheckConstraint("devices > 0", name="devices_positive"),
        CheckConstraint("data_cap_bytes IS NULL OR data_cap_bytes > 0", name="data_cap_positive"),
        CheckConstraint(
            "time_quota_seconds IS NULL OR time_quota_seconds > 0", name="time_quota_positive"
        ),
        CheckConstraint(
            "daily_data_bytes IS NULL OR daily_data_bytes > 0", name="daily_data_positive"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    name: Mapped[str] = mapped_column(Text)
    group_name: Mapped[str] = mapped_column(Text, unique=True)
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), server_default="KES")
    duration_seconds: Mapped[int] = mapped_column(Integer)
    data_cap_bytes: Mapped[int | None] = mapped_column(BigInteger)
    time_quota_seconds: Mapped[int | None] = mapped_column(
        Integer, doc="hours of use a purchase gives, within its validity (None: no limit)"
    )
    daily_data_bytes: Mapped[int | None] = mapped_column(
        BigInteger, doc="data a day, back at local midnight (None: no daily limit)"
    )
    rate_limit: Mapped[str] = mapped_column(Text, doc="MikroTik rate limit, upload/download")
    devices: Mapped[int] = mapped_column(Integer, server_default="1")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
