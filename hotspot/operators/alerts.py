"""Alerts Prometheus raised (docker/prometheus/alerts.yml), received the way an Alertmanager
receives them, and told to people once per event.

Prometheus posts its firing alerts to `…/api/v2/alerts` again every minute, and each once more
when it resolves. An *event* is one alert (its labels) from the time it fired (`startsAt`): the
first post of an event records it; every later one only notes when it ended. Within the hourly
limit (HOTSPOT_ALERT_MAX_PER_HOUR) an event is told to the platform's phones by SMS (the
notification `alert`) and to HOTSPOT_ALERT_WEBHOOK_URL, each at most once; beyond it the event
is recorded and told to nobody, so a flapping alert cannot flood anyone's phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hotspot.core.errors import InvalidInputError
from hotspot.core.parsing import parse_time
from hotspot.models import AlertEvent

MAX_ALERTS = 500  # in one post
MAX_TEXT = 1000  # characters of a label value or a summary
EARLIEST_YEAR, LATEST_YEAR = 2000, 2199
RATE_LOCK = 0x48_53_41_4C  # pg_advisory_xact_lock key: one count of the hour at a time


@dataclass(frozen=True)
class ReceivedAlert:
    labels: dict[str, str]
    summary: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.labels, sort_keys=True).encode()).hexdigest()

    def firing(self, now: dt.datetime) -> bool:
        return self.ends_at is None or self.ends_at > now


def parse_alerts(body: Any) -> list[ReceivedAlert]:
    """Alertmanager's API v2 body: a list of {labels, annotations, startsAt, endsAt?}."""
    if not isinstance(body, list) or len(body) > MAX_ALERTS:
        raise InvalidInputError(f"expected a JSON list of at most {MAX_ALERTS} alerts")
    return [parse_alert(each) for each in body]


def parse_alert(raw: Any) -> ReceivedAlert:
    if not isinstance(raw, dict):
        raise InvalidInputError("each alert is an object")
    labels = text_map(raw.get("labels"), "labels")
    if not labels.get("alertname"):
        raise InvalidInputError("an alert needs the label alertname")
    annotations = text_map(raw.get("annotations") or {}, "annotations")
    if not isinstance(raw.get("startsAt"), str):
        raise InvalidInputError("an alert needs startsAt (when it fired)")
    ends = raw.get("endsAt")
    return ReceivedAlert(
        labels=labels,
        summary=annotations.get("summary") or labels["alertname"],
        starts_at=alert_time(raw["startsAt"], "startsAt"),
        ends_at=alert_time(ends, "endsAt") if isinstance(ends, str) and ends else None,
    )


def alert_time(raw: str, name: str) -> dt.datetime:
    """In UTC, within this century and the next: PostgreSQL would store a year 1 or 9999 given
    with an offset (as BC or year 10000) and then fail to read it back."""
    when = parse_time(raw, name)
    try:
        utc = when.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise InvalidInputError(f"{name} must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return utc


def text_map(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_TEXT for k, v in value.items()
    ):
        raise InvalidInputError(f"{name}: an object of texts of at most {MAX_TEXT} characters")
    return dict(value)


def receive_alerts(
    session: Session, alerts: list[ReceivedAlert], now: dt.datetime, max_per_hour: int
) -> list[int]:
    """Records what is new, notes what ended; the ids of the firing events to be told of
    (new or not: telling is idempotent, so work lost with Redis is found again here)."""
    for alert in alerts:
        record(session, alert, now, max_per_hour)
    fingerprints = {a.fingerprint: a.starts_at for a in alerts if a.firing(now)}
    if not fingerprints:
        return []
    found = session.execute(
        select(AlertEvent.id, AlertEvent.fingerprint, AlertEvent.starts_at).where(
            AlertEvent.fingerprint.in_(fingerprints), AlertEvent.notify
        )
    )
    return sorted(i for i, f, starts in found if fingerprints.get(f) == starts)


def record(session: Session, alert: ReceivedAlert, now: dt.datetime, max_per_hour: int) -> None:
    firing = alert.firing(now)
    inserted = session.scalar(
        insert(AlertEvent)
        .values(
            fingerprint=alert.fingerprint,
            alertname=alert.labels["alertname"],
            severity=alert.labels.get("severity"),
            labels=alert.labels,
            summary=alert.summary[:MAX_TEXT],
            starts_at=alert.starts_at,
            ends_at=None if firing else alert.ends_at,
        )
        .on_conflict_do_nothing(index_elements=["fingerprint", "starts_at"])
        .returning(AlertEvent.id)
    )
    if inserted is not None and firing and within_limit(session, now, max_per_hour):
        session.execute(update(AlertEvent).where(AlertEvent.id == inserted).values(notify=True))
    if not firing:
        session.execute(
            update(AlertEvent)
            .where(
                AlertEvent.fingerprint == alert.fingerprint,
                AlertEvent.starts_at == alert.starts_at,
                AlertEvent.ends_at.is_(None),
            )
            .values(ends_at=alert.ends_at)
        )


def within_limit(session: Session, now: dt.datetime, max_per_hour: int) -> bool:
    """Counted under a lock, so two Prometheus servers posting at once stay within it."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RATE_LOCK})
    told = session.scalar(
        select(func.count()).where(
            AlertEvent.notify, AlertEvent.created_at > now - dt.timedelta(hours=1)
        )
    )
    return (told or 0) < max_per_hour


# --- the webhook: at most once an event --------------------------------------------------------


def claim_webhook(session: Session, event_id: int) -> AlertEvent | None:
    """The event, now claimed for its one webhook; None when it was claimed before (or is not
    to be told)."""
    return session.scalar(
        update(AlertEvent)
        .where(AlertEvent.id == event_id, AlertEvent.notify, AlertEvent.webhook.is_(None))
        .values(webhook="claimed")
        .returning(AlertEvent)
    )


def webhook_done(session: Session, event_id: int, outcome: str | None) -> None:
    """`delivered`, `failed` (refused), `unknown` (may have arrived: never sent again), or None:
    not sent, free to be claimed again."""
    session.execute(update(AlertEvent).where(AlertEvent.id == event_id).values(webhook=outcome))


def webhook_payload(event: AlertEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "alertname": event.alertname,
        "severity": event.severity,
        "summary": event.summary,
        "labels": event.labels,
        "starts_at": event.starts_at.isoformat(),
    }
