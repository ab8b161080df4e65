"""Rate limits and trusted proxies as the settings write them, refused when malformed."""

from __future__ import annotations

import re

import pytest

from hotspot.adapters.ratelimit import Limit
from hotspot.web.proxies import parse_proxies


@pytest.mark.parametrize("text", ["5", "a/b", "0/10", "5/0"])
def test_malformed_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Limit.parse(text)


def test_a_trusted_proxy_cannot_be_named_wrong() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300' is not an address")):
        parse_proxies("10.0.0.1, 10.0.0.300")
