"""What the captive portal tells a device or a customer about its access: the package, the time
left and the data left.

A device is found by its MAC through its open `radacct` session (`callingstationid`, which a
MikroTik fills with the MAC in capitals with colons); a customer by username. Data left is the
package's cap minus `hotspot_users.data_used_bytes`, which the accounting sync keeps up to date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.access.quotas import time_left
from hotspot.core.errors import InvalidInputError
from hotspot.models import HotspotDevice, HotspotUser, Package, RadAcct, UserStatus

_MAC_SEPARATORS = re.compile(r"[:\-.]")
_HEX12 = re.compile(r"^[0-9A-Fa-f]{12}$")


@dataclass(frozen=True)
class OnlineSession:
    """The open radacct session of a device."""

    started_at: dt.datetime | None
    ip: str | None
    mac: str | None
    nas_ip: str


@dataclass(frozen=True)
class AccessLeft:
    username: str
    package: Package
    status: UserStatus
    expires_at: dt.datetime
    seconds_left: int
    data_cap_bytes: int | None
    data_used_bytes: int
    data_left_bytes: int | None  # None: the package has no cap
    session: OnlineSession | None  # None: not online right now

    @property
    def online(self) -> bool:
        return self.session is not None

    @property
    def usable(self) -> bool:
        """Time and data are left and the account is not blocked."""
        return (
            self.status is UserStatus.ACTIVE
            and self.seconds_left > 0
            and (self.data_left_bytes is None or self.data_left_bytes > 0)
        )


def normalize_mac(text: str) -> str:
    """`aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff`, `AA:BB:…` → `AA:BB:CC:DD:EE:FF`, as MikroTik sends
    Calling-Station-Id; raises InvalidInputError for anything else."""
    digits = _MAC_SEPARATORS.sub("", text.strip())
    if not _HEX12.match(digits):
        raise InvalidInputError(f"{text!r} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()


def access_for_mac(session: Session, mac: str, now: dt.datetime) -> AccessLeft | None:
    """The access of the customer whose open session comes from this MAC, else of the account
    the device last logged in to (a returning device, offline: `session` None), or None.

    Open rows are few and indexed (partial indexes on `acctstoptime IS NULL`), so this stays
    cheap however long `radacct` grows."""
    device = normalize_mac(mac)
    row = session.scalars(
        select(RadAcct)
        .where(RadAcct.callingstationid == device, RadAcct.acctstoptime.is_(None))
        .order_by(RadAcct.acctstarttime.desc().nulls_last(), RadAcct.radacctid.desc())
        .limit(1)
    ).first()
    if row is None or not row.username:
        known = session.scalar(
            select(HotspotUser)
            .join(HotspotDevice, HotspotDevice.user_id == HotspotUser.id)
            .where(HotspotDevice.mac == device)
        )
        return _access(session, known, None, now) if known is not None else None
    user = session.scalar(select(HotspotUser).where(HotspotUser.username == row.username))
    if user is None:
        return None
    return _access(session, user, _online(row), now)


def access_for_username(session: Session, username: str, now: dt.datetime) -> AccessLeft | None:
    """The access of one customer (and its newest open session, if any), or None."""
    name = username.strip()
    if not name:
        raise InvalidInputError("username is empty")
    user = session.scalar(select(HotspotUser).where(HotspotUser.username == name))
    if user is None:
        return None
    row = session.scalars(
        select(RadAcct)
        .where(RadAcct.username == user.username, RadAcct.acctstoptime.is_(None))
        .order_by(RadAcct.acctstarttime.desc().nulls_last(), RadAcct.radacctid.desc())
        .limit(1)
    ).first()
    return _access(session, user, _online(row) if row is not None else None, now)


def _online(row: RadAcct) -> OnlineSession:
    return OnlineSession(
        started_at=row.acctstarttime,
        ip=str(row.framedipaddress) if row.framedipaddress is not None else None,
        mac=row.callingstationid,
        nas_ip=str(row.nasipaddress),
    )


def _access(
    session: Session, user: HotspotUser, online: OnlineSession | None, now: dt.datetime
) -> AccessLeft:
    """Time left is the sooner end: of the validity, or of an hours-of-use package's hours."""
    package = user.package
    cap = package.data_cap_bytes
    used = max(0, user.data_used_bytes)
    seconds = max(0, int((user.expires_at - now).total_seconds()))
    if package.time_quota_seconds is not None:
        seconds = min(seconds, time_left(session, user.username, now) or 0)
    return AccessLeft(
        username=user.username,
        package=package,
        status=user.status,
        expires_at=user.expires_at,
        seconds_left=seconds,
        data_cap_bytes=cap,
        data_used_bytes=used,
        data_left_bytes=None if cap is None else max(0, cap - used),
        session=online,
    )
