"""`POST /api/alerts/api/v2/alerts`: where Prometheus sends its alerts, as to an Alertmanager
(its `alerting.alertmanagers` entry with `path_prefix: /api/alerts` and the bearer token
HOTSPOT_ALERT_RECEIVER_TOKEN). Off while that token is empty."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import Blueprint, abort, jsonify, request

from hotspot.billing.notify import alert_webhook_job, notice_job
from hotspot.operators.alerts import parse_alerts, receive_alerts
from hotspot.web import services, sessions, settings
from hotspot.web.auth import bearer_token, unauthorized

alerts = Blueprint("alerts", __name__)


@alerts.post("/api/alerts/api/v2/alerts")
def receive() -> Any:
    expected = settings().alert_receiver_token
    if not expected:
        abort(404)
    given = bearer_token() or ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return unauthorized("unknown token", 'Bearer realm="alerts"')
    received = parse_alerts(request.get_json(silent=True))
    with sessions().begin() as session:
        told = receive_alerts(
            session, received, dt.datetime.now(dt.UTC), settings().alert_max_per_hour
        )
    jobs = [notice_job("alert", event_id) for event_id in told]
    if settings().alert_webhook_url:
        jobs += [alert_webhook_job(event_id) for event_id in told]
    services().notifier.enqueue_missing("enqueue alert notices", jobs)
    return jsonify({}), 200
