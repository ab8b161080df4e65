"""Reading an admin request: its JSON body field by field, and its query string, into typed
values. A missing or mistyped field is a 422 naming it; what the values may be is checked by the
use case the command goes to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from flask import request

from hotspot.access.routers import canonical_address
from hotspot.core.errors import InvalidInputError
from hotspot.core.parsing import IPAddress, optional_time, parse_ip, parse_time
from hotspot.core.values import REQUIRED_TEXT, UNCHANGED, Unchanged, bounded
from hotspot.models import INT32_MAX
from hotspot.operators.listing import DEFAULT_LIMIT, MAX_LIMIT, Page
from hotspot.web.request_input import json_object

T = TypeVar("T")
D = TypeVar("D")


class Body:
    """The request's JSON object; a field it may not carry is refused at once."""

    def __init__(self, allowed: Sequence[str]) -> None:
        self.data = json_object()
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise InvalidInputError(
                f"unknown field(s): {', '.join(unknown)} (allowed: {', '.join(allowed)})"
            )

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def require(self, *names: str) -> None:
        for name in names:
            if name not in self.data:
                raise InvalidInputError(f"{name} is required")

    def get(self, name: str, read: Callable[[str], T], default: D) -> T | D:
        """The field read with `read` when the body has it, else `default`."""
        return read(name) if name in self.data else default

    def change(self, name: str, read: Callable[[str], T]) -> T | Unchanged:
        """The field read with `read` when the body has it, else UNCHANGED."""
        return self.get(name, read, UNCHANGED)

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise InvalidInputError(REQUIRED_TEXT.format(name=name))
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.data.get(name) is None else self.text(name)

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInputError(f"{name} must be an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self.data.get(name) is None else self.integer(name)

    def boolean(self, name: str) -> bool:
        value = self.data.get(name)
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be true or false")
        return value

    def decimal(self, name: str) -> Decimal:
        """A JSON number or a decimal string: "50", 49.5."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInputError(f'{name} must be a number or a decimal string, e.g. "50"')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInputError(f"{name} {value!r} is not a number") from None
        if not number.is_finite():
            raise InvalidInputError(f"{name} {value!r} is not a number")
        return number

    def time(self, name: str) -> dt.datetime:
        return parse_time(self.data.get(name), name)

    def ip(self, name: str) -> IPAddress:
        return parse_ip(self.data.get(name), name)

    def hotspot_address(self, name: str) -> str | None:
        """host or host:port of a router's hotspot pages, as the portal compares it
        (`routers.canonical_address`). None: unset."""
        raw = self.data.get(name)
        if raw is None or raw == "":
            return None
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return canonical_address(raw)
        except ValueError:
            raise InvalidInputError(
                f"{name} must be host or host:port (an IP address or DNS name, no scheme or "
                f"path), not {raw!r}"
            ) from None


def arg(name: str) -> str | None:
    value = request.args.get(name)
    return value.strip() if value is not None and value.strip() else None


def int_arg(name: str) -> int | None:
    value = arg(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be an integer") from None


def bool_arg(name: str) -> bool | None:
    value = arg(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInputError(f"{name} must be true or false")


def time_arg(name: str) -> dt.datetime | None:
    return optional_time(arg(name), name)


def listing_page() -> Page:
    return Page(
        limit=_bounded_arg("limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
        offset=_bounded_arg("offset", 0, INT32_MAX, 0),
    )


def _bounded_arg(name: str, low: int, high: int, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be an integer") from None
    return bounded(value, name, low, high)
