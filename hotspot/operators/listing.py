"""Pages of a listing: what every operator's list shares (a limit, an offset, the next one)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True)
class Listing(Generic[T]):
    items: list[T]
    page: Page
    next_offset: int | None


def paged(session: Session, stmt: Select[T], page: Page) -> Listing[T]:
    rows = list(session.scalars(stmt.limit(page.limit + 1).offset(page.offset)))
    more = len(rows) > page.limit
    return Listing(rows[: page.limit], page, page.offset + page.limit if more else None)


def paged_rows(session: Session, stmt: Select[*Ts], page: Page) -> Listing[Any]:
    rows = list(session.execute(stmt.limit(page.limit + 1).offset(page.offset)).all())
    more = len(rows) > page.limit
    return Listing(rows[: page.limit], page, page.offset + page.limit if more else None)


def time_range(
    stmt: Select[*Ts], column: Any, since: dt.datetime | None, until: dt.datetime | None
) -> Select[*Ts]:
    """Rows from `since` (included) to `until` (excluded)."""
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt
