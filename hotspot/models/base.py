"""What every table shares: the declarative base, naming convention, money and time types."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DateTime,
    Enum,
    MetaData,
    Numeric,
    func,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column

# The ranges of PostgreSQL's integer and bigint: ids and counts beyond them are refused as input.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12, 2)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def now_column() -> Any:
    return mapped_column(Timestamp, nullable=False, server_default=func.now())


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])
