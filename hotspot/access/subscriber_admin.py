"""What an operator does with PPPoE plans and subscribers, each audited and scoped by its token."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.access.subscribers import (
    CreatePlan,
    CreateSubscriber,
    add_plan,
    add_subscriber,
    cut_off,
    write_radius_rows,
)
from hotspot.core.errors import InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.models import Plan, Subscriber, SubscriberStatus
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged


@dataclass(frozen=True)
class ChangeDueDate:
    account_number: str
    due_date: dt.date


@dataclass(frozen=True)
class DueDateChange:
    subscriber: Subscriber
    reconnect: bool  # blocked before, paid up now: its PPP client should redial


def list_plans(session: Session, actor: Actor, page: Page) -> Listing[Plan]:
    return paged(session, actor.visible(select(Plan), Plan.operator_id).order_by(Plan.id), page)


def get_plan(session: Session, actor: Actor, plan_id: int) -> Plan:
    plan: Plan = actor.found(session.get(Plan, plan_id), f"no plan {plan_id}")
    return plan


def create_plan(
    session: Session, actor: Actor, command: CreatePlan, operator: str | None = None
) -> Plan:
    plan = add_plan(session, actor.owner(session, operator), command)
    audit(session, actor, "plan.create", f"plan:{plan.id}",
          {"name": plan.name, "price": str(plan.price), "rate_limit": plan.rate_limit},
          owner=plan.operator_id)  # fmt: skip
    return plan


def list_subscribers(
    session: Session, actor: Actor, status: SubscriberStatus | None, page: Page
) -> Listing[Subscriber]:
    stmt = actor.visible(select(Subscriber), Subscriber.operator_id)
    if status is not None:
        stmt = stmt.where(Subscriber.status == status)
    return paged(session, stmt.order_by(Subscriber.id.desc()), page)


def get_subscriber(
    session: Session, actor: Actor, account_number: str, *, lock: bool = False
) -> Subscriber:
    stmt = select(Subscriber).where(Subscriber.account_number == account_number.strip().upper())
    found: Subscriber = actor.found(
        session.scalar(stmt.with_for_update() if lock else stmt),
        f"no subscriber {account_number!r}",
    )
    return found


def create_subscriber(
    session: Session,
    actor: Actor,
    command: CreateSubscriber,
    *,
    region: str,
    zone: zoneinfo.ZoneInfo,
) -> tuple[Subscriber, str]:
    """The subscriber on one of the actor's plans; returns it and its PPPoE password."""
    plan = get_plan(session, actor, command.plan_id)
    if not plan.is_active:
        raise InvalidInputError(f"plan {plan.name!r} is retired")
    phone = normalize_phone(command.phone, region) if command.phone else None
    subscriber, password = add_subscriber(
        session, plan, dataclasses.replace(command, phone=phone), zone
    )
    audit(session, actor, "subscriber.create", f"subscriber:{subscriber.account_number}",
          {"plan": plan.name, "username": subscriber.username,
           "due_date": subscriber.due_date.isoformat()},
          owner=subscriber.operator_id)  # fmt: skip
    return subscriber, password


def change_due_date(
    session: Session, actor: Actor, command: ChangeDueDate, *, now: dt.datetime,
    zone: zoneinfo.ZoneInfo,
) -> DueDateChange:  # fmt: skip
    """An operator moves the due date (a goodwill week, a correction). FreeRADIUS follows at once;
    a cut-off already past blocks it at the next sweep, one still ahead unblocks it."""
    subscriber = get_subscriber(session, actor, command.account_number, lock=True)
    before = subscriber.due_date
    subscriber.due_date = command.due_date
    subscriber.billing_day = command.due_date.day  # the months after keep the new day
    subscriber.updated_at = now
    plan = subscriber.plan
    write_radius_rows(session, subscriber, plan, zone)
    reconnect = False
    if subscriber.status is SubscriberStatus.BLOCKED and cut_off(subscriber, plan, zone) > now:
        subscriber.status = SubscriberStatus.ACTIVE
        reconnect = True
    audit(session, actor, "subscriber.due_date", f"subscriber:{subscriber.account_number}",
          {"from": before.isoformat(), "to": command.due_date.isoformat()},
          owner=subscriber.operator_id)  # fmt: skip
    return DueDateChange(subscriber, reconnect)
