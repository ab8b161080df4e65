"""Usage-time and daily-data quotas, enforced twice from one definition: FreeRADIUS asks the
database what is left at every login (sites/hotspot: it caps Session-Timeout and
Mikrotik-Total-Limit, or rejects), and the accounting sync asks the same SQL functions
(quotas.sql) about the accounts it has just seen online, whose sessions a NAS that ignores those
attributes would keep open past the quota. Nothing here blocks an account: FreeRADIUS refuses
it while nothing is left, and lets it in again without a purchase when the day turns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

# Packages with a quota: most installations have none, and then the sync asks nothing more.
QUOTA_PACKAGES = text(
    "SELECT COALESCE(array_agg(id), '{}') FROM packages "
    "WHERE time_quota_seconds IS NOT NULL OR daily_data_bytes IS NOT NULL"
)
# Accounts on those packages in the sync's batch (acct_sync_batch,
# hotspot.access.accounting_batch), still online, whose quota is used up.
OVER_QUOTA = text(
    """
    SELECT DISTINCT u.id
      FROM acct_sync_batch b
      JOIN hotspot_users u ON u.id = b.user_id
     WHERE b.status = 'active'
       AND u.package_id = ANY(:packages)
       AND (hotspot_time_left(u.username, :now) = 0
            OR hotspot_data_left_today(u.username, :timezone, :now) = 0)
     ORDER BY u.id
    """
)


def over_quota_in_batch(session: Session, now: dt.datetime, timezone: str) -> tuple[int, ...]:
    """After `apply_batch`: the batch's accounts online with nothing left of a quota."""
    packages = list(session.scalar(QUOTA_PACKAGES) or [])
    if not packages:
        return ()
    rows = session.scalars(OVER_QUOTA, {"packages": packages, "now": now, "timezone": timezone})
    return tuple(int(user_id) for user_id in rows)


def time_left(session: Session, username: str, now: dt.datetime) -> int | None:
    """Seconds left of a usage-time package (None: the package has no such quota)."""
    left = session.scalar(
        text("SELECT hotspot_time_left(:username, :now)"), {"username": username, "now": now}
    )
    return None if left is None else int(left)


def data_left_today(session: Session, username: str, timezone: str, now: dt.datetime) -> int | None:
    """Bytes left today of a daily-data package (None: the package has no such quota)."""
    left = session.scalar(
        text("SELECT hotspot_data_left_today(:username, :timezone, :now)"),
        {"username": username, "timezone": timezone, "now": now},
    )
    return None if left is None else int(left)
