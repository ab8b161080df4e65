"""The admin API's parameters read from their text: times, addresses and choices, refused with
a reason an operator can act on (tests/e2e/test_admin.py: the same over HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from hotspot.core.errors import InvalidInputError
from hotspot.core.parsing import parse_enum, parse_ip, parse_time
from hotspot.models import PaymentStatus
from hotspot.web.admin.reading import Body

NAIROBI = dt.timezone(dt.timedelta(hours=3))


def parse_hotspot_address(raw: object) -> str | None:
    """A NAS body's hotspot_address as the admin API reads it."""
    with Flask(__name__).test_request_context(json={"hotspot_address": raw}):
        return Body(["hotspot_address"]).hotspot_address("hotspot_address")


@pytest.mark.parametrize(
    ("raw", "meant"),
    [
        ("2026-01-31T18:00:00+03:00", dt.datetime(2026, 1, 31, 18, tzinfo=NAIROBI)),
        ("2026-01-31T18:00:00 03:00", dt.datetime(2026, 1, 31, 18, tzinfo=NAIROBI)),  # '+' lost
        ("2026-01-31T15:00:00", dt.datetime(2026, 1, 31, 15, tzinfo=dt.UTC)),  # no offset: UTC
        (" 2026-01-31 ", dt.datetime(2026, 1, 31, tzinfo=dt.UTC)),
    ],
)
def test_times_are_iso_8601_and_utc_without_an_offset(raw: str, meant: dt.datetime) -> None:
    parsed = parse_time(raw, "from")
    assert parsed == meant
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("raw", [None, "", "  ", 5, "yesterday", "2026-13-01"])
def test_a_time_that_is_not_one_names_the_parameter_and_the_form(raw: object) -> None:
    with pytest.raises(InvalidInputError, match=r"^from .*ISO 8601 time, e\.g\. 2026-01-31"):
        parse_time(raw, "from")


def test_addresses_are_canonical_and_anything_else_refused() -> None:
    assert str(parse_ip(" 10.0.0.1 ", "nasname")) == "10.0.0.1"
    assert str(parse_ip("2001:DB8::1", "nasname")) == "2001:db8::1"
    for raw in ("10.0.0.300", "router.example", 7):
        with pytest.raises(InvalidInputError, match=r"^nasname"):
            parse_ip(raw, "nasname")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (None, None),
        ("", None),
        ("WiFi.Example.net", "wifi.example.net"),
        ("10.5.50.1:80", "10.5.50.1:80"),
        ("[2001:DB8::1]:8080", "[2001:db8::1]:8080"),
    ],
)
def test_a_hotspot_address_is_host_or_host_and_port(raw: str | None, canonical: str | None) -> None:
    assert parse_hotspot_address(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["http://10.5.50.1", "10.5.50.1/login", "10.5.50.1:0", "a b", "x;y", 8080]
)
def test_a_hotspot_address_with_a_scheme_path_or_bad_port_is_refused(raw: object) -> None:
    with pytest.raises(InvalidInputError, match=r"^hotspot_address must be host or host:port"):
        parse_hotspot_address(raw)


def test_a_choice_is_one_of_the_values_or_none_when_absent() -> None:
    assert parse_enum("paid", PaymentStatus, "status") is PaymentStatus.PAID
    assert parse_enum("", PaymentStatus, "status") is None
    assert parse_enum(None, PaymentStatus, "status") is None
    with pytest.raises(InvalidInputError, match=r"^status must be one of: pending, paid"):
        parse_enum("settled", PaymentStatus, "status")
