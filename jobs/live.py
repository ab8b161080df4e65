"""CoA-Requests to the routers of sessions whose entitlement changed, with retries and the
Disconnect-Request they fall back to.

Each job reads the entitlement when it runs (`hotspot.access.live_sessions`), so running it
twice, late, or after a second change sends what is true now. ACK: recorded. NAK or no answer:
retried after `HOTSPOT_COA_RETRY_DELAYS`; after the last, a Disconnect-Request, and the
customer's next login gets the new entitlement from FreeRADIUS. A NAK 503 (the router has no
such session) closes it as stale, as for a disconnect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hotspot.access.live_sessions import (
    SessionChange,
    change_for_session,
    changes_for_package,
    changes_for_users,
)
from jobs import services
from jobs.dynauth import coa_kind, record_answers, send
from jobs.expiry import disconnect_all


def change_user_sessions(user_id: int, reason: str) -> str:
    """After a renewal or an operator's extension of one account."""
    s = services()
    with s.sessions() as session:
        found = changes_for_users(session, [user_id], dt.datetime.now(dt.UTC))
    return summary(change_all(found, reason))


def change_package_sessions(package_id: int, reason: str) -> str:
    """After an operator changed the package's speed or data limit: every session on it."""
    s = services()
    with s.sessions() as session:
        found = changes_for_package(session, package_id, dt.datetime.now(dt.UTC))
    return summary(change_all(found, reason))


def change_session(acct_unique_id: str, reason: str, attempt: int) -> str:
    """A retry, with the entitlement as it is now; nothing once the session ended."""
    s = services()
    with s.sessions() as session:
        found = change_for_session(session, acct_unique_id, dt.datetime.now(dt.UTC))
    if found is None:
        return "already closed"
    return change_all([found], reason, attempt)[0]


def change_all(found: Sequence[SessionChange], reason: str, attempt: int = 1) -> list[str]:
    """CoA-Requests for all sessions at once, answers awaited and recorded; the sessions whose
    last attempt failed are disconnected. Returns each session's outcome."""
    if not found:
        return []
    s = services()
    sessions = [each.session for each in found]
    sent = send(s, sessions, [each.changes for each in found])
    outcomes = record_answers(s, sessions, sent, reason=reason, attempt=attempt, kind=coa_kind(s))
    fallen = [
        each for each, outcome in zip(sessions, outcomes, strict=True) if outcome == "fallback"
    ]
    disconnect_all(fallen, f"{reason}: CoA failed")
    return outcomes


def summary(outcomes: list[str]) -> str:
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    return ", ".join(f"{count} {outcome}" for outcome, count in counts.items()) or "no sessions"
