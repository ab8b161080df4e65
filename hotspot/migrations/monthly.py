"""Monthly range partitions as the migrations make them (hotspot/adapters/partitions.py keeps
them up afterwards). Migrations depend on this file: change it only in ways that leave what an
old migration makes unchanged.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

AHEAD = 3  # months made after the current one


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def make_partitions(table: str, oldest: dt.datetime | None) -> None:
    """`<table>_default`, and `<table>_pYYYYMM` for every month from `oldest`'s (or this one)
    to AHEAD months after this one, in UTC."""
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    this_month = dt.datetime.now(dt.UTC).date().replace(day=1)
    first = oldest.astimezone(dt.UTC).date().replace(day=1) if oldest else this_month
    month = min(first, this_month)
    while month <= add_months(this_month, AHEAD):
        following = add_months(month, 1)
        op.execute(
            f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
            f"FOR VALUES FROM ('{month}T00:00:00+00') TO ('{following}T00:00:00+00')"
        )
        month = following


def oldest(table: str, column: str) -> dt.datetime | None:
    """The earliest `column` in `table` (None when empty)."""
    found: dt.datetime | None = op.get_bind().scalar(
        sa.text(f"SELECT min({column}) FROM {table}")  # noqa: S608
    )
    return found
