"""An alert event's webhook (hotspot.operators.alerts): signed, sent at most once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import requests

from hotspot.adapters.http_errors import never_sent
from hotspot.operators.alerts import claim_webhook, webhook_done, webhook_payload
from jobs import services

log = logging.getLogger(__name__)
TIMEOUT = (5, 15)  # connect, read
NOT_TAKEN = frozenset({429, 503})  # the receiver itself asks for later: safe to send again


class WebhookNotTakenError(Exception):
    """Not delivered and safe to send again: rq retries the job."""


def post_alert_webhook(event_id: int) -> str:
    s = services()
    url = s.settings.alert_webhook_url
    if not url:
        return "no webhook configured"
    with s.sessions.begin() as session:
        event = claim_webhook(session, event_id)
        payload = webhook_payload(event) if event is not None else None
    if payload is None:
        return "sent before, or not to be told"
    body = json.dumps(payload, sort_keys=True).encode()
    signature = hmac.new(s.settings.alert_webhook_secret.encode(), body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Hotspot-Event": str(event_id),
        "X-Hotspot-Signature": f"sha256={signature.hexdigest()}",
    }
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        return settle(event_id, None if never_sent(exc) else "unknown", type(exc).__name__)
    status = answer.status_code
    if 200 <= status < 300:
        return settle(event_id, "delivered", str(status))
    if status in NOT_TAKEN:
        return settle(event_id, None, str(status))
    # A gateway's 502/504 may come after the receiver acted on it: never sent again. A redirect
    # is not followed (it would send the signed body elsewhere, or turn the POST into a GET).
    return settle(event_id, "unknown" if status in (502, 504) else "failed", str(status))


def settle(event_id: int, outcome: str | None, why: str) -> str:
    with services().sessions.begin() as session:
        webhook_done(session, event_id, outcome)
    if outcome is None:
        raise WebhookNotTakenError(f"alert {event_id}'s webhook not taken ({why}); retried")
    if outcome != "delivered":
        log.warning("alert webhook %s: %s (%s)", event_id, outcome, why)
    return f"webhook {outcome} ({why})"
