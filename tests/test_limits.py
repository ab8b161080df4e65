"""Limits on the public endpoints: the body size (413) and rate limits (429 with Retry-After),
the rate limits counted before any body is read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import Package, Payment
from hotspot.ratelimit import Limit
from tests.conftest import ApiUnderTest, MpesaSandboxUnderTest, StackUnderTest, start_api
from tests.test_payments import random_phone


@pytest.fixture
def limited_api(stack: StackUnderTest, mpesa: MpesaSandboxUnderTest) -> Iterator[ApiUnderTest]:
    settings = stack.settings.with_changes(
        mpesa_base_url=mpesa.url,
        rate_limit_payments_per_phone="2/600",
        rate_limit_payments_per_ip="4/600",
        rate_limit_vouchers_per_ip="3/600",
    )
    server, services = start_api(settings)
    for key in services.redis.scan_iter("hotspot:ratelimit:*"):
        services.redis.delete(key)  # the rest of the suite counts too, unlimited
    yield ApiUnderTest(server.url, services)
    server.stop()
    services.close()


def one_hour(committed: sessionmaker[Session]) -> int:
    with committed() as session:
        return session.scalars(select(Package.id).where(Package.name == "1 Hour")).one()


def test_a_phone_gets_a_few_prompts_then_429(
    limited_api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    body: dict[str, Any] = {"package_id": one_hour(committed), "phone": phone}
    codes = [
        requests.post(f"{limited_api.url}/api/payments", json=body, timeout=10).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


def test_an_ip_gets_a_few_prompts_then_429_with_retry_after(
    limited_api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    responses = [
        requests.post(
            f"{limited_api.url}/api/payments",
            json={"package_id": one_hour(committed), "phone": random_phone()},
            timeout=10,
        )
        for _ in range(5)
    ]
    assert [r.status_code for r in responses] == [201, 201, 201, 201, 429]
    limited = responses[-1]
    assert 0 < int(limited.headers["Retry-After"]) <= 600
    assert "too many attempts" in limited.json()["error"]


def test_voucher_guessing_is_limited_per_ip(limited_api: ApiUnderTest) -> None:
    codes = [
        requests.post(
            f"{limited_api.url}/api/vouchers/redeem", json={"code": "guess12345"}, timeout=5
        ).status_code
        for _ in range(4)
    ]
    assert codes == [404, 404, 404, 429]


@pytest.mark.parametrize("text", ["5", "a/b", "0/10", "5/0"])
def test_malformed_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Limit.parse(text)


def test_session_lookups_are_limited_per_ip(
    stack: StackUnderTest, mpesa: MpesaSandboxUnderTest
) -> None:
    server, services = start_api(stack.settings.with_changes(rate_limit_lookups_per_ip="2/600"))
    try:
        for key in services.redis.scan_iter("hotspot:ratelimit:lookups-ip:*"):
            services.redis.delete(key)
        codes = [
            requests.get(
                f"{server.url}/api/hotspot/session", params={"username": "nobody"}, timeout=5
            ).status_code
            for _ in range(3)
        ]
    finally:
        server.stop()
        services.close()
    assert codes == [404, 404, 429]


# --- the body size ------------------------------------------------------------------------------

TOO_BIG = 65536 + 1


def assert_too_large(response: requests.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {"error": "the body is larger than 65536 bytes"}


def test_an_oversized_payment_body_is_413_and_stores_nothing(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    body: dict[str, Any] = {"package_id": one_hour(committed), "phone": phone, "mac": "x" * TOO_BIG}
    assert_too_large(requests.post(f"{api.url}/api/payments", json=body, timeout=10))
    with committed() as session:
        stored = session.scalar(select(func.count()).where(Payment.phone == "+254" + phone[1:]))
    assert stored == 0


def test_a_streamed_oversized_callback_is_413_and_not_kept(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    """Chunked, with no Content-Length: the limit holds while the body is read."""
    marker = f"marker-{random_phone()}"

    def chunks() -> Iterator[bytes]:
        yield f'{{"Body": {{"stkCallback": {{"CheckoutRequestID": "{marker}", "x": "'.encode()
        for _ in range(TOO_BIG // 1024 + 1):
            yield b"y" * 1024
        yield b'"}}}'

    assert_too_large(requests.post(api.callback_url, data=chunks(), timeout=10))
    with committed() as session:
        kept = session.scalar(
            text("SELECT count(*) FROM payment_events WHERE detail::text LIKE :marker"),
            {"marker": f"%{marker}%"},
        )
    assert kept == 0


def test_a_streamed_body_of_exactly_the_limit_is_read_whole(api: ApiUnderTest) -> None:
    body = b'{"padding": "' + b"y" * (65536 - len(b'{"padding": ""}')) + b'"}'
    assert len(body) == 65536
    response = requests.post(api.callback_url, data=iter([body]), timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "missing Body.stkCallback"}


def test_an_oversized_form_is_413(api: ApiUnderTest) -> None:
    response = requests.post(
        f"{api.url}/api/sms/delivery-report",
        data={"id": "x", "status": "Success", "padding": "z" * TOO_BIG},
        timeout=10,
    )
    assert_too_large(response)


@pytest.mark.parametrize(
    "path", ["/api/payments", "/api/vouchers/redeem"], ids=["payments", "vouchers"]
)
def test_a_rate_limited_client_is_429_before_its_body_is_read(
    limited_api: ApiUnderTest, path: str
) -> None:
    url = f"{limited_api.url}{path}"
    for _ in range(4):
        requests.post(
            url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
        )
    huge = requests.post(url, json={"code": "z" * TOO_BIG}, timeout=10)
    malformed = requests.post(
        url, data=b"\xff{", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert [huge.status_code, malformed.status_code] == [429, 429]
    assert "too many attempts" in huge.json()["error"]
