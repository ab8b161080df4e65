"""Turning a purchase into a hotspot user FreeRADIUS will accept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotspot.core.codes import random_code
from hotspot.core.errors import ConflictError, ProvisioningError
from hotspot.models import (
    HotspotUser,
    Package,
    Payment,
    RadCheck,
    RadUserGroup,
)

USERNAME_LENGTH = 6
USERNAME_DRAWS = 10
# Passwords nobody types (the portal logs in with them, vouchers and payments alike): 16 of 31
# symbols, about 79 bits, beyond an offline search of a CHAP exchange sniffed on open WiFi.
# Operators hand out the ones `hotspot users create` makes, to be typed: 8 (about 40 bits).
PASSWORD_LENGTH = 16
TYPED_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Terms:
    """What a purchase buys: the price and time offered when the payment was asked for (an STK
    push snapshots them), else the package's own (C2B money, vouchers, operators)."""

    price: Decimal
    duration_seconds: int

    @classmethod
    def of(cls, package: Package, payment: Payment | None = None) -> Terms:
        if payment is None or payment.package_price is None:
            return cls(package.price, package.duration_seconds)
        return cls(
            payment.package_price, payment.package_duration_seconds or package.duration_seconds
        )


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    expires_at: dt.datetime
    user_id: int | None = None
    renewal: bool = False  # of an account that may be online: its sessions get a CoA-Request


# The radcheck rows that make FreeRADIUS accept a user are defined once, by the SQL function
# hotspot_radius_checks (migration 0005), for every writer: new users, renewals, the one-call
# settlement of a new customer's payment.
INSERT_RADIUS_CHECKS = text(
    "INSERT INTO radcheck (username, attribute, op, value) "
    "SELECT :username, attribute, ':=', value "
    "FROM hotspot_radius_checks(:password, :expires_at, :devices)"
)


def write_radius_rows(session: Session, user: HotspotUser, package: Package, password: str) -> None:
    """radcheck + radusergroup for an existing user, replacing whatever was there."""
    session.execute(delete(RadCheck).where(RadCheck.username == user.username))
    session.execute(delete(RadUserGroup).where(RadUserGroup.username == user.username))
    session.execute(
        INSERT_RADIUS_CHECKS,
        {
            "username": user.username,
            "password": password,
            "expires_at": user.expires_at,
            "devices": package.devices,
        },
    )
    session.add(RadUserGroup(username=user.username, groupname=package.group_name, priority=1))


# The user and the rows FreeRADIUS reads, in one call, under the first free one of the drawn
# usernames.
INSERT_USER = text(
    "SELECT user_id, username FROM hotspot_new_user(:usernames, :password, :phone, :package_id, "
    ":expires_at, :credit, :devices, :groupname)"
)


def new_user(
    session: Session,
    package: Package,
    *,
    phone: str | None,
    now: dt.datetime,
    credit: Decimal = Decimal(0),
    terms: Terms | None = None,
    password_length: int = PASSWORD_LENGTH,
) -> Credentials:
    """A user valid for the package's duration (or the terms') from `now`, all rows in the
    caller's transaction.

    Usernames are random; a clash with an existing one (rare) is redrawn. A clash on the phone
    means the phone already has its account (one phone, one account)."""
    password = random_code(password_length)
    expires_at = end_of_validity(now, (terms or Terms.of(package)).duration_seconds)
    row = session.execute(
        INSERT_USER,
        {
            "usernames": drawn_usernames(),
            "password": password,
            "phone": phone,
            "package_id": package.id,
            "expires_at": expires_at,
            "credit": credit,
            "devices": package.devices,
            "groupname": package.group_name,
        },
    ).one_or_none()
    if row is not None:
        return Credentials(row.username, password, expires_at, row.user_id)
    if phone is not None:
        owner = session.scalar(
            select(HotspotUser.username).where(
                HotspotUser.operator_id == package.operator_id, HotspotUser.phone == phone
            )
        )
        if owner is not None:
            raise ConflictError(f"phone {phone} already has the account {owner}")
    raise ConflictError("could not draw a free username; try again")


def drawn_usernames() -> list[str]:
    """Candidates for a new user, the first free one taken: a clash is rare, ten all taken is
    a full namespace."""
    return [random_code(USERNAME_LENGTH) for _ in range(USERNAME_DRAWS)]


def end_of_validity(start: dt.datetime, seconds: int) -> dt.datetime:
    return (start + dt.timedelta(seconds=seconds)).replace(microsecond=0)


