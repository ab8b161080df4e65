"""What an operator reads of sessions: the open ones as FreeRADIUS sees them, and our history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.models import HotspotUser, RadAcct, RadiusSession, SessionStatus
from hotspot.operators.actor import Actor
from hotspot.operators.listing import Listing, Page, paged_rows, time_range


@dataclass(frozen=True)
class SessionFilter:
    username: str | None = None
    nas: str | None = None  # NAS IP
    status: SessionStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def active_sessions(session: Session, actor: Actor, f: SessionFilter, page: Page) -> Listing[Any]:
    """Open radacct rows with their account: (RadAcct, HotspotUser | None); an operator sees its
    own accounts' (a row of no known account only the platform).

    Only open rows are read, through radacct's partial indexes on them (`acctstoptime IS NULL`):
    by user radacct_active_user_idx, by NAS radacct_bulk_close; unfiltered, a scan of one of them.
    Closed rows, however many, are never touched.
    """
    stmt = (
        select(RadAcct, HotspotUser)
        .outerjoin(HotspotUser, HotspotUser.username == RadAcct.username)
        .where(RadAcct.acctstoptime.is_(None))
    )
    stmt = actor.visible(stmt, HotspotUser.operator_id)
    if f.username:
        stmt = stmt.where(RadAcct.username == f.username.strip().lower())
    if f.nas:
        stmt = stmt.where(RadAcct.nasipaddress == f.nas)
    stmt = time_range(stmt, RadAcct.acctstarttime, f.since, f.until)
    return paged_rows(
        session, stmt.order_by(RadAcct.acctstarttime.desc(), RadAcct.radacctid.desc()), page
    )


def session_history(session: Session, actor: Actor, f: SessionFilter, page: Page) -> Listing[Any]:
    """Our sessions (radius_sessions) with their account: (RadiusSession, HotspotUser).

    Without a status filter, the pending placeholders made at each purchase are left out."""
    stmt = select(RadiusSession, HotspotUser).join(
        HotspotUser, HotspotUser.id == RadiusSession.user_id
    )
    stmt = actor.visible(stmt, HotspotUser.operator_id)
    if f.username:
        stmt = stmt.where(HotspotUser.username == f.username.strip().lower())
    if f.nas:
        stmt = stmt.where(RadiusSession.nas_ip == f.nas)
    if f.status is not None:
        stmt = stmt.where(RadiusSession.status == f.status)
    else:
        stmt = stmt.where(RadiusSession.status != SessionStatus.PENDING)
    stmt = time_range(stmt, RadiusSession.started_at, f.since, f.until)
    return paged_rows(session, stmt.order_by(RadiusSession.id.desc()), page)
