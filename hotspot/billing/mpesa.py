"""What M-Pesa sends us, read as we can store it: amounts and the raw text of bodies."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from hotspot.core.errors import InvalidInputError
from hotspot.models import (
    MAX_MONEY,
)

CENT = Decimal("0.01")


def parse_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInputError(f"amount {value!r} is not a number") from None
    if not amount.is_finite():
        raise InvalidInputError(f"amount {value!r} is not a number")
    if abs(amount) > MAX_MONEY:
        raise InvalidInputError(f"amount {value!r} is out of range")
    if amount != amount.quantize(CENT):
        raise InvalidInputError(f"amount {value!r} has more than two decimals")
    return amount


def raw_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")[:20_000]
