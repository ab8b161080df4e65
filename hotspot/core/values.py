"""Rules on values that many use cases share: required text, whole numbers in a range, and
"leave this as it is" in a change.

The entry points turn JSON or command-line options into typed values; the use cases check them
with these, so a value refused over HTTP is refused from the shell with the same reason.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any

from hotspot.core.errors import InvalidInputError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

REQUIRED_TEXT = "{name} is required (a non-empty string)"


class Unchanged(enum.Enum):
    """A field a change command leaves as it is (a field may also be changed to None)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


def given_fields(change: DataclassInstance, key: str) -> dict[str, Any]:
    """The fields a change command sets, by name in the order declared: all but `key` (what it
    changes) and those left UNCHANGED."""
    values = {f.name: getattr(change, f.name) for f in dataclasses.fields(change)}
    return {name: v for name, v in values.items() if name != key and v is not UNCHANGED}


def required_text(value: str, name: str, max_length: int) -> str:
    """The text without surrounding spaces; neither blank nor longer than `max_length`."""
    text = value.strip()
    if not text:
        raise InvalidInputError(REQUIRED_TEXT.format(name=name))
    if len(text) > max_length:
        raise InvalidInputError(f"{name} must be at most {max_length} characters")
    return text


def optional_text(value: str | None, name: str, max_length: int) -> str | None:
    """None for none or an empty text, else a required text."""
    return None if value is None or value == "" else required_text(value, name, max_length)


def bounded(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low} and {high}")
    return value
