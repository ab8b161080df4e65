"""Rate limits on the public endpoints: 429 with Retry-After."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import Package
from hotspot.notify import connect
from hotspot.ratelimit import Limit, Limiter, unavailable_total
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
