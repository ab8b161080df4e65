"""A report's range of days is checked before any query."""

from __future__ import annotations

import datetime as dt

import pytest

from hotspot.core.errors import InvalidInputError
from hotspot.reports.queries import Days


def test_a_range_must_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidInputError, match="after it ends"):
        Days(dt.date(2001, 2, 4), dt.date(2001, 2, 3))
