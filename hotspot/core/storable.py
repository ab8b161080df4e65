"""Text from outside, as PostgreSQL can take it.

PostgreSQL's text and jsonb hold no NUL character, and UTF-8 has no unpaired surrogates; JSON's
`\\u0000` and `\\ud800` escapes spell both, and a query string can carry `%00`. Such input is
refused with a reason (`loads`, `check`), or, where it must be kept anyway (the audit trail of
rejected callbacks), each offending character becomes U+FFFD (`cleaned`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hotspot.core.errors import InvalidInputError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # in a str, a surrogate is always unpaired


def storable(value: Any) -> bool:
    """Whether every string in a JSON-like value (keys included) can be stored."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is None
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    return True


def check(value: Any, where: str) -> None:
    if not storable(value):
        raise InvalidInputError(f"{where} holds a NUL character or an unpaired surrogate")


def loads(data: str | bytes) -> Any:
    """`json.loads` (a ValueError for what is not JSON) that refuses unstorable text."""
    value = json.loads(data)
    check(value, "the body")
    return value


def cleaned(value: Any) -> Any:
    """A JSON-like value with every unstorable character replaced by U+FFFD."""
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {cleaned(k): cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    return value
