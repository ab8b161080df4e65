"""Limits on the public endpoints: the body size (413) and rate limits (429 with Retry-After),
the rate limits counted before any body is read."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.ratelimit import Limit, Limiter, unavailable_total
from hotspot.billing.notify import connect
from hotspot.models import Nas, Package, Payment
from tests.support.factories import make_nas
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest, start_api
from tests.support.payments import random_phone
from tests.support.stack import StackUnderTest


@pytest.fixture
def limited_api(stack: StackUnderTest, mpesa: MpesaSandboxUnderTest) -> Iterator[ApiUnderTest]:
    settings = stack.settings.with_changes(
        mpesa_base_url=mpesa.url,
        rate_limit_payments_per_phone="2/600",
        rate_limit_payments_per_client="2/600",
        rate_limit_payments_per_ip="4/600",
        rate_limit_vouchers_per_client="3/600",
        rate_limit_vouchers_per_ip="8/600",
    )
    server, services = start_api(settings)
    for key in services.redis.scan_iter("hotspot:ratelimit:*"):
        services.redis.delete(key)  # the rest of the suite counts too, unlimited
    yield ApiUnderTest(server.url, services)
    server.stop()
    services.close()


@pytest.fixture
def router(committed: sessionmaker[Session]) -> Iterator[str]:
    """A registered router's login URL, as its login.html hands it to the portal."""
    with committed.begin() as session:
        nas = make_nas(
            session, address="198.51.100.7", shortname="cafe", hotspot_address="10.5.50.1"
        )
    yield "http://10.5.50.1/login"
    with committed.begin() as session:
        session.execute(delete(Nas).where(Nas.id == nas.id))


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
    limited_api: ApiUnderTest, router: str, committed: sessionmaker[Session]
) -> None:
    """The per-IP ceiling, whatever MACs the requests claim."""
    responses = [
        requests.post(
            f"{limited_api.url}/api/payments",
            json={
                "package_id": one_hour(committed),
                "phone": random_phone(),
                "mac": f"02:00:00:00:02:{n:02x}",
                "link_login_only": router,
            },
            timeout=10,
        )
        for n in range(5)
    ]
    assert [r.status_code for r in responses] == [201, 201, 201, 201, 429]
    limited = responses[-1]
    assert 0 < int(limited.headers["Retry-After"]) <= 600
    assert "too many attempts" in limited.json()["error"]


def guess_voucher(api: ApiUnderTest, **client: str) -> int:
    body = {"code": "guess12345", **client}
    return requests.post(f"{api.url}/api/vouchers/redeem", json=body, timeout=5).status_code


def test_voucher_guessing_is_limited_per_ip(limited_api: ApiUnderTest) -> None:
    """A client the router does not name: its IP is the client, with the per-client limit."""
    assert [guess_voucher(limited_api) for _ in range(4)] == [404, 404, 404, 429]


def test_one_customer_out_of_voucher_attempts_leaves_the_next_one_behind_the_router_alone(
    limited_api: ApiUnderTest, router: str
) -> None:
    def customer(mac: str) -> dict[str, str]:
        return {"mac": mac, "link_login_only": router}

    guesser = [guess_voucher(limited_api, **customer("02:00:00:00:00:01")) for _ in range(4)]
    assert guesser == [404, 404, 404, 429]
    # The next customer at the same café (same public address): not locked out.
    assert guess_voucher(limited_api, **customer("02:00:00:00:00:02")) == 404
    # A MAC written another way is the same device.
    assert guess_voucher(limited_api, **customer("02-00-00-00-00-01")) == 429
    # A router nobody registered names no client: the IP is the client, here a fresh one.
    assert guess_voucher(limited_api, mac="02:00:00:00:00:01", link_login_only="http://x/") == 404
    # The per-IP ceiling (8) still holds, however many MACs a guesser makes up.
    fresh = [guess_voucher(limited_api, **customer(f"02:00:00:00:01:{n:02x}")) for n in range(2)]
    assert fresh == [404, 429]


def test_naming_someone_elses_mac_from_elsewhere_does_not_lock_them_out(
    stack: StackUnderTest, router: str
) -> None:
    """MACs are seen by anyone on the WiFi; a guesser on the internet who names a customer's
    uses up their own attempts only (the client's address is part of its key)."""
    settings = stack.settings.with_changes(
        rate_limit_vouchers_per_client="3/600",
        rate_limit_vouchers_per_ip="100/600",
        trusted_proxies="127.0.0.0/8",
    )
    server, services = start_api(settings)
    victim = {"mac": "02:00:00:00:0a:01", "link_login_only": router}

    def guess(address: str) -> int:
        body = {"code": "guess12345", **victim}
        return requests.post(
            f"{server.url}/api/vouchers/redeem",
            json=body,
            headers={"X-Forwarded-For": address},
            timeout=5,
        ).status_code

    try:
        for key in services.redis.scan_iter("hotspot:ratelimit:vouchers-*"):
            services.redis.delete(key)
        assert [guess("198.51.100.7") for _ in range(4)] == [404, 404, 404, 429]
        assert guess("203.0.113.9") == 404  # the café's address: the customer is not locked out
    finally:
        server.stop()
        services.close()


