"""Health, readiness, metrics and logs an operator can watch."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.health import check_freeradius
from hotspot.adapters.job_queues import QUEUES
from hotspot.adapters.redis_names import SCHEDULER_HEARTBEAT_KEY
from hotspot.core.logs import JsonFormatter
from hotspot.models import Nas
from tests.support.harness import ApiUnderTest, start_api
from tests.support.payments import package_id, pay, random_phone, wait_for_status
from tests.support.stack import StackUnderTest


def test_healthz_says_the_process_is_alive(api: ApiUnderTest) -> None:
    assert requests.get(f"{api.url}/healthz", timeout=5).json() == {"status": "ok"}


def test_readyz_names_what_is_not_ready(api: ApiUnderTest) -> None:
    api.services.redis.delete(SCHEDULER_HEARTBEAT_KEY)
    response = requests.get(f"{api.url}/readyz", timeout=10)
    body = response.json()
    assert body["checks"]["postgresql"]["ok"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["freeradius"]["ok"], body  # Status-Server answered
    assert response.status_code == 503
    assert "scheduler" in body["failing"]


def test_readyz_is_ready_when_every_part_answers(api: ApiUnderTest) -> None:
    api.services.redis.set(SCHEDULER_HEARTBEAT_KEY, str(time.time()))
    worker = SimpleWorker(list(QUEUES), connection=api.services.redis, name="readyz-test")
    worker.register_birth()  # type: ignore[no-untyped-call]
    worker.heartbeat()
    try:
        response = requests.get(f"{api.url}/readyz", timeout=10)
    finally:
        worker.register_death()  # type: ignore[no-untyped-call]
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ready"


def test_the_freeradius_probe_needs_no_router_only_the_status_secret(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """Status-Server goes to the status listener with its own secret, so the API may run on
    another host than FreeRADIUS and needs no nas row."""
    settings = stack.settings
    with committed() as session:
        router_secrets = set(session.scalars(select(Nas.secret)))
    assert settings.radius_status_secret not in router_secrets
    assert check_freeradius(settings).ok

    wrong = check_freeradius(settings.with_changes(radius_status_secret="not-the-secret"))
    assert not wrong.ok
    port = settings.radius_status_port
    assert wrong.detail == f"no answer to Status-Server on {settings.radius_listen_address}:{port}"
    nowhere = check_freeradius(settings.with_changes(radius_status_host="no-such-host.invalid"))
    assert not nowhere.ok
    assert nowhere.detail.startswith(f"cannot probe no-such-host.invalid:{port}")


def test_readyz_reports_redis_down(stack: StackUnderTest) -> None:
    server, services = start_api(stack.settings.with_changes(redis_url="redis://127.0.0.1:1/0"))
    try:
        response = requests.get(f"{server.url}/readyz", timeout=10)
    finally:
        server.stop()
        services.close()
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]


def test_metrics_speak_prometheus(api: ApiUnderTest, committed: sessionmaker[Session]) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    text = requests.get(f"{api.url}/metrics", timeout=10).text
    assert 'hotspot_payments{status="paid"}' in text
    assert "hotspot_provisioning_latency_seconds_count" in text
    assert "hotspot_queue_depth" in text
    assert "hotspot_accounting_sync_lag_seconds" in text
    assert "# TYPE hotspot_coa_attempts gauge" in text
    count = next(
        line
        for line in text.splitlines()
        if line.startswith("hotspot_provisioning_latency_seconds_count")
    )
    assert int(count.split()[-1]) >= 1


def test_every_response_carries_a_request_id(api: ApiUnderTest) -> None:
    mine = requests.get(f"{api.url}/healthz", headers={"X-Request-Id": "abc123"}, timeout=5)
    assert mine.headers["X-Request-Id"] == "abc123"
    fresh = requests.get(f"{api.url}/healthz", timeout=5)
    assert len(fresh.headers["X-Request-Id"]) == 32


def test_request_logs_are_json_without_the_callback_token(
    api: ApiUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hotspot.request"):
        requests.post(api.callback_url, data=b"{}", timeout=5)
    [record] = [r for r in caplog.records if r.name == "hotspot.request"]
    line = json.loads(JsonFormatter().format(record))
    token = api.services.callback_tokens.current()
    assert line["path"] == "/api/callbacks/stk/***"
    assert line["status"] == 400
    assert token not in json.dumps(line)
    assert line["request_id"]


def test_request_logs_hide_the_delivery_report_token(
    api: ApiUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.settings.sms_delivery_report_token
    with caplog.at_level(logging.INFO, logger="hotspot.request"):
        requests.post(f"{api.url}/api/sms/delivery-report/{token}", data={}, timeout=5)
    [record] = [r for r in caplog.records if r.name == "hotspot.request"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["path"], line["status"]) == ("/api/sms/delivery-report/***", 400)
    assert token not in json.dumps(line)
