"""The monthly rules of PPPoE subscribers (hotspot/access/subscribers.py), without a database:
calendar months on a billing day, and what a payment buys."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest

from hotspot.access import subscribers as rules
from hotspot.access.subscribers import add_months, cut_off
from hotspot.models import Plan, Subscriber, SubscriberStatus

NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")


@pytest.mark.parametrize(
    ("start", "months", "day", "expected"),
    [
        (dt.date(2027, 1, 31), 1, 31, dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), 1, 31, dt.date(2028, 2, 29)),  # a leap year
        (dt.date(2027, 2, 28), 1, 31, dt.date(2027, 3, 31)),  # back on its day
        (dt.date(2027, 1, 30), 1, 30, dt.date(2027, 2, 28)),
        (dt.date(2027, 11, 15), 2, 15, dt.date(2028, 1, 15)),  # over a year's end
        (dt.date(2027, 12, 31), 12, 31, dt.date(2028, 12, 31)),
    ],
)
def test_months_are_calendar_months_on_the_billing_day(
    start: dt.date, months: int, day: int, expected: dt.date
) -> None:
    assert add_months(start, months, day) == expected


def subscriber(due: dt.date, credit: str = "0", *, blocked: bool = False) -> Subscriber:
    plan = Plan(price=Decimal("1500"), grace_days=2, group_name="p")
    found = Subscriber(
        due_date=due,
        billing_day=due.day,
        credit=Decimal(credit),
        status=SubscriberStatus.BLOCKED if blocked else SubscriberStatus.ACTIVE,
        username="home",
    )
    found.plan = plan
    return found


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), NAIROBI)


@pytest.fixture(autouse=True)
def no_radius_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "write_radius_rows", lambda *args, **kwargs: None)


def pay(found: Subscriber, amount: str, when: dt.datetime) -> Any:
    return rules.apply_payment(None, found, Decimal(amount), when, NAIROBI)  # type: ignore[arg-type]


def test_paid_before_the_due_date_a_month_runs_from_the_due_date() -> None:
    found = subscriber(dt.date(2027, 1, 31))
    applied = pay(found, "1500", at(dt.date(2027, 1, 20)))
    assert (applied.months, found.due_date, found.billing_day) == (1, dt.date(2027, 2, 28), 31)
    pay(found, "1500", at(dt.date(2027, 2, 25)))
    assert found.due_date == dt.date(2027, 3, 31)


def test_paid_after_the_due_date_a_month_runs_from_today() -> None:
    found = subscriber(dt.date(2027, 1, 10), blocked=True)
    applied = pay(found, "1500", at(dt.date(2027, 1, 14)))
    assert applied.reconnected
    assert (found.due_date, found.billing_day) == (dt.date(2027, 2, 14), 14)
    assert found.status is SubscriberStatus.ACTIVE


def test_less_than_the_price_is_credit_and_enough_credit_reconnects() -> None:
    found = subscriber(dt.date(2027, 1, 10), blocked=True)
    applied = pay(found, "1000", at(dt.date(2027, 1, 12)))
    assert (applied.months, applied.reconnected, found.credit) == (0, False, Decimal("1000"))
    assert found.status is SubscriberStatus.BLOCKED
    applied = pay(found, "2100", at(dt.date(2027, 1, 12)))  # 3100: two months and 100 over
    assert (applied.months, applied.reconnected, found.credit) == (2, True, Decimal("100"))
    assert found.due_date == dt.date(2027, 3, 12)


def test_the_cut_off_is_the_start_of_the_due_date_plus_grace_in_local_time() -> None:
    found = subscriber(dt.date(2027, 1, 10))
    assert cut_off(found, found.plan, NAIROBI) == dt.datetime(2027, 1, 11, 21, tzinfo=dt.UTC)
