"""What an operator does to hotspot users: find them, create one, extend, disable, enable and
disconnect, each audited. Disconnects are sent by the worker after the commit (`Followups`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from hotspot.access.provisioning import (
    TYPED_PASSWORD_LENGTH,
    Credentials,
    current_password,
    new_user,
    write_radius_rows,
)
from hotspot.access.termination import block_user
from hotspot.catalog.package_admin import package_on_sale
from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.core.values import bounded
from hotspot.models import HotspotUser, Payment, RadAcct, RadCheck, UserStatus
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.followups import Disconnect, Followups
from hotspot.operators.listing import Listing, Page, paged

MAX_EXTEND_DAYS = 3650


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None  # a phone in any usual form, or the start of a username
    phone: str | None = None
    username: str | None = None  # prefix
    status: UserStatus | None = None
    package_id: int | None = None


@dataclass(frozen=True)
class CreateUser:
    package_id: int
    phone: str | None = None  # in any usual form


@dataclass(frozen=True)
class ExtendUser:
    """By `days` (from the expiry, or from now for a lapsed account) or `until` a time: one."""

    username: str
    days: int | None = None
    until: dt.datetime | None = None

    def extension(self) -> int | dt.datetime:
        if self.days is not None and self.until is None:
            return self.days
        if self.until is not None and self.days is None:
            return self.until
        raise InvalidInputError('give either {"days": n} or {"until": "<ISO 8601 time>"}')


@dataclass(frozen=True)
class DisableUser:
    username: str


@dataclass(frozen=True)
class EnableUser:
    username: str


@dataclass(frozen=True)
class DisconnectUser:
    username: str


def search_users(
    session: Session, actor: Actor, f: UserFilter, page: Page, region: str
) -> Listing[HotspotUser]:
    stmt = actor.visible(select(HotspotUser), HotspotUser.operator_id)
    if f.q:
        text = f.q.strip()
        prefix = HotspotUser.username.startswith(text.lower(), autoescape=True)
        try:
            stmt = stmt.where(or_(HotspotUser.phone == normalize_phone(text, region), prefix))
        except InvalidInputError:
            stmt = stmt.where(prefix)
    if f.phone:
        stmt = stmt.where(HotspotUser.phone == normalize_phone(f.phone, region))
    if f.username:
        stmt = stmt.where(
            HotspotUser.username.startswith(f.username.strip().lower(), autoescape=True)
        )
    if f.status is not None:
        stmt = stmt.where(HotspotUser.status == f.status)
    if f.package_id is not None:
        stmt = stmt.where(HotspotUser.package_id == f.package_id)
    return paged(session, stmt.order_by(HotspotUser.id.desc()), page)


def get_user(session: Session, actor: Actor, username: str, *, lock: bool = False) -> HotspotUser:
    stmt = select(HotspotUser).where(HotspotUser.username == username.strip().lower())
    user: HotspotUser = actor.found(
        session.scalar(stmt.with_for_update() if lock else stmt), f"no user {username!r}"
    )
    return user


def open_radacct(session: Session, username: str) -> list[RadAcct]:
    """The user's open sessions as FreeRADIUS sees them (radacct_active_user_idx)."""
    return list(
        session.scalars(
            select(RadAcct)
            .where(RadAcct.username == username, RadAcct.acctstoptime.is_(None))
            .order_by(RadAcct.acctstarttime.desc())
        )
    )


def recent_payments(session: Session, user_id: int, limit: int = 10) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.user_id == user_id)
            .order_by(Payment.id.desc())
            .limit(limit)
        )
    )


def create_user(
    session: Session,
    actor: Actor,
    command: CreateUser,
    *,
    region: str,
    now: dt.datetime,
    followups: Followups,
) -> Credentials:
    """An account on a package on sale, valid for its duration from now, with a password short
    enough to be typed (an operator hands it out); its expiry job follows the commit."""
    phone = normalize_phone(command.phone, region) if command.phone else None
    package = package_on_sale(session, actor, command.package_id)
    credentials = new_user(
        session, package, phone=phone, now=now, password_length=TYPED_PASSWORD_LENGTH
    )
    followups.after.expiries.append(credentials)
    audit(
        session,
        actor,
        "user.create",
        f"user:{credentials.username}",
        {
            "package_id": package.id,
            "package": package.name,
            "expires_at": credentials.expires_at.isoformat(),
        },
        owner=package.operator_id,
    )
    return credentials


