"""Bad input is a 4xx with the reason, never a 500: what tests/e2e/test_fuzz.py found, one by
one."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import AdminRole, Payment
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from tests.support.factories import make_package
from tests.support.harness import ApiUnderTest
from tests.support.payments import c2b_body, random_phone


def e164(phone: str) -> str:
    return "+254" + phone[1:]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/admin/packages/2147483648"),
        ("PATCH", "/api/admin/nas/2147483648"),
        ("DELETE", "/api/admin/nas/99999999999999999999"),
        ("GET", "/api/payments/9223372036854775808"),
        ("GET", "/portal/pay/2147483648"),
    ],
)
def test_an_id_beyond_its_column_names_nothing(api: ApiUnderTest, method: str, path: str) -> None:
    response = requests.request(method, f"{api.url}{path}", timeout=5)
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_package_id_beyond_the_column_is_no_package(api: ApiUnderTest) -> None:
    body: dict[str, Any] = {"package_id": 2**31, "phone": random_phone()}
    response = requests.post(f"{api.url}/api/payments", json=body, timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": "no package with id 2147483648"}


def test_a_price_beyond_what_mpesa_takes_is_422_before_anything_is_stored(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package = make_package(session, price=Decimal("250001"))
    phone = random_phone()
    body: dict[str, Any] = {"package_id": package.id, "phone": phone}
    response = requests.post(f"{api.url}/api/payments", json=body, timeout=5)
    assert response.status_code == 422
    assert response.json() == {"error": "M-Pesa takes at most 250,000 in one payment"}
    with committed() as session:
        assert session.scalar(select(func.count()).where(Payment.phone == e164(phone))) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/vouchers/redeem", b'{"code": "abc\\u0000"}'),
        ("/api/payments", b'{"package_id": 1, "phone": "0712345678", "mac": "\\ud800"}'),
    ],
)
def test_json_with_a_nul_or_an_unpaired_surrogate_is_422(
    api: ApiUnderTest, path: str, body: bytes
) -> None:
    response = requests.post(
        f"{api.url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 422
    assert response.json() == {"error": "the body holds a NUL character or an unpaired surrogate"}


@pytest.mark.parametrize(
    "path", ["/api/hotspot/session?username=a%00", "/portal/success?u=%00", "/api/admin/users/a%00"]
)
def test_a_url_with_a_nul_is_422(api: ApiUnderTest, path: str) -> None:
    response = requests.get(f"{api.url}{path}", timeout=5)
    assert response.status_code == 422
    assert "holds a NUL character" in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    ["\x00{marker}", '{{"Body": {{"stkCallback": {{"CheckoutRequestID": "\\u0000{marker}"}}}}}}'],
    ids=["raw", "escaped"],
)
def test_a_callback_with_a_nul_is_400_and_kept_cleaned(
    api: ApiUnderTest, committed: sessionmaker[Session], body: str
) -> None:
    marker = f"nul-{random_phone()}"
    response = requests.post(api.callback_url, data=body.format(marker=marker).encode(), timeout=5)
    assert response.status_code == 400
    with committed() as session:
        kept = session.scalar(
            text(
                "SELECT detail->>'raw' FROM payment_events"
                " WHERE kind = 'callback_rejected' AND detail->>'raw' LIKE :marker"
            ),
            {"marker": f"%{marker}%"},
        )
    assert kept is not None
    assert "\x00" not in kept


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("1e20", "is out of range"), ("7.9e-303", "has more than two decimals")],
)
def test_a_c2b_amount_the_column_cannot_hold_is_refused(
    api: ApiUnderTest, amount: str, reason: str
) -> None:
    body = c2b_body("nobody", amount)
    validated = requests.post(api.c2b_url("validate"), json=body, timeout=5)
    confirmed = requests.post(api.c2b_url("confirm"), json=body, timeout=5)
    assert validated.json()["ResultCode"] == "C2B00016"
    assert confirmed.status_code == 400
    assert confirmed.json() == {"error": f"amount {amount!r} {reason}"}


def paid_callback(metadata: object) -> dict[str, Any]:
    callback = {"MerchantRequestID": "m", "CheckoutRequestID": "c", "ResultCode": 0}
    return {"Body": {"stkCallback": {**callback, "CallbackMetadata": metadata}}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"Body": 5}, "missing Body.stkCallback"),
        (paid_callback({"Item": 5}), "a successful callback needs Amount"),
        (paid_callback([{"Name": "Amount"}]), "a successful callback needs Amount"),
    ],
    ids=["body", "items", "metadata"],
)
def test_an_stk_callback_of_the_wrong_shape_is_400(
    api: ApiUnderTest, body: dict[str, Any], reason: str
) -> None:
    response = requests.post(api.callback_url, json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"].startswith(reason)


@pytest.mark.parametrize("price", [6.5e307, "1e30"])
def test_a_price_beyond_decimal_precision_is_422(
    api: ApiUnderTest, committed: sessionmaker[Session], price: float | str
) -> None:
    with committed.begin() as session:
        token = create_token(
            session,
            f"bad-input-{secrets.token_hex(3)}",
            AdminRole.ADMIN,
            default_operator_id(session),
        )
    body = {"name": "huge", "price": price, "duration_seconds": 60, "rate_limit": "1M/1M"}
    response = requests.post(
        f"{api.url}/api/admin/packages",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 422
    assert response.json() == {"error": "price must be between 0 and 9999999999.99"}


def test_a_non_ascii_callback_token_is_404(api: ApiUnderTest) -> None:
    response = requests.post(f"{api.url}/api/callbacks/stk/tök", json={}, timeout=5)
    assert response.status_code == 404
