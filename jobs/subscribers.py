"""PPPoE subscribers: blocked at their cut-off, reconnected when a payment moves it.

Both are Disconnect-Requests: a blocked subscriber's PPP client redials and FreeRADIUS rejects
it (radcheck Expiration); a paid one's redials into what FreeRADIUS answers now (its new
Session-Timeout, the plan's speed). Safe to run twice: each reads the state when it runs.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hotspot.access.subscribers import REDIAL_REASON, overdue
from hotspot.access.termination import open_sessions
from hotspot.adapters.db import transaction
from hotspot.models import Subscriber
from jobs import services
from jobs.expiry import disconnect_all
from jobs.notify import send_notices


def block_overdue() -> str:
    """Every subscriber past its cut-off: blocked, and its sessions disconnected."""
    s = services()
    zone = zoneinfo.ZoneInfo(s.settings.timezone)
    with transaction(s.sessions) as session:
        names = [each.username for each in overdue(session, dt.datetime.now(dt.UTC), zone)]
    for name in names:
        disconnect_login(name, "overdue")
    return f"{len(names)} blocked"


def redial(subscriber_id: int) -> str:
    """After a payment moved the cut-off: its sessions end, the PPP client dials again."""
    s = services()
    with s.sessions() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return "no such subscriber"
        name = subscriber.username
    outcomes = disconnect_login(name, REDIAL_REASON)
    if "failed" in outcomes:
        send_notices("reconnect_failed", subscriber_id)
    return f"{len(outcomes)} sessions disconnected"


def disconnect_login(username: str, reason: str) -> list[str]:
    """Each open session's outcome (retries of a NAK or timeout are scheduled by the sender)."""
    with services().sessions() as session:
        found = open_sessions(session, username)
    return disconnect_all(found, reason)