def extend_expiry(
    session: Session,
    actor: Actor,
    command: ExtendUser,
    *,
    now: dt.datetime,
    followups: Followups,
) -> HotspotUser:
    """Adds days to the expiry (to now, for a lapsed account) or sets it; radcheck's Expiration
    is rewritten and an expiry job scheduled at the new time.

    An expired account becomes active again; a disabled or capped one keeps its status and stays
    blocked (extending time gives back neither a disabled account nor data).
    """
    extension = command.extension()
    user = get_user(session, actor, command.username, lock=True)
    old = user.expires_at
    asked: dict[str, int | str]
    if isinstance(extension, dt.datetime):
        new = _checked_until(extension, now)
        asked = {"until": extension.isoformat()}
    else:
        new = max(old, now) + dt.timedelta(days=bounded(extension, "days", 1, MAX_EXTEND_DAYS))
        asked = {"days": extension}
    user.expires_at = new.replace(microsecond=0)
    if user.status is UserStatus.EXPIRED:
        user.status = UserStatus.ACTIVE
    user.updated_at = now
    password = current_password(session, user.username)
    write_radius_rows(session, user, user.package, password)  # replaces radcheck: no block left
    if user.status in (UserStatus.DISABLED, UserStatus.CAPPED):
        block_user(session, user, user.status)
    followups.after.expiries.append(Credentials(user.username, password, user.expires_at, user.id))
    followups.after.changed_users.append((user.id, "extension"))
    audit(
        session,
        actor,
        "user.extend",
        f"user:{user.username}",
        {
            "from": old.isoformat(),
            "to": user.expires_at.isoformat(),
            **asked,
            "status": user.status.value,
        },
        owner=user.operator_id,
    )
    return user


def _checked_until(until: dt.datetime, now: dt.datetime) -> dt.datetime:
    if until <= now:
        raise InvalidInputError("until must be in the future")
    if until > now + dt.timedelta(days=MAX_EXTEND_DAYS):
        raise InvalidInputError(f"until must be within {MAX_EXTEND_DAYS} days")
    return until


def disable_user(
    session: Session, actor: Actor, command: DisableUser, followups: Followups
) -> tuple[HotspotUser, int]:
    """FreeRADIUS rejects the account from now and its sessions are disconnected after the
    commit; returns the user and how many sessions were open."""
    user = get_user(session, actor, command.username, lock=True)
    if user.status is UserStatus.DISABLED:
        raise ConflictError(f"user {user.username} is already disabled")
    previous = user.status
    block_user(session, user, UserStatus.DISABLED)
    sessions = len(open_radacct(session, user.username))
    entry = audit(
        session,
        actor,
        "user.disable",
        f"user:{user.username}",
        {"previous_status": previous.value, "open_sessions": sessions},
        owner=user.operator_id,
    )
    followups.disconnects.append(
        Disconnect(user.username, "admin-disabled", f"admin-disconnect-{entry.id}")
    )
    return user, sessions


def enable_user(
    session: Session, actor: Actor, command: EnableUser, now: dt.datetime
) -> HotspotUser:
    """Undoes a disable. An account whose time ran out meanwhile comes back as expired, one over
    its data cap as capped; both stay blocked until bought again (or extended, if expired)."""
    user = get_user(session, actor, command.username, lock=True)
    if user.status is not UserStatus.DISABLED:
        raise ConflictError(f"user {user.username} is not disabled (it is {user.status.value})")
    cap = user.package.data_cap_bytes
    if user.expires_at <= now:
        user.status = UserStatus.EXPIRED
    elif cap is not None and user.data_used_bytes >= cap:
        user.status = UserStatus.CAPPED
    else:
        user.status = UserStatus.ACTIVE
        session.execute(
            delete(RadCheck).where(
                RadCheck.username == user.username, RadCheck.attribute == "Auth-Type"
            )
        )
    user.updated_at = now
    audit(
        session,
        actor,
        "user.enable",
        f"user:{user.username}",
        {"status": user.status.value},
        owner=user.operator_id,
    )
    return user


def disconnect_user(
    session: Session, actor: Actor, command: DisconnectUser, followups: Followups
) -> tuple[HotspotUser, int]:
    """Disconnect-Requests for every open session, by the worker after the commit. The account
    is not blocked: the customer may log in again. Returns the user and how many sessions were
    open."""
    user = get_user(session, actor, command.username)
    sessions = len(open_radacct(session, user.username))
    entry = audit(
        session,
        actor,
        "user.disconnect",
        f"user:{user.username}",
        {"open_sessions": sessions},
        owner=user.operator_id,
    )
    followups.disconnects.append(Disconnect(user.username, "admin", f"admin-disconnect-{entry.id}"))
    return user, sessions
