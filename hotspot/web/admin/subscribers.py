"""`/api/admin/plans` and `/api/admin/subscribers`: PPPoE home subscribers and their plans."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify

from hotspot.access.subscriber_admin import (
    ChangeDueDate,
    change_due_date,
    create_plan,
    create_subscriber,
    get_subscriber,
    list_plans,
    list_subscribers,
)
from hotspot.access.subscribers import CreatePlan, CreateSubscriber
from hotspot.core.errors import InvalidInputError
from hotspot.core.parsing import parse_enum
from hotspot.models import AdminRole, SubscriberStatus
from hotspot.operators.followups import Followups
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, finish, now
from hotspot.web.admin.reading import Body, arg, listing_page
from hotspot.web.admin.serializers import listing, plan_json, subscriber_json
from hotspot.web.auth import requires

subscribers = Blueprint("subscribers", __name__)


def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def date_field(body: Body, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(body.text(name))
    except ValueError:
        raise InvalidInputError(f"{name} must be a date, YYYY-MM-DD") from None


@subscribers.get("/plans")
@requires(AdminRole.VIEWER)
def plans() -> Any:
    with sessions()() as session:
        found = list_plans(session, actor(), listing_page())
        return listing("plans", found, [plan_json(p) for p in found.items])


@subscribers.post("/plans")
@requires(AdminRole.ADMIN)
def new_plan() -> Any:
    body = Body(("name", "price", "rate_limit", "pool", "grace_days", "operator"))
    body.require("name", "price", "rate_limit")
    command = CreatePlan(
        name=body.text("name"),
        price=body.decimal("price"),
        rate_limit=body.text("rate_limit"),
        pool=body.optional_text("pool"),
        grace_days=body.get("grace_days", body.integer, 0),
    )
    with sessions().begin() as session:
        shown = plan_json(create_plan(session, actor(), command, body.optional_text("operator")))
    return jsonify(shown), 201


@subscribers.get("/subscribers")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    status = parse_enum(arg("status"), SubscriberStatus, "status")
    with sessions()() as session:
        found = list_subscribers(session, actor(), status, listing_page())
        return listing("subscribers", found, [subscriber_json(s) for s in found.items])


@subscribers.post("/subscribers")
@requires(AdminRole.ADMIN)
def create() -> Any:
    fields = ("plan_id", "account_number", "username", "due_date", "phone", "static_ip", "password")
    body = Body(fields)
    body.require("plan_id", "account_number", "username", "due_date")
    command = CreateSubscriber(
        plan_id=body.integer("plan_id"),
        account_number=body.text("account_number"),
        username=body.text("username"),
        due_date=date_field(body, "due_date"),
        phone=body.optional_text("phone"),
        static_ip=str(body.ip("static_ip")) if body.data.get("static_ip") else None,
        password=body.optional_text("password"),
    )
    with sessions().begin() as session:
        subscriber, password = create_subscriber(
            session, actor(), command, region=settings().default_region, zone=zone()
        )
        shown = {**subscriber_json(subscriber), "password": password}  # shown this once
    return jsonify(shown), 201


@subscribers.get("/subscribers/<account>")
@requires(AdminRole.VIEWER)
def show(account: str) -> Any:
    with sessions()() as session:
        return jsonify(subscriber_json(get_subscriber(session, actor(), account)))


@subscribers.patch("/subscribers/<account>")
@requires(AdminRole.ADMIN)
def change(account: str) -> Any:
    body = Body(("due_date",))
    body.require("due_date")
    command = ChangeDueDate(account, date_field(body, "due_date"))
    followups = Followups()
    with sessions().begin() as session:
        changed = change_due_date(session, actor(), command, now=now(), zone=zone())
        shown = subscriber_json(changed.subscriber)
        if changed.reconnect:
            followups.after.redials.append(changed.subscriber.id)
    finish(followups)
    return jsonify(shown)
