"""What a connected customer is entitled to now, as the CoA-Request that tells its router.

When a renewal, an operator's extension or a package edit changes what an account gets, its
sessions online would keep what their Access-Accept said (the old Session-Timeout, the old
speed) until they end. A CoA-Request (RFC 5176) carries the new values to the router instead:
the same ones an Access-Accept would carry now. The rate and data limits are read from the
package's RADIUS group (`radgroupreply`, what FreeRADIUS answers with); the Session-Timeout
is the time from the session's start to the end of validity, as the Access-Accept's counts
from the login. Nothing here sends a packet: `jobs.live` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from hotspot.access.termination import OpenSession, open_session
from hotspot.models import HotspotUser, Nas, Package, RadAcct, RadGroupReply, UserStatus

# What a CoA-Request changes besides Session-Timeout: the group's reply attributes a MikroTik
# applies to a live session (Acct-Interim-Interval and the rest stay as the login set them).
LIVE_GROUP_ATTRIBUTES = (
    "Mikrotik-Rate-Limit",
    "Mikrotik-Total-Limit",
    "Mikrotik-Total-Limit-Gigawords",
)

Changes = tuple[tuple[str, str | int], ...]


@dataclass(frozen=True)
class SessionChange:
    """One open session and the attributes of its CoA-Request."""

    session: OpenSession
    changes: Changes


def changes_for_users(
    session: Session, user_ids: Sequence[int], now: dt.datetime
) -> list[SessionChange]:
    """The open sessions of these accounts, each with its entitlement now."""
    return _changes(session, HotspotUser.id.in_(user_ids), now)


def changes_for_package(session: Session, package_id: int, now: dt.datetime) -> list[SessionChange]:
    """Every open session of an account on the package (after an operator edited it)."""
    return _changes(session, HotspotUser.package_id == package_id, now)


def change_for_session(
    session: Session, acct_unique_id: str, now: dt.datetime
) -> SessionChange | None:
    """One session's entitlement now, for a retry (None once it ended or its account lapsed:
    the expiry's Disconnect-Request is the answer then)."""
    found = _changes(session, RadAcct.acctuniqueid == acct_unique_id, now)
    return found[0] if found else None


def _changes(session: Session, which: ColumnElement[bool], now: dt.datetime) -> list[SessionChange]:
    """Only accounts still active and within their time: a blocked or lapsed one is being
    disconnected, not changed."""
    rows = session.execute(
        select(
            RadAcct,
            Nas,
            HotspotUser.expires_at,
            Package.group_name,
            # asked only of hours-of-use packages: a package edit reaches 10,000 sessions
            case(
                (
                    Package.time_quota_seconds.is_not(None),
                    func.hotspot_time_left(HotspotUser.username, now),
                ),
                else_=None,
            ),
        )
        .join(Nas, Nas.nasname == func.host(RadAcct.nasipaddress))
        .join(HotspotUser, HotspotUser.username == RadAcct.username)
        .join(Package, Package.id == HotspotUser.package_id)
        .where(
            which,
            RadAcct.acctstoptime.is_(None),
            HotspotUser.status == UserStatus.ACTIVE,
            HotspotUser.expires_at > now,
        )
    ).all()
    groups = group_attributes(session, {row.group_name for row in rows})
    return [
        SessionChange(
            open_session(acct, nas),
            (
                ("Session-Timeout", session_timeout(acct.acctstarttime, expires_at, now, left)),
                *groups.get(group_name, ()),
            ),
        )
        for acct, nas, expires_at, group_name, left in rows
    ]


def group_attributes(session: Session, groups: set[str]) -> dict[str, Changes]:
    """Each group's live attributes, as FreeRADIUS would reply with them."""
    found: dict[str, list[tuple[str, Any]]] = {}
    if not groups:
        return {}
    rows = session.execute(
        select(RadGroupReply.groupname, RadGroupReply.attribute, RadGroupReply.value)
        .where(
            RadGroupReply.groupname.in_(groups),
            RadGroupReply.attribute.in_(LIVE_GROUP_ATTRIBUTES),
        )
        .order_by(RadGroupReply.groupname, RadGroupReply.id)
    )
    for group, attribute, value in rows:
        found.setdefault(group, []).append((attribute, _typed(attribute, value)))
    return {group: tuple(values) for group, values in found.items()}


def session_timeout(
    started_at: dt.datetime | None,
    expires_at: dt.datetime,
    now: dt.datetime,
    time_left: int | None = None,
) -> int:
    """Seconds from the session's start (now, when radacct does not say) to the end of validity,
    or of a usage-time quota's `time_left` when that comes first; at least 1: a router counts
    Session-Timeout from the login."""
    start = started_at or now
    end = expires_at
    if time_left is not None:
        end = min(end, now + dt.timedelta(seconds=time_left))
    return max(1, int((end - start).total_seconds()))


def _typed(attribute: str, value: str) -> str | int:
    """The dictionary's integer attributes go as numbers (pyrad encodes by type)."""
    return value if attribute == "Mikrotik-Rate-Limit" else int(value)