def test_payments_are_limited_per_customer_behind_a_router(
    limited_api: ApiUnderTest, router: str, committed: sessionmaker[Session]
) -> None:
    def pay(mac: str) -> int:
        body: dict[str, Any] = {
            "package_id": one_hour(committed),
            "phone": random_phone(),
            "mac": mac,
            "link_login_only": router,
        }
        return requests.post(f"{limited_api.url}/api/payments", json=body, timeout=10).status_code

    assert [pay("02:00:00:00:00:0a") for _ in range(3)] == [201, 201, 429]
    assert pay("02:00:00:00:00:0b") == 201


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


# --- without Redis ------------------------------------------------------------------------------


@pytest.fixture
def dead_redis_url() -> Iterator[str]:
    """A Redis URL where nothing listens: the port is held (bound, not listening) by the test."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{held.getsockname()[1]}/0"


def test_without_redis_the_limiter_lets_through_counts_and_warns_once(
    dead_redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = Limiter(connect(dead_redis_url), tmp_path)
    with caplog.at_level(logging.WARNING, logger="hotspot.ratelimit"):
        waits = [limiter.hit("vouchers-ip", "192.0.2.1", Limit(1, 600)) for _ in range(3)]
    assert waits == [None, None, None]  # fail open: payments go on without Redis
    assert unavailable_total(tmp_path) == 3
    [warning] = caplog.records  # the log is not flooded
    assert "Redis unavailable" in warning.getMessage()
    assert "192.0.2.1" not in warning.getMessage()


def metric(api_url: str, name: str) -> int:
    text = requests.get(f"{api_url}/metrics", timeout=10).text
    match = re.search(rf"^{name} (\d+)$", text, re.MULTILINE)
    assert match is not None, text
    return int(match.group(1))


def test_metrics_count_requests_let_through_while_redis_is_down(
    stack: StackUnderTest, dead_redis_url: str
) -> None:
    settings = stack.settings.with_changes(
        redis_url=dead_redis_url, rate_limit_lookups_per_ip="1/600"
    )
    server, services = start_api(settings)
    try:
        before = metric(server.url, "hotspot_rate_limit_unavailable_total")
        codes = [
            requests.get(
                f"{server.url}/api/hotspot/session", params={"username": "nobody"}, timeout=5
            ).status_code
            for _ in range(3)
        ]
        after = metric(server.url, "hotspot_rate_limit_unavailable_total")
    finally:
        server.stop()
        services.close()
    assert codes == [404, 404, 404]
    assert after - before == 3


# --- behind a reverse proxy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted_proxies", "forwarded_for_believed"),
    [("", False), ("192.0.2.1, 198.51.100.0/24", False), ("10.0.0.1,127.0.0.0/8", True)],
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    stack: StackUnderTest, trusted_proxies: str, forwarded_for_believed: bool
) -> None:
    """Each request claims another address: believed, each is a client of its own; not believed,
    they are all the one connection they came on."""
    codes = lookups_forwarded_for(stack, trusted_proxies, [f"203.0.113.{n}" for n in range(3)])
    assert codes == ([404, 404, 404] if forwarded_for_believed else [404, 404, 429])


def lookups_forwarded_for(
    stack: StackUnderTest, trusted_proxies: str, addresses: list[str]
) -> list[int]:
    """Session look-ups (2 allowed per address) through a proxy saying each comes from one of
    `addresses`: the statuses."""
    settings = stack.settings.with_changes(
        rate_limit_lookups_per_ip="2/600", trusted_proxies=trusted_proxies
    )
    server, services = start_api(settings)
    try:
        for key in services.redis.scan_iter("hotspot:ratelimit:lookups-ip:*"):
            services.redis.delete(key)
        return [
            requests.get(
                f"{server.url}/api/hotspot/session",
                params={"username": "nobody"},
                headers={"X-Forwarded-For": address},
                timeout=5,
            ).status_code
            for address in addresses
        ]
    finally:
        server.stop()
        services.close()


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
        f"{api.url}/api/sms/delivery-report/{api.settings.sms_delivery_report_token}",
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
    for _ in range(8):  # the per-IP ceiling of both (limited_api)
        requests.post(
            url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
        )
    huge = requests.post(url, json={"code": "z" * TOO_BIG}, timeout=10)
    malformed = requests.post(
        url, data=b"\xff{", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert [huge.status_code, malformed.status_code] == [429, 429]
    assert "too many attempts" in huge.json()["error"]


@pytest.mark.parametrize(
    ("addresses", "codes"),
    [
        (["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"], [404, 404, 429]),
        (["2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:4::1"], [404, 404, 404]),
    ],
    ids=["one /64", "three /64s"],
)
def test_an_ipv6_client_is_counted_by_its_64(
    stack: StackUnderTest, addresses: list[str], codes: list[int]
) -> None:
    """Rotating addresses within the /64 a subscriber is given buys no more attempts."""
    assert lookups_forwarded_for(stack, "127.0.0.0/8", addresses) == codes
