"""PPPoE home subscribers: their plans, their RADIUS rows, and the rules of a monthly payment.

A subscriber is paid up to its due date. FreeRADIUS serves it until the cut-off, the start of
the due date plus its plan's grace days in HOTSPOT_TIMEZONE (radcheck `Expiration`, so even a
late job cannot serve it a minute longer; a session online is cut there by its Session-Timeout).
The overdue job marks it blocked and disconnects it at that moment.

A payment (money plus credit kept from before) buys whole months at the plan's price:
- paid on or before the due date, a month runs from the due date; after it, from today (the day
  of the month becomes the new billing day);
- months are calendar months on the billing day: 31 Jan + 1 month = 28 Feb (29 in a leap year),
  and the next is 31 Mar again;
- what is short of a month is kept as credit, and does not reconnect;
- a blocked subscriber whose payment reaches a month is active again: the cut-off moves, and
  the router is told (its open sessions get a Disconnect-Request, so the PPP client redials).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from hotspot.access.provisioning import PASSWORD_LENGTH
from hotspot.catalog.packages import RATE_LIMIT, group_name_for
from hotspot.core.codes import random_code
from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.core.values import bounded, optional_text, required_text
from hotspot.models import (
    MAX_MONEY,
    HotspotUser,
    Operator,
    Plan,
    RadCheck,
    RadGroupReply,
    RadReply,
    RadUserGroup,
    Subscriber,
    SubscriberStatus,
)

REDIAL_REASON = "payment: redial"  # a paid subscriber's sessions ended so its client redials
ACCOUNT_NUMBER = re.compile(r"[A-Z0-9]{4,20}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")
SUBSCRIBER_CHECKS = text(
    "INSERT INTO radcheck (username, attribute, op, value) "
    "SELECT :username, attribute, ':=', value FROM hotspot_radius_checks(:password, :cut_off, 1)"
)


def add_months(day: dt.date, months: int, billing_day: int) -> dt.date:
    """`months` calendar months on from `day`, on the billing day or the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(billing_day, calendar.monthrange(year, month + 1)[1]))


