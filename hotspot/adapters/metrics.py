"""Prometheus metrics. Counts come from the database at scrape time (the truth, whichever API
process answers); the provisioning-latency histogram is kept in Redis, shared by all processes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import cast

import redis
from redis.client import Pipeline
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotspot.adapters.health import Check, count_by
from hotspot.adapters.job_queues import JobQueues, queue_counts
from hotspot.adapters.ratelimit import unavailable_total
from hotspot.adapters.sms import UNKNOWN
from hotspot.models import (
    Payment,
    RadAcct,
    SessionDisconnection,
    SmsMessage,
    SmsStatus,
    SyncWatermark,
)

LATENCY_KEY = "hotspot:metrics:provisioning_latency"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DISCONNECT_REQUESTS = SessionDisconnection.request == "disconnect"  # the rest are CoA-Requests


def observe_provisioning(pipe: Pipeline, seconds: float) -> None:
    """One provisioning's latency (callback received → committed), added to the caller's batch.

    Only the narrowest bucket is counted (two commands per callback); the scrape adds them up
    into Prometheus's cumulative buckets."""
    bucket = next((f"le:{bound}" for bound in BUCKETS if seconds <= bound), "le:+Inf")
    pipe.hincrby(LATENCY_KEY, bucket, 1)
    pipe.hincrbyfloat(LATENCY_KEY, "sum", seconds)


def render(session: Session, client: redis.Redis, counters: Path) -> str:
    lines: list[str] = []
    gauge(
        lines,
        "hotspot_payments",
        "Payments by status.",
        "status",
        count_by(session, Payment.status),
    )
    gauge(
        lines,
        "hotspot_sms_messages",
        "SMS messages by status.",
        "status",
        count_by(session, SmsMessage.status),
    )
    gauge(
        lines,
        "hotspot_disconnect_attempts",
        "Disconnect-Request attempts by result.",
        "result",
        count_by(
            session, SessionDisconnection.result, SessionDisconnection.request == "disconnect"
        ),
    )
    gauge(
        lines,
        "hotspot_coa_attempts",
        "CoA-Request attempts by result.",
        "result",
        count_by(session, SessionDisconnection.result, ~DISCONNECT_REQUESTS),
    )
    lines += sms_outcome_unknown(session)
    lines += queue_gauges(client)
    lines += sync_lag(session)
    lines += latency_histogram(client)
    lines += rate_limit_unavailable(counters)
    return "\n".join(lines) + "\n"


def gauge(
    lines: list[str], name: str, help_text: str, label: str, values: Mapping[str, float]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(values.items())]


def sync_lag(session: Session) -> list[str]:
    """How far the accounting sync is behind: seconds since it last ran, rows not yet read."""
    mark = session.get(SyncWatermark, "radacct")
    newest = session.scalar(select(func.max(RadAcct.sync_seq))) or 0
    seconds = time.time() - mark.updated_at.timestamp() if mark is not None else float("nan")
    behind = newest - (mark.position if mark is not None else 0)
    return [
        "# HELP hotspot_accounting_sync_lag_seconds Seconds since the accounting sync last ran.",
        "# TYPE hotspot_accounting_sync_lag_seconds gauge",
        f"hotspot_accounting_sync_lag_seconds {seconds:.3f}",
        "# HELP hotspot_accounting_sync_rows_behind radacct changes not yet synced.",
        "# TYPE hotspot_accounting_sync_rows_behind gauge",
        f"hotspot_accounting_sync_rows_behind {max(behind, 0)}",
    ]


QUEUE_GAUGES = (
    ("hotspot_queue_depth", "Jobs waiting in each rq queue.", "queued"),
    ("hotspot_queue_scheduled_jobs", "Jobs due later (delays, retries) per queue.", "scheduled"),
    ("hotspot_queue_started_jobs", "Jobs running now per queue.", "started"),
    ("hotspot_queue_failed_jobs", "Jobs failed after all retries, kept per queue.", "failed"),
    (
        "hotspot_queue_oldest_job_age_seconds",
        "How long the next job of each queue has waited.",
        "oldest_queued_seconds",
    ),
)


def queue_gauges(client: redis.Redis) -> list[str]:
    """Nothing when Redis does not answer: the scrape goes on with the database's numbers."""
    try:
        counts = queue_counts(JobQueues(client))
    except redis.RedisError:
        return []
    lines: list[str] = []
    for name, help_text, field in QUEUE_GAUGES:
        gauge(lines, name, help_text, "queue", {each.name: getattr(each, field) for each in counts})
    return lines


def sms_outcome_unknown(session: Session) -> list[str]:
    """Messages Africa's Talking may or may not have sent: never resent, for an operator."""
    unknown = session.scalar(
        select(func.count())
        .select_from(SmsMessage)
        .where(
            SmsMessage.status == SmsStatus.CLAIMED,
            SmsMessage.error.is_not(None),
            SmsMessage.error.startswith(UNKNOWN),
        )
    )
    name = "hotspot_sms_outcome_unknown"
    return [
        f"# HELP {name} SMS whose sending may or may not have happened (never resent).",
        f"# TYPE {name} gauge",
        f"{name} {unknown or 0}",
    ]


def readiness_gauge(checks: Iterable[Check]) -> list[str]:
    """/readyz's checks as 1 (ok) or 0, one series per part."""
    lines: list[str] = []
    values = {check.name: int(check.ok) for check in checks}
    gauge(lines, "hotspot_ready", "Each part /readyz checks: 1 when it answers.", "check", values)
    return lines


def rate_limit_unavailable(counters: Path) -> list[str]:
    name = "hotspot_rate_limit_unavailable_total"
    return [
        f"# HELP {name} Requests let through without rate limits because Redis was unavailable.",
        f"# TYPE {name} counter",
        f"{name} {unavailable_total(counters)}",
    ]


def latency_histogram(client: redis.Redis) -> Iterable[str]:
    try:
        raw = cast(dict[bytes, bytes], client.hgetall(LATENCY_KEY))
    except redis.RedisError:
        return []
    data = {key.decode(): value.decode() for key, value in raw.items()}
    name = "hotspot_provisioning_latency_seconds"
    lines = [
        f"# HELP {name} From M-Pesa's callback to the committed provisioning.",
        f"# TYPE {name} histogram",
    ]
    count = 0
    for bound in (*BUCKETS, "+Inf"):
        count += int(data.get(f"le:{bound}", "0"))
        lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    lines += [f"{name}_sum {float(data.get('sum', '0')):.6f}", f"{name}_count {count}"]
    return lines
