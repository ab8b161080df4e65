"""How the portal's package cards say what a package gives, quotas included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotspot.models import Package
from hotspot.web.portal_text import data_allowance_text, validity_text

MB = 2**20
SW_USE = "matumizi ya saa 5 ndani ya siku 30"


def package(**fields: object) -> Package:
    values: dict[str, object] = {
        "name": "x",
        "price": Decimal(50),
        "duration_seconds": 30 * 86400,
        "data_cap_bytes": None,
        "time_quota_seconds": None,
        "daily_data_bytes": None,
        "rate_limit": "2M/5M",
        "devices": 1,
    }
    return Package(**{**values, **fields})


@pytest.mark.parametrize(
    ("fields", "lang", "validity", "data"),
    [
        ({}, "en", "30 days", "Unlimited"),
        ({"time_quota_seconds": 5 * 3600}, "en", "5 hours of use in 30 days", "Unlimited"),
        (
            {"time_quota_seconds": 5 * 3600},
            "sw",
            "matumizi ya saa 5 ndani ya siku 30",
            "Bila kikomo",
        ),
        ({"daily_data_bytes": 500 * MB}, "en", "30 days", "500 MB a day"),
        ({"daily_data_bytes": 500 * MB}, "sw", "siku 30", "500 MB kwa siku"),
        ({"data_cap_bytes": 2**30}, "en", "30 days", "1 GB"),
    ],
)
def test_the_card_says_what_the_package_gives(
    fields: dict[str, object], lang: str, validity: str, data: str
) -> None:
    shown = package(**fields)
    assert validity_text(shown, lang) == validity
    assert data_allowance_text(shown, lang) == data
