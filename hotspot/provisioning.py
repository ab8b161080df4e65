"""Turning a purchase into a hotspot user FreeRADIUS will accept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotspot.codes import random_code
from hotspot.errors import ConflictError
from hotspot.models import HotspotUser, Package, RadCheck, RadUserGroup, UserStatus

USERNAME_LENGTH = 6
PASSWORD_LENGTH = 6
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    expires_at: dt.datetime


def radius_expiration(expires_at: dt.datetime) -> str:
    """The `Expiration` check value for a user whose access ends at `expires_at`.

    rlm_expiration's format (`%d %b %Y %H:%M:%S`), in UTC with English months whatever the locale.
    FreeRADIUS counts Session-Timeout from the start of the current second, so it could outlast
    `expires_at` by up to a second; one second earlier keeps the NAS-side limit within what was
    bought.
    """
    utc = (expires_at - dt.timedelta(seconds=1)).astimezone(dt.UTC)
    return f"{utc.day:02d} {MONTHS[utc.month - 1]} {utc.year} {utc:%H:%M:%S}"


def write_radius_rows(session: Session, user: HotspotUser, package: Package, password: str) -> None:
    """radcheck + radusergroup for one user, replacing whatever was there."""
    session.execute(delete(RadCheck).where(RadCheck.username == user.username))
    session.execute(delete(RadUserGroup).where(RadUserGroup.username == user.username))
    session.add_all(
        [
            RadCheck(
                username=user.username, attribute="Cleartext-Password", op=":=", value=password
            ),
            RadCheck(
                username=user.username,
                attribute="Expiration",
                op=":=",
                value=radius_expiration(user.expires_at),
            ),
            RadCheck(
                username=user.username,
                attribute="Simultaneous-Use",
                op=":=",
                value=str(package.devices),
            ),
            RadUserGroup(username=user.username, groupname=package.group_name, priority=1),
        ]
    )


def create_user(
    session: Session, package: Package, *, phone: str | None, now: dt.datetime
) -> Credentials:
    """A new user valid for the package's duration from `now`, all rows in the caller's transaction.

    Usernames are random; a clash with an existing one (rare) is retried with a new draw.
    """
    if phone is not None:
        owner = session.scalar(select(HotspotUser.username).where(HotspotUser.phone == phone))
        if owner is not None:
            raise ConflictError(f"phone {phone} already has the account {owner}")
    expires_at = (now + dt.timedelta(seconds=package.duration_seconds)).replace(microsecond=0)
    password = random_code(PASSWORD_LENGTH)
    for _ in range(10):
        user = HotspotUser(
            username=random_code(USERNAME_LENGTH),
            phone=phone,
            package_id=package.id,
            status=UserStatus.ACTIVE,
            expires_at=expires_at,
        )
        try:
            with session.begin_nested():
                session.add(user)
                session.flush()
        except IntegrityError as exc:
            if constraint_of(exc) == "uq_hotspot_users_phone":
                raise ConflictError(f"phone {phone} already has an account") from None
            continue
        write_radius_rows(session, user, package, password)
        session.flush()
        return Credentials(user.username, password, expires_at)
    raise ConflictError("could not draw a free username; try again")


def constraint_of(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)
