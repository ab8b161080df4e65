"""Alerts Prometheus sends us as to an Alertmanager (`/api/alerts/api/v2/alerts`): each event
told once by SMS to the platform's phones and once to the webhook, however often it is resent,
within an hourly limit; the endpoint takes only its token and refuses bad input with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, request
from rq.job import Job
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.job_queues import REPORTS
from hotspot.dev.stack import free_port
from hotspot.models import AlertEvent
from jobs.alerts import WebhookNotTakenError, post_alert_webhook
from jobs.notify import send_notices
from tests.support.harness import ApiUnderTest, ServerThread, SmsSandboxUnderTest, start_api
from tests.support.jobs import failed_job, jobs_reading
from tests.support.paths import ROOT
from tests.support.sms import sms_job_environ
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for

TOKEN = "prometheus-" + secrets.token_hex(8)
WEBHOOK_SECRET = "webhook-" + secrets.token_hex(8)
PLATFORM_PHONE = "+254799000002"
LIMIT = 3


@dataclass
class WebhookReceiver:
    """An operator's webhook endpoint: what it got, and the statuses it answers with."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # then 200


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Flask("webhook-receiver")

    @app.post("/hooks/alerts")
    def hook() -> Any:
        receiver.received.append((dict(request.headers), request.get_data()))
        return "", receiver.answers.pop(0) if receiver.answers else 200

    server = ServerThread(app)
    receiver.url = f"{server.url}/hooks/alerts"
    yield receiver
    server.stop()


@pytest.fixture(scope="module")
def alerting(stack: StackUnderTest, webhook: WebhookReceiver) -> Iterator[ApiUnderTest]:
    settings = stack.settings.with_changes(
        alert_receiver_token=TOKEN,
        alert_webhook_url=webhook.url,
        alert_webhook_secret=WEBHOOK_SECRET,
        alert_max_per_hour=LIMIT,
    )
    server, services = start_api(settings)
    yield ApiUnderTest(server.url, services)
    server.stop()
    services.close()