def current_password(session: Session, username: str) -> str:
    return session.scalars(
        select(RadCheck.value).where(
            RadCheck.username == username, RadCheck.attribute == "Cleartext-Password"
        )
    ).one()


# A renewal in one call: hotspot_renew_user (renew_user.sql) is the one definition, run here and
# by the one-call settlement of a paid callback alike.
RENEW_USER = text("SELECT hotspot_renew_user(:user_id, :package_id, :seconds, :password, :now)")
# What a renewal changes of the user's row, read again from the database when next used.
RENEWED = ("expires_at", "package_id", "package", "data_used_bytes", "status", "updated_at")


def extend_user(
    session: Session,
    user: HotspotUser,
    package: Package,
    now: dt.datetime,
    terms: Terms | None = None,
) -> Credentials:
    """A renewal: a valid user gets the package's time added to its expiry, a lapsed one restarts
    from now, and a different package moves the user to that package's group. A purchase brings
    a fresh data allowance and a fresh password (sessions online stay; a password sniffed or
    handed on before stops at the next purchase); an account an operator disabled stays
    blocked. The caller holds the user's row lock."""
    password = random_code(PASSWORD_LENGTH)
    expires_at = session.scalars(
        RENEW_USER,
        {
            "user_id": user.id,
            "package_id": package.id,
            "seconds": (terms or Terms.of(package)).duration_seconds,
            "password": password,
            "now": now,
        },
    ).one()
    session.expire(user, RENEWED)
    return Credentials(
        user.username, password, expires_at.astimezone(dt.UTC), user.id, renewal=True
    )


def account_for(session: Session, payment: Payment) -> HotspotUser | None:
    """The account a payment is for, locked: by the user it names, else by the payer's phone."""
    if payment.user_id is not None:
        return session.get(HotspotUser, payment.user_id, with_for_update=True)
    if payment.phone is None:
        return None
    return session.scalar(
        select(HotspotUser)
        .where(HotspotUser.operator_id == payment.operator_id, HotspotUser.phone == payment.phone)
        .with_for_update()
    )


def provision_purchase(
    session: Session, payment: Payment, package: Package, now: dt.datetime
) -> Credentials | None:
    """Money in, access out: renews the payer's account (or creates it), keeping change as credit.

    At the terms the payment asked for (`Terms.of`): an operator who changes the package while
    the customer types the PIN changes nothing for that payment. Returns None when the money
    (with earlier credit) does not cover the package yet: it is kept as credit on the account.
    Money that can become neither raises ProvisioningError, which rolls the whole settlement
    back. The credentials row is unique per payment, so a second provisioning of the same
    payment fails at commit whatever the callers checked.
    """
    with session.no_autoflush:  # the caller's changes to the payment are written once, later
        return _provision(session, payment, package, now)


def _provision(
    session: Session, payment: Payment, package: Package, now: dt.datetime
) -> Credentials | None:
    terms = Terms.of(package, payment)
    paid = payment.amount_paid if payment.amount_paid is not None else payment.amount
    user = account_for(session, payment)
    available = paid + (user.credit if user is not None else Decimal(0))
    if available < terms.price:
        if user is None:
            raise ProvisioningError(
                f"amount {paid} is below the price of {package.name} ({terms.price}) and there "
                "is no account to keep it as credit"
            )
        user.credit = available
        payment.user_id = user.id
        return None
    if user is None:
        try:
            credentials = new_user(
                session,
                package,
                phone=payment.phone,
                now=now,
                credit=available - terms.price,
                terms=terms,
            )
        except ConflictError:
            # Another payment of this phone created the account a moment ago: renew it instead.
            user = account_for(session, payment)
            if user is None:
                raise
            available += user.credit
        else:
            return record_purchase(session, payment, credentials)
    credentials = extend_user(session, user, package, now, terms)
    user.credit = available - terms.price
    return record_purchase(session, payment, credentials)


def record_purchase(session: Session, payment: Payment, credentials: Credentials) -> Credentials:
    payment.user_id = credentials.user_id
    session.execute(
        RECORD_PURCHASE,
        {
            "user_id": credentials.user_id,
            "payment_id": payment.id,
            "username": credentials.username,
            "password": credentials.password,
            "expires_at": credentials.expires_at,
        },
    )
    return credentials


# The credentials the portal shows for this payment (unique per payment: a second provisioning
# of it fails at commit) and the session expected from the purchase.
RECORD_PURCHASE = text(
    "SELECT hotspot_record_purchase(:user_id, :payment_id, :username, :password, :expires_at)"
)


def constraint_of(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)
