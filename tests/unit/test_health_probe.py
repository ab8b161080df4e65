"""Where the readiness probe looks for FreeRADIUS's status listener, from the settings alone."""

from __future__ import annotations

import pytest

from hotspot.adapters.health import status_probe_host
from hotspot.core.settings import Settings


@pytest.mark.parametrize(
    ("listen", "status_host", "probed"),
    [
        ("127.0.0.1", "", "127.0.0.1"),
        ("10.1.2.3", "", "10.1.2.3"),
        ("*", "", "127.0.0.1"),
        ("0.0.0.0", "", "127.0.0.1"),  # noqa: S104 - a setting, not a bind
        ("::", "", "::1"),
        ("*", "freeradius", "freeradius"),
        ("10.1.2.3", " 10.9.9.9 ", "10.9.9.9"),
    ],
)
def test_the_probe_goes_to_the_status_host_or_where_freeradius_listens(
    listen: str, status_host: str, probed: str
) -> None:
    settings = Settings(radius_listen_address=listen, radius_status_host=status_host)
    assert status_probe_host(settings) == probed
