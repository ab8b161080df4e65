"""Text into typed values, for the entry points: a time, an IP address, a member of an enum.

The web reads these from query strings and JSON bodies, the CLI from options; the reasons for a
refusal name the field, and are the same wherever the text came from.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import re
from typing import TypeVar

from hotspot.core.errors import InvalidInputError

E = TypeVar("E", bound=enum.Enum)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TIME_EXAMPLE = "2026-01-31T18:00:00+03:00"


def parse_time(raw: object, name: str) -> dt.datetime:
    """ISO 8601; without an offset it is UTC. A '+' turned into a space by a query string is
    put back."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError(f"{name} must be an ISO 8601 time, e.g. {TIME_EXAMPLE}")
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw.strip())
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{name} {raw!r} is not an ISO 8601 time, e.g. {TIME_EXAMPLE}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def optional_time(raw: str | None, name: str) -> dt.datetime | None:
    return None if raw is None or raw == "" else parse_time(raw, name)


def parse_ip(raw: object, name: str) -> IPAddress:
    if not isinstance(raw, str):
        raise InvalidInputError(f"{name} must be an IP address")
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        raise InvalidInputError(f"{name} {raw!r} is not an IP address") from None


def parse_enum(raw: str | None, cls: type[E], name: str) -> E | None:
    """None for no value."""
    if raw is None or raw == "":
        return None
    try:
        return cls(raw)
    except ValueError:
        known = ", ".join(str(m.value) for m in cls)
        raise InvalidInputError(f"{name} must be one of: {known}") from None
