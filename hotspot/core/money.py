"""Amounts as a currency writes them: shillings with cents, Ugandan shillings and CFA francs
without (ISO 4217's minor units), so a UGX price reads 1000, never 1000.00."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies of this project's region that have no minor unit; the rest have two.
WHOLE_UNITS = frozenset({"UGX", "XAF", "XOF", "RWF", "BIF", "KMF", "GNF", "DJF"})


def minor_units(currency: str | None) -> int:
    return 0 if (currency or "").upper() in WHOLE_UNITS else 2


def amount_text(amount: Decimal, currency: str | None) -> str:
    """`amount` with as many decimals as its currency has."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))
