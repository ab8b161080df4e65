"""What billing needs from M-Pesa (`Gateway`: the Daraja client, or anything speaking like it), and
what M-Pesa sends us, read as we can store it: amounts and the raw text of bodies."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from hotspot.adapters.daraja import StkPushAccepted, StkQueryResult
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


class Gateway(Protocol):
    """What payments need from M-Pesa (the Daraja client, or anything speaking like it)."""

    def stk_push(
        self, *, phone: str, amount: int, account_reference: str, description: str,
        callback_url: str,
    ) -> StkPushAccepted: ...  # fmt: skip

    def stk_query(self, checkout_request_id: str) -> StkQueryResult: ...
