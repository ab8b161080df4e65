"""Expiry to the second, and Disconnect-Requests with retries.

A job is scheduled at each user's `expires_at`; a sweep every 30 s catches whatever was missed
(scheduler down, Redis flushed). Both end in the same place, and are safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from hotspot.access.subscribers import REDIAL_REASON, subscriber_id_of
from hotspot.access.termination import (
    OpenSession,
    cap_users,
    open_session_by_id,
    open_sessions,
    open_sessions_of,
    user_by_name,
    usernames_of,
)
from hotspot.access.termination import expire_due as expire_due_sessions
from hotspot.adapters.db import transaction
from jobs import services
from jobs.dynauth import disconnect_kind, record_answers, send
from jobs.notify import send_notices


def expire_due(at: float | None = None) -> str:
    """Scheduled for every second in which some user's time ends, and run as the 30 s sweep
    that catches whatever was missed (scheduler down, Redis flushed); safe to run any number of
    times.

    rq's scheduler looks for due jobs once a second, so the job is scheduled a second early
    and waits here for the exact moment `at` (a Unix time): the cut lands on the second. The
    Disconnect-Requests leave at once; their answers are awaited and recorded by a thread of
    their own, so the worker is free for the next second's job even when a NAS is slow or down.
    That takes a worker that runs jobs in its own process, as `hotspot worker` does (a forked
    work horse would exit under the thread); the thread is not a daemon, so a worker told to
    stop finishes it first.
    """
    if at is not None:
        time.sleep(max(0.0, at - time.time()))
    s = services()
    with transaction(s.sessions) as session:
        found = expire_due_sessions(session, dt.datetime.now(dt.UTC))
    if found:
        threading.Thread(
            target=record_answers,
            args=(s, found, send(s, found)),
            kwargs={"reason": "expired", "attempt": 1, "kind": disconnect_kind(s)},
            name="expiry-answers",
            daemon=False,
        ).start()
    return f"{len(found)} session(s) being disconnected"


def disconnect_all(found: list[OpenSession], reason: str, attempt: int = 1) -> list[str]:
    """Disconnect-Requests for all sessions at once, their answers awaited and recorded;
    returns each session's outcome."""
    if not found:
        return []
    s = services()
    sent = send(s, found)
    return record_answers(s, found, sent, reason=reason, attempt=attempt, kind=disconnect_kind(s))


def enforce_data_caps(user_ids: list[int]) -> int:
    """Blocks each user at its data cap and disconnects its sessions, all in one batch; returns
    how many users."""
    if not user_ids:
        return 0
    with transaction(services().sessions) as session:
        found = cap_users(session, user_ids)
    disconnect_all(found, "data cap")
    return len(user_ids)


def disconnect_user(username: str, reason: str) -> int:
    """Every open session of the user (the admin's "disconnect now", data caps)."""
    s = services()
    with s.sessions() as session:
        found = open_sessions(session, user_by_name(session, username).username)
    disconnect_all(found, reason)
    return len(found)


def disconnect_session(acct_unique_id: str, reason: str, attempt: int) -> str:
    """A retry: the session may have ended meanwhile, then there is nothing to do."""
    s = services()
    with s.sessions() as session:
        found = open_session_by_id(session, acct_unique_id)
    if found is None:
        return "already closed"
    outcome = disconnect_all([found], reason, attempt)[0]
    if outcome == "failed" and reason == REDIAL_REASON:  # a paid subscriber left unreconnected
        with s.sessions() as session:
            subscriber_id = subscriber_id_of(session, found.username)
        if subscriber_id is not None:
            send_notices("reconnect_failed", subscriber_id)
    return outcome


def disconnect_sessions(acct_unique_ids: list[str], reason: str) -> int:
    """These sessions, those still open (a customer's logout)."""
    s = services()
    with s.sessions() as session:
        found = [open_session_by_id(session, each) for each in acct_unique_ids]
    open_ones = [each for each in found if each is not None]
    disconnect_all(open_ones, reason)
    return len(open_ones)


def disconnect_users(user_ids: list[int], reason: str) -> int:
    """Every open session of these accounts, which stay as they are (FreeRADIUS decides their
    next login)."""
    if not user_ids:
        return 0
    s = services()
    with s.sessions() as session:
        found = open_sessions_of(session, usernames_of(session, user_ids))
    disconnect_all(found, reason)
    return len(found)