def cut_off(subscriber: Subscriber, plan: Plan, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """When FreeRADIUS stops serving it: the start of the due date plus grace, local time."""
    last = subscriber.due_date + dt.timedelta(days=plan.grace_days)
    return dt.datetime.combine(last, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class CreatePlan:
    name: str
    price: Decimal
    rate_limit: str
    pool: str | None = None
    grace_days: int = 0


@dataclass(frozen=True)
class CreateSubscriber:
    plan_id: int
    account_number: str
    username: str
    due_date: dt.date
    phone: str | None = None
    static_ip: str | None = None
    password: str | None = None  # None: one is drawn


@dataclass(frozen=True)
class PaymentApplied:
    months: int
    credit: Decimal
    reconnected: bool  # was blocked, is active again
    due_date: dt.date


def add_plan(session: Session, operator: Operator, command: CreatePlan) -> Plan:
    name = required_text(command.name, "name", 100)
    if not RATE_LIMIT.match(command.rate_limit):
        raise InvalidInputError(f"rate limit {command.rate_limit!r} is not like '10M/10M'")
    if not Decimal("0.01") <= command.price <= MAX_MONEY:
        raise InvalidInputError("price must be positive")
    plan = Plan(
        operator_id=operator.id,
        name=name,
        group_name=group_name_for(operator, f"pppoe {name}"),  # the packages' namespace
        price=command.price.quantize(Decimal("0.01")),
        rate_limit=command.rate_limit,
        pool=optional_text(command.pool, "pool", 64),
        grace_days=bounded(command.grace_days, "grace_days", 0, 31),
    )
    taken = select(Plan.id).where(
        ((Plan.operator_id == operator.id) & (Plan.name == name))
        | (Plan.group_name == plan.group_name)
    )
    if session.scalar(taken) is not None:
        raise ConflictError(f"a plan named {name!r} already exists")
    session.add(plan)
    session.flush()
    replies = [
        ("Framed-Protocol", "PPP"),
        ("Service-Type", "Framed-User"),
        ("Mikrotik-Rate-Limit", plan.rate_limit),
    ] + ([("Framed-Pool", plan.pool)] if plan.pool else [])
    session.add_all(
        RadGroupReply(groupname=plan.group_name, attribute=a, op=":=", value=v) for a, v in replies
    )
    return plan


def add_subscriber(
    session: Session, plan: Plan, command: CreateSubscriber, zone: zoneinfo.ZoneInfo
) -> tuple[Subscriber, str]:
    """The subscriber and its RADIUS rows; returns it and its PPPoE password."""
    account = command.account_number.strip().upper()
    if not ACCOUNT_NUMBER.fullmatch(account):
        raise InvalidInputError("account_number is 4 to 20 capital letters or digits")
    username = command.username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInputError("username is 3 to 64 of a-z 0-9 . _ @ -, starting alphanumeric")
    _check_free(session, account, username)
    subscriber = Subscriber(
        operator_id=plan.operator_id,
        plan_id=plan.id,
        account_number=account,
        username=username,
        phone=command.phone,
        static_ip=command.static_ip,
        due_date=command.due_date,
        billing_day=command.due_date.day,
    )
    session.add(subscriber)
    session.flush()
    password = command.password or random_code(PASSWORD_LENGTH)
    write_radius_rows(session, subscriber, plan, zone, password)
    return subscriber, password


def _check_free(session: Session, account: str, username: str) -> None:
    """Usernames are one namespace for FreeRADIUS: hotspot accounts' and subscribers' alike."""
    if session.scalar(select(Subscriber.id).where(Subscriber.account_number == account)):
        raise ConflictError(f"the account number {account} is taken")
    taken = session.scalar(select(HotspotUser.id).where(HotspotUser.username == username))
    if taken or session.scalar(select(Subscriber.id).where(Subscriber.username == username)):
        raise ConflictError(f"the username {username} is taken")


def write_radius_rows(
    session: Session,
    subscriber: Subscriber,
    plan: Plan,
    zone: zoneinfo.ZoneInfo,
    password: str | None = None,
) -> None:
    """radcheck (password, Expiration at the cut-off, one session), the static address, the
    plan's group; the password kept unless a new one is given."""
    name = subscriber.username
    if password is None:
        password = session.scalars(
            select(RadCheck.value).where(
                RadCheck.username == name, RadCheck.attribute == "Cleartext-Password"
            )
        ).one()
    for table in (RadCheck, RadReply):
        session.execute(delete(table).where(table.username == name))
    session.execute(delete(RadUserGroup).where(RadUserGroup.username == name))
    params = {"username": name, "password": password, "cut_off": cut_off(subscriber, plan, zone)}
    session.execute(SUBSCRIBER_CHECKS, params)
    if subscriber.static_ip:
        session.add(
            RadReply(
                username=name,
                attribute="Framed-IP-Address",
                op=":=",
                value=str(subscriber.static_ip),
            )
        )
    session.add(RadUserGroup(username=name, groupname=plan.group_name, priority=1))


def apply_payment(
    session: Session, subscriber: Subscriber, amount: Decimal, now: dt.datetime,
    zone: zoneinfo.ZoneInfo,
) -> PaymentApplied:  # fmt: skip
    """The rules of the module's docstring; the caller holds the subscriber's row lock."""
    plan = subscriber.plan
    credit = subscriber.credit + amount
    months = int(credit // plan.price)
    was_blocked = subscriber.status is SubscriberStatus.BLOCKED
    if months:
        today = now.astimezone(zone).date()
        if today > subscriber.due_date:
            subscriber.billing_day = today.day
            start = today
        else:
            start = subscriber.due_date
        subscriber.due_date = add_months(start, months, subscriber.billing_day)
        credit -= plan.price * months
        subscriber.status = SubscriberStatus.ACTIVE
        write_radius_rows(session, subscriber, plan, zone)
    subscriber.credit = credit
    subscriber.updated_at = now
    return PaymentApplied(months, credit, was_blocked and months > 0, subscriber.due_date)


def overdue(session: Session, now: dt.datetime, zone: zoneinfo.ZoneInfo) -> list[Subscriber]:
    """Active subscribers past their cut-off, marked blocked (locked, skipping rows another
    run holds); the caller disconnects them after the commit."""
    candidates = session.scalars(
        select(Subscriber)
        .join(Plan, Plan.id == Subscriber.plan_id)
        .where(
            Subscriber.status == SubscriberStatus.ACTIVE,
            Subscriber.due_date <= now.astimezone(zone).date(),
        )
        .with_for_update(of=Subscriber, skip_locked=True)
    ).all()
    due = [s for s in candidates if cut_off(s, s.plan, zone) <= now]
    for subscriber in due:
        subscriber.status = SubscriberStatus.BLOCKED
        subscriber.updated_at = now
    return due


def subscriber_id_of(session: Session, username: str) -> int | None:
    found: int | None = session.scalar(select(Subscriber.id).where(Subscriber.username == username))
    return found
