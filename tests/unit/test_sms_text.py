"""The credentials SMS as the customer reads it: the expiry in their time zone, the operator's
template filled in."""

from __future__ import annotations

import datetime as dt

import pytest

from hotspot.adapters.sms import credentials_text, customer_time
from tests.support.sms import EXPIRES


def test_the_expiry_is_shown_in_the_customers_zone() -> None:
    assert customer_time(EXPIRES, 3) == "24 Nov 2026 14:05"
    assert customer_time(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), 3) == "1 Jan 2027 02:30"
    assert customer_time(EXPIRES, 0) == "24 Nov 2026 11:05"


def test_a_template_that_cannot_be_filled_in_says_so() -> None:
    with pytest.raises(ValueError, match="HOTSPOT_SMS_TEMPLATE"):
        credentials_text(
            "{user}", username="u", password="p", expires_at=EXPIRES, package="x", offset_hours=3
        )