@pytest.fixture
def jobs_env(
    stack: StackUnderTest,
    at: SmsSandboxUnderTest,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    environ = {
        **sms_job_environ(stack, at),
        "HOTSPOT_PLATFORM_PHONES": PLATFORM_PHONE,
        "HOTSPOT_ALERT_WEBHOOK_URL": webhook.url,
        "HOTSPOT_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    with jobs_reading(monkeypatch, environ):
        yield


@pytest.fixture(autouse=True)
def fresh_hour(committed: sessionmaker[Session]) -> None:
    """Each test starts with the hour's limit unused."""
    with committed.begin() as session:
        for event in session.scalars(select(AlertEvent).where(AlertEvent.notify)):
            event.created_at = event.created_at - dt.timedelta(hours=2)


def alert(name: str, starts: dt.datetime, ends: dt.datetime, **labels: str) -> dict[str, Any]:
    """As Prometheus sends one: a firing alert's endsAt is a little in the future."""
    return {
        "labels": {"alertname": name, "severity": "page", **labels},
        "annotations": {"summary": f"{name} summary", "description": "long words"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": ends.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }


def post(api: ApiUnderTest, body: Any, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{api.url}/api/alerts/api/v2/alerts", json=body, headers=headers, timeout=10
    )


def events(committed: sessionmaker[Session], name: str) -> list[AlertEvent]:
    with committed() as session:
        return list(
            session.scalars(
                select(AlertEvent).where(AlertEvent.alertname == name).order_by(AlertEvent.id)
            )
        )


def texts(at: SmsSandboxUnderTest) -> list[str]:
    return [m["message"] for m in at.messages() if PLATFORM_PHONE in m["to"]]


def test_an_alert_resent_every_minute_is_told_once_by_sms_and_once_by_webhook(
    alerting: ApiUnderTest,
    committed: sessionmaker[Session],
    at: SmsSandboxUnderTest,
    webhook: WebhookReceiver,
    jobs_env: None,
) -> None:
    name = f"TestDown{secrets.token_hex(3)}"
    now = dt.datetime.now(dt.UTC)
    for minute in range(3):  # fired, then resent twice
        sent = alert(name, now, now + dt.timedelta(minutes=4 + minute), check="freeradius")
        assert post(alerting, [sent]).status_code == 200
    [event] = events(committed, name)
    assert (event.notify, event.ends_at, event.labels["check"]) == (True, None, "freeradius")
    for job_id in (f"notify-alert-{event.id}", f"alert-webhook-{event.id}"):
        assert Job.exists(job_id, connection=alerting.services.redis)

    before = len(webhook.received)
    for _ in range(2):  # a job run twice (a retry, a second worker)
        send_notices("alert", event.id)
        post_alert_webhook(event.id)
    assert texts(at) == [f"ALERT {name} (page): {name} summary"]
    [(headers, body)] = webhook.received[before:]
    assert json.loads(body)["event_id"] == event.id
    assert headers["X-Hotspot-Event"] == str(event.id)
    expected = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hotspot-Signature"] == f"sha256={expected}"
    assert events(committed, name)[0].webhook == "delivered"

    resolved = alert(name, now, now + dt.timedelta(minutes=5), check="freeradius")
    resolved["endsAt"] = dt.datetime.now(dt.UTC).isoformat()  # it has ended
    assert post(alerting, [resolved]).status_code == 200
    assert events(committed, name)[0].ends_at is not None
    again = now + dt.timedelta(minutes=30)  # it fires again: a new event, told again
    assert post(alerting, [alert(name, again, again + dt.timedelta(minutes=4))]).status_code == 200
    assert [e.notify for e in events(committed, name)] == [True, True]


def one_event(
    alerting: ApiUnderTest, committed: sessionmaker[Session], prefix: str
) -> tuple[str, AlertEvent]:
    """A new alert posted as Prometheus fires it, and the one event recorded for it."""
    name = f"{prefix}{secrets.token_hex(3)}"
    now = dt.datetime.now(dt.UTC)
    assert post(alerting, [alert(name, now, now + dt.timedelta(minutes=4))]).status_code == 200
    [event] = events(committed, name)
    return name, event


def test_a_webhook_the_receiver_does_not_take_is_retried_until_it_does(
    alerting: ApiUnderTest,
    committed: sessionmaker[Session],
    webhook: WebhookReceiver,
    jobs_env: None,
) -> None:
    name, event = one_event(alerting, committed, "TestBusy")
    webhook.answers[:] = [503]
    before = len(webhook.received)
    with pytest.raises(WebhookNotTakenError):
        post_alert_webhook(event.id)
    assert events(committed, name)[0].webhook is None  # free to be sent again
    assert post_alert_webhook(event.id) == "webhook delivered (200)"
    assert post_alert_webhook(event.id) == "sent before, or not to be told"
    assert len(webhook.received) - before == 2


@pytest.mark.parametrize(
    ("status", "outcome"), [(502, "unknown"), (504, "unknown"), (302, "failed")]
)
@pytest.mark.usefixtures("jobs_env")
def test_a_webhook_that_may_have_arrived_or_was_redirected_is_never_sent_again(
    alerting: ApiUnderTest,
    committed: sessionmaker[Session],
    webhook: WebhookReceiver,
    status: int,
    outcome: str,
) -> None:
    """A gateway's 502/504 may follow a receiver that acted; a redirect is not followed."""
    name, event = one_event(alerting, committed, "TestGateway")
    webhook.answers[:] = [status]
    before = len(webhook.received)
    assert post_alert_webhook(event.id) == f"webhook {outcome} ({status})"
    assert post_alert_webhook(event.id) == "sent before, or not to be told"
    assert len(webhook.received) - before == 1
    assert events(committed, name)[0].webhook == outcome


def test_beyond_the_hourly_limit_events_are_recorded_but_told_to_nobody(
    alerting: ApiUnderTest,
    committed: sessionmaker[Session],
    at: SmsSandboxUnderTest,
    jobs_env: None,
) -> None:
    tag = secrets.token_hex(3)
    now = dt.datetime.now(dt.UTC)
    flood = [
        alert(f"TestFlood{tag}", now, now + dt.timedelta(minutes=4), n=str(n)) for n in range(5)
    ]
    assert post(alerting, flood).status_code == 200
    recorded = events(committed, f"TestFlood{tag}")
    assert len(recorded) == 5
    assert sum(e.notify for e in recorded) == LIMIT
    for event in recorded:
        send_notices("alert", event.id)
    assert len([t for t in texts(at) if f"TestFlood{tag}" in t]) == LIMIT


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"labels": {}}, "a JSON list"),
        ([{"labels": {"severity": "page"}, "startsAt": "2026-12-05T10:00:00Z"}], "alertname"),
        ([{"labels": {"alertname": "X"}}], "startsAt"),
        ([{"labels": {"alertname": "X"}, "startsAt": "yesterday"}], "ISO 8601"),
        ([{"labels": {"alertname": 7}, "startsAt": "2026-12-05T10:00:00Z"}], "labels"),
        ([{"labels": {"alertname": "X" * 5000}, "startsAt": "2026-12-05T10:00:00Z"}], "labels"),
        ("not json at all", "a JSON list"),
        # Stored as BC or as year 10000, then unreadable: refused.
        ([{"labels": {"alertname": "X"}, "startsAt": "0001-01-01T00:00:00+05:00"}], "between"),
        ([{"labels": {"alertname": "X"}, "startsAt": "9999-12-31T23:59:59-05:00"}], "between"),
    ],
)
def test_bad_alerts_are_refused_with_a_reason(
    alerting: ApiUnderTest, body: Any, reason: str
) -> None:
    answer = post(alerting, body)
    assert answer.status_code == 422
    assert reason in answer.json()["error"]


