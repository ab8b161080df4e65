"""The parts of the Daraja client that need no server: timestamps and passwords, the in-memory
token cache, and what customers read for M-Pesa's result codes."""

from __future__ import annotations

from datetime import UTC, datetime

from hotspot.adapters.daraja import nairobi_timestamp, result_message, stk_password
from hotspot.adapters.daraja_tokens import MemoryTokenCache


def test_timestamp_is_nairobi_time() -> None:
    assert nairobi_timestamp(datetime(2024, 12, 31, 21, 30, 5, tzinfo=UTC)) == "20250101003005"
    assert nairobi_timestamp(datetime(2024, 6, 1, 12, 0, 0)) == "20240601150000"  # naive = UTC
    assert stk_password("174379", "pk", "20240601150000") == "MTc0Mzc5cGsyMDI0MDYwMTE1MDAwMA=="


def test_memory_token_cache_honours_the_ttl() -> None:
    now = [0.0]
    cache = MemoryTokenCache(clock=lambda: now[0])
    cache.set("k", "t1", 10)
    now[0] = 9.9
    assert cache.get("k") == "t1"
    now[0] = 10.0
    assert cache.get("k") is None
    cache.set("k", "t2", 10)
    cache.set("k", "t3", 0)
    assert cache.get("k") is None


def test_result_messages() -> None:
    assert result_message(1032) == result_message("1032") == "You cancelled the payment."
    assert "not enough money" in result_message("1")
    assert "PIN was wrong" in result_message(2001)
    assert "could not be reached" in result_message(" 1037 ")
    for code in ("0", "2", "3", "4", "8", "17", "1019", "1025", "2028", "8006", "SFC_IC0003"):
        assert "M-Pesa code" not in result_message(code)
    assert result_message(9999) == "The payment did not go through (M-Pesa code 9999)."
    assert result_message(None) == "The payment did not go through."
