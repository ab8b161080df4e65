"""Renewal reminders: an SMS some minutes before a package ends, at most once per purchase.

"Once per purchase" is the SMS's idempotency key: the account and the end of validity it is
about. A renewal moves the end, so the next purchase gets its own reminder; a second run, a
second worker or a retried job finds the key taken and sends nothing (`adapters.sms.send_once`).
Packages shorter than `HOTSPOT_REMINDER_MIN_DURATION` get none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session

from hotspot.adapters.sms import customer_time
from hotspot.models import HotspotUser, Package, SmsMessage, UserStatus

REMINDER_PURPOSE = "reminder"


@dataclass(frozen=True)
class Due:
    """One reminder to send: the account and the end of validity it is about."""

    user_id: int
    expires_at: dt.datetime

    @property
    def key(self) -> str:
        return reminder_key(self.user_id, self.expires_at)


def reminder_key(user_id: int, expires_at: dt.datetime) -> str:
    return f"{REMINDER_PURPOSE}:user:{user_id}:{int(expires_at.timestamp())}"


def sql_reminder_key() -> Any:
    """`reminder_key` of a hotspot_users row, in SQL (tests/integration/test_reminder_keys.py
    holds the two to the same text)."""
    return func.concat(
        f"{REMINDER_PURPOSE}:user:",
        HotspotUser.id,
        ":",
        cast(func.floor(func.extract("epoch", HotspotUser.expires_at)), BigInteger),
    )


def due_reminders(
    session: Session, now: dt.datetime, *, minutes: int, min_duration: int, limit: int = 5000
) -> list[Due]:
    """Active accounts with a phone whose package (long enough to be reminded of) ends within
    `minutes`, and whose reminder for that end was never claimed. Read through the
    (status, expires_at) index; the SMS rows by their unique key, in the query itself: a batch
    is never filled with accounts already reminded, however many there are."""
    if minutes <= 0:
        return []
    until = now + dt.timedelta(minutes=minutes)
    claimed = select(SmsMessage.id).where(SmsMessage.idempotency_key == sql_reminder_key())
    rows = session.execute(
        select(HotspotUser.id, HotspotUser.expires_at)
        .join(Package, Package.id == HotspotUser.package_id)
        .where(
            HotspotUser.status == UserStatus.ACTIVE,
            HotspotUser.expires_at > now,
            HotspotUser.expires_at <= until,
            HotspotUser.phone.is_not(None),
            Package.duration_seconds >= min_duration,
            ~claimed.exists(),
        )
        .order_by(HotspotUser.expires_at)
        .limit(limit)
    ).all()
    return [Due(int(user_id), expires_at) for user_id, expires_at in rows]


def still_due(session: Session, due: Due, now: dt.datetime) -> HotspotUser | None:
    """The account, when the reminder is still worth sending: still active, on the same end
    (not renewed meanwhile), not yet ended, with a phone."""
    user = session.get(HotspotUser, due.user_id)
    if (
        user is None
        or user.status is not UserStatus.ACTIVE
        or user.phone is None
        or user.expires_at != due.expires_at
        or user.expires_at <= now
    ):
        return None
    return user


def reminder_text(
    template: str,
    *,
    user: HotspotUser,
    paybill: str,
    portal_url: str,
    offset_hours: int,
) -> str:
    try:
        return template.format(
            package=user.package.name,
            expires_at=customer_time(user.expires_at, offset_hours),
            username=user.username,
            paybill=paybill,
            portal_url=portal_url,
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"HOTSPOT_REMINDER_TEMPLATE cannot be filled in: {exc!r}") from None
