"""Ending access: expiry, data caps, admin disconnects, and the record of every attempt (of
CoA-Requests too, `access.live_sessions`).

Open sessions are read from `radacct` itself (its partial index on open rows per user), not from
our synced copy, so a session that began a second ago is disconnected too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from hotspot.core.errors import NotFoundError
from hotspot.models import (
    HotspotUser,
    Nas,
    RadAcct,
    RadCheck,
    RadiusSession,
    SessionDisconnection,
    SessionStatus,
    UserStatus,
)

# A session we close because its NAS no longer has it (a NAK 503, or silence past the
# accounting sync's cutoff): the Acct-Terminate-Cause it gets in radacct and in our copy.
STALE_CAUSE = "Stale-Session"
# Outcomes of an attempt that end the session, and the Acct-Terminate-Cause we give it.
TERMINATE_CAUSES = {"disconnected": "Admin-Reset", "stale": STALE_CAUSE}
# Outcomes of a last attempt that the NAS did not take: recorded with the result "failed".
GAVE_UP = frozenset({"failed", "fallback"})


@dataclass(frozen=True)
class OpenSession:
    """An open radacct session and what a Disconnect-Request to its NAS needs (the RADIUS client,
    `radius.dynauth`, is the jobs' business: nothing here sends a packet)."""

    acct_unique_id: str
    nas_ip: str
    coa_port: int
    secret: str
    username: str
    acct_session_id: str | None
    framed_ip: str | None


@dataclass(frozen=True)
class AttemptResult:
    """A NAS's answer to one Disconnect-Request or CoA-Request, as the RADIUS client read it."""

    answer: str  # "ack", "nak" or "timeout": recorded as is
    error_cause: int | None
    session_gone: bool  # an ACK, or the NAK saying the NAS has no such session


def block_user(session: Session, user: HotspotUser, status: UserStatus) -> None:
    """From now FreeRADIUS rejects the user's logins (an explicit Auth-Type := Reject, which a
    renewal's rewrite of radcheck removes); the account stays so the customer can buy again."""
    user.status = status
    blocked = session.scalar(
        select(RadCheck.id).where(
            RadCheck.username == user.username, RadCheck.attribute == "Auth-Type"
        )
    )
    if blocked is None:
        session.add(
            RadCheck(username=user.username, attribute="Auth-Type", op=":=", value="Reject")
        )


def expire_due(session: Session, now: dt.datetime, limit: int = 5000) -> list[OpenSession]:
    """Every active user whose time is up, expired and blocked in a few set-based statements;
    returns their open sessions to disconnect.

    Deciding by `expires_at` at run time is what makes a renewal safe: a job scheduled for the
    old expiry finds nothing due. SKIP LOCKED lets several workers share a large second.
    """
    due = (
        select(HotspotUser.id)
        .where(HotspotUser.status == UserStatus.ACTIVE, HotspotUser.expires_at <= now)
        .order_by(HotspotUser.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    usernames = list(
        session.scalars(
            update(HotspotUser)
            .where(HotspotUser.id.in_(due.scalar_subquery()))
            .values(status=UserStatus.EXPIRED, updated_at=now)
            .returning(HotspotUser.username)
        )
    )
    if not usernames:
        return []
    session.execute(
        insert(RadCheck),
        [
            {"username": u, "attribute": "Auth-Type", "op": ":=", "value": "Reject"}
            for u in usernames
        ],
    )
    return open_sessions_of(session, usernames)


def cap_users(session: Session, user_ids: list[int]) -> list[OpenSession]:
    """Users at their data cap: blocked (status capped) and their open sessions to disconnect.
    For NASes that ignore Mikrotik-Total-Limit; the next purchase lifts the block. Locked in id
    order, so two syncs capping overlapping users cannot deadlock."""
    users = session.scalars(
        select(HotspotUser)
        .where(HotspotUser.id.in_(user_ids))
        .order_by(HotspotUser.id)
        .with_for_update()
    ).all()
    for user in users:
        if user.status is UserStatus.ACTIVE:
            block_user(session, user, UserStatus.CAPPED)
    return open_sessions_of(session, [user.username for user in users])


def open_sessions(session: Session, username: str) -> list[OpenSession]:
    return open_sessions_of(session, [username])


def open_sessions_of(session: Session, usernames: list[str]) -> list[OpenSession]:
    rows = session.execute(
        select(RadAcct, Nas)
        .join(Nas, Nas.nasname == func.host(RadAcct.nasipaddress))
        .where(RadAcct.username.in_(usernames), RadAcct.acctstoptime.is_(None))
    ).all()
    return [open_session(acct, nas) for acct, nas in rows]


def open_session_by_id(session: Session, acct_unique_id: str) -> OpenSession | None:
    row = session.execute(
        select(RadAcct, Nas)
        .join(Nas, Nas.nasname == func.host(RadAcct.nasipaddress))
        .where(RadAcct.acctuniqueid == acct_unique_id, RadAcct.acctstoptime.is_(None))
    ).first()
    return open_session(*row) if row is not None else None


def open_session(acct: RadAcct, nas: Nas) -> OpenSession:
    return OpenSession(
        acct_unique_id=acct.acctuniqueid,
        nas_ip=str(acct.nasipaddress),
        coa_port=nas.coa_port,
        secret=nas.secret,
        username=acct.username or "",
        acct_session_id=acct.acctsessionid,
        framed_ip=str(acct.framedipaddress) if acct.framedipaddress else None,
    )


def user_by_name(session: Session, username: str) -> HotspotUser:
    user = session.scalar(select(HotspotUser).where(HotspotUser.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def record_attempts(
    session: Session,
    attempts: Sequence[tuple[OpenSession, AttemptResult]],
    *,
    reason: str,
    attempt: int,
    final: bool,
    now: dt.datetime,
    request: str = "disconnect",
) -> list[str]:
    """One `session_disconnections` row per attempt, in a few set-based statements (a busy
    second has many); what each answer means for its session.

    ACK to a Disconnect-Request: the session is marked ended (the NAS's Accounting-Stop brings
    the final counters); to a CoA-Request (`request="coa"`): "changed". NAK 503: the NAS has no
    such session, so it is closed as stale on our side and in radacct. Anything else is retried
    by the caller; `final` marks the attempt after which it gives up ("failed"), or for a CoA
    falls back to a Disconnect-Request ("fallback"), so the customer logs in again to the new
    entitlement.
    """
    outcomes = [outcome_of(result, final, request) for _, result in attempts]
    ended: dict[str, list[str]] = {}
    for (found, _), outcome in zip(attempts, outcomes, strict=True):
        if outcome in TERMINATE_CAUSES:
            ended.setdefault(outcome, []).append(found.acct_unique_id)
    end_sessions(session, ended, now)
    session.execute(
        insert(SessionDisconnection),
        disconnection_rows(
            session, attempts, outcomes, reason=reason, attempt=attempt, request=request
        ),
    )
    return outcomes


def end_sessions(session: Session, ended: dict[str, list[str]], now: dt.datetime) -> None:
    """Closes the sessions (acct_unique_ids per outcome) an answer ended; stale ones in radacct
    too. Time and cause already recorded (the NAS's Stop came first) are kept."""
    if "stale" in ended:
        session.execute(
            update(RadAcct)
            .where(RadAcct.acctuniqueid.in_(ended["stale"]), RadAcct.acctstoptime.is_(None))
            .values(acctstoptime=now, acctterminatecause=STALE_CAUSE)
        )
    for outcome, acct_unique_ids in ended.items():
        session.execute(
            update(RadiusSession)
            .where(RadiusSession.acct_unique_id.in_(acct_unique_ids))
            .values(
                status=SessionStatus.CLOSED,
                stopped_at=func.coalesce(RadiusSession.stopped_at, now),
                terminate_cause=func.coalesce(
                    RadiusSession.terminate_cause, TERMINATE_CAUSES[outcome]
                ),
            )
        )


def disconnection_rows(
    session: Session,
    attempts: Sequence[tuple[OpenSession, AttemptResult]],
    outcomes: list[str],
    *,
    reason: str,
    attempt: int,
    request: str,
) -> list[dict[str, object]]:
    """The `session_disconnections` rows: each names our session of the attempt, or (not synced
    yet) at least its user."""
    ours = {
        str(acct_unique_id): (int(session_id), int(user_id))
        for acct_unique_id, session_id, user_id in session.execute(
            select(RadiusSession.acct_unique_id, RadiusSession.id, RadiusSession.user_id).where(
                RadiusSession.acct_unique_id.in_([found.acct_unique_id for found, _ in attempts])
            )
        )
    }
    users = user_ids(session, [f.username for f, _ in attempts if f.acct_unique_id not in ours])
    rows: list[dict[str, object]] = []
    for (found, result), outcome in zip(attempts, outcomes, strict=True):
        session_id, user_id = ours.get(found.acct_unique_id, (None, users.get(found.username)))
        rows.append(
            {
                "session_id": session_id,
                "user_id": user_id,
                "reason": reason,
                "request": request,
                "result": "failed" if outcome in GAVE_UP else result.answer,
                "error_cause": result.error_cause,
                "attempt": attempt,
                "nas_ip": found.nas_ip,
                "detail": f"{found.username} {found.acct_session_id or ''}".strip(),
            }
        )
    return rows


def outcome_of(result: AttemptResult, final: bool, request: str = "disconnect") -> str:
    if result.answer == "ack":
        return "changed" if request == "coa" else "disconnected"
    if result.session_gone:
        return "stale"
    if not final:
        return "retry"
    return "fallback" if request == "coa" else "failed"


def user_ids(session: Session, usernames: list[str]) -> dict[str, int]:
    """For sessions the accounting sync has not copied yet."""
    if not usernames:
        return {}
    rows = session.execute(
        select(HotspotUser.username, HotspotUser.id).where(HotspotUser.username.in_(usernames))
    )
    return {str(username): int(user_id) for username, user_id in rows}


def usernames_of(session: Session, user_ids: list[int]) -> list[str]:
    return list(session.scalars(select(HotspotUser.username).where(HotspotUser.id.in_(user_ids))))
