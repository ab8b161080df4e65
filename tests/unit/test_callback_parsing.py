"""M-Pesa's STK callbacks and C2B confirmations read into values before any database is touched:
what is malformed is refused with the reason (tests/integration/test_bad_input.py: the 4xx the
API answers)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from hotspot.billing.c2b import parse_c2b
from hotspot.billing.callbacks import parse_stk_callback
from hotspot.core.errors import InvalidInputError
from tests.support.payments import c2b_body, failure_callback, success_callback


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_successful_callback_carries_amount_receipt_and_phone() -> None:
    parsed = parse_stk_callback(body(success_callback("ws_CO_1", 20, "TAB12CD34E")))
    assert (parsed.checkout_request_id, parsed.merchant_request_id) == (
        "ws_CO_1",
        "29115-34620561-1",
    )
    assert (parsed.result_code, parsed.amount, parsed.receipt) == ("0", Decimal(20), "TAB12CD34E")
    assert parsed.phone == "254708374149"


def test_metadata_items_are_read_by_name_in_any_order() -> None:
    callback = success_callback("ws_CO_2", "20.50", "TAB12CD34E")
    items = callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    items.reverse()
    parsed = parse_stk_callback(body(callback))
    assert (parsed.amount, parsed.receipt) == (Decimal("20.50"), "TAB12CD34E")


def test_a_failure_carries_its_code_and_reason_only() -> None:
    parsed = parse_stk_callback(
        body(failure_callback("ws_CO_3", 1032, "Request cancelled by user"))
    )
    assert (parsed.result_code, parsed.result_desc) == ("1032", "Request cancelled by user")
    assert (parsed.amount, parsed.receipt, parsed.phone) == (None, None, None)


def without_checkout_id() -> dict[str, Any]:
    callback = success_callback("ws_CO_4", 20, "TAB12CD34E")
    del callback["Body"]["stkCallback"]["CheckoutRequestID"]
    return callback


def without_receipt() -> dict[str, Any]:
    callback = success_callback("ws_CO_5", 20, "TAB12CD34E")
    items = callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    items[:] = [item for item in items if item["Name"] != "MpesaReceiptNumber"]
    return callback


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "body is not JSON"),
        (body([]), "missing Body.stkCallback"),
        (body({"Body": {}}), "missing Body.stkCallback"),
        (body(without_checkout_id()), "missing Body.stkCallback.CheckoutRequestID"),
        (body(without_receipt()), "needs Amount and MpesaReceiptNumber"),
        (body(success_callback("ws_CO_6", "20.001", "R")), "more than two decimals"),
        (body(success_callback("ws_CO_7", "NaN", "R")), "is not a number"),
        (body(success_callback("ws_CO_8", "lots", "R")), "is not a number"),
    ],
)
def test_a_malformed_callback_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        parse_stk_callback(raw)


def test_a_c2b_confirmation_names_the_account_it_pays() -> None:
    parsed = parse_c2b(body(c2b_body("  alice7 ", "50.00", trans_id="TAB99")))
    assert (parsed.trans_id, parsed.amount, parsed.bill_ref) == ("TAB99", Decimal(50), "alice7")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"TransID": ""}, "missing TransID"),
        ({"BillRefNumber": None}, "missing BillRefNumber"),
        ({"TransAmount": "0"}, "TransAmount must be positive"),
        ({"TransAmount": "-5"}, "TransAmount must be positive"),
        ({"TransAmount": "5.5.5"}, "is not a number"),
    ],
)
def test_a_malformed_c2b_confirmation_is_refused_with_the_reason(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        parse_c2b(body({**c2b_body("alice7", "50.00"), **changes}))


def test_a_c2b_body_must_be_a_json_object() -> None:
    with pytest.raises(InvalidInputError, match="not a JSON object"):
        parse_c2b(body(["TransID"]))
    with pytest.raises(InvalidInputError, match="body is not JSON"):
        parse_c2b(b"\xff")
