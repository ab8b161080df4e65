"""Work that lived only in Redis, recovered from the database (see hotspot/billing/recovery.py)."""

from __future__ import annotations

import logging

from hotspot.billing.recovery import recover_lost_work as recover
from jobs import services

log = logging.getLogger(__name__)


def recover_lost_work() -> str:
    s = services()
    recovered = recover(s.settings, s.sessions, s.notifier, s.gateway_for)
    if recovered:
        log.info(
            "recovered work lost from Redis: %s",
            recovered,
            extra={"fields": {"event": "lost_work_recovered", **recovered.fields()}},
        )
    return str(recovered)