def test_only_prometheus_token_is_taken_and_the_endpoint_is_off_without_one(
    alerting: ApiUnderTest, api: ApiUnderTest
) -> None:
    now = dt.datetime.now(dt.UTC)
    body = [alert("TestIntruder", now, now + dt.timedelta(minutes=4))]
    assert post(alerting, body, token=None).status_code == 401
    assert post(alerting, body, token=TOKEN + "x").status_code == 401
    assert post(api, body).status_code == 404  # HOTSPOT_ALERT_RECEIVER_TOKEN empty: off


def test_a_real_prometheus_with_our_rules_scrapes_us_and_its_alert_reaches_us(
    alerting: ApiUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    """docker/prometheus-start, the compose service's own script, with Debian's Prometheus: a
    job failing in the reports queue fires HotspotJobsFailing, sent to us as to an
    Alertmanager."""
    assert shutil.which("prometheus"), "Prometheus is missing: `make test` installs Debian's"
    port = free_port()
    environ = {
        **os.environ,
        "ALERT_RECEIVER_TOKEN": TOKEN,
        "API_ADDRESS": alerting.url.removeprefix("http://"),
        "SCRAPE_INTERVAL": "1s",
        "RULES": str(ROOT / "docker" / "prometheus" / "alerts.yml"),
        "DATA": str(tmp_path / "data"),
        "LISTEN": f"127.0.0.1:{port}",
    }
    started = dt.datetime.now(dt.UTC)
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "docker" / "prometheus-start")], env=environ, stdout=log, stderr=log
        )
    api = f"http://127.0.0.1:{port}/api/v1"
    job_id = f"test-prometheus-{secrets.token_hex(4)}"
    try:
        assert wait_for(lambda: scraped_up(api), 30), (tmp_path / "prometheus.log").read_text()
        rules = requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"][0]["rules"]
        assert len(rules) == 10
        assert {rule["health"] for rule in rules} == {"ok"}
        failed_job(alerting.services.redis, REPORTS, "jobs.reports.gone", job_id)

        def fired() -> list[AlertEvent]:
            return [
                e for e in events(committed, "HotspotJobsFailing")
                if e.labels.get("queue") == REPORTS and e.created_at >= started
            ]  # fmt: skip

        assert wait_for(fired, 30), (tmp_path / "prometheus.log").read_text()[-3000:]
        [event] = fired()
        assert event.summary == "jobs failed in the reports queue"
        assert event.severity == "ticket"
    finally:
        process.terminate()
        process.wait(15)
        leftover = Job.fetch_many([job_id], connection=alerting.services.redis)[0]
        if leftover is not None:
            leftover.delete()


def scraped_up(api: str) -> bool:
    try:
        targets = requests.get(f"{api}/targets", timeout=2).json()["data"]["activeTargets"]
    except (requests.RequestException, ValueError, KeyError):
        return False
    return bool(targets) and all(t["health"] == "up" for t in targets)
