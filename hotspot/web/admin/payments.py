"""`/api/admin/payments`: every payment, its timeline, and resolving an unmatched one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.billing.payment_admin import (
    PaymentFilter,
    ResolvePayment,
    get_payment,
    list_payments,
    payment_events,
    resolve_payment,
)
from hotspot.core.parsing import parse_enum
from hotspot.models import AdminRole, PaymentMethod, PaymentStatus
from hotspot.operators.followups import Followups
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, finish, now
from hotspot.web.admin.reading import Body, arg, listing_page, time_arg
from hotspot.web.admin.serializers import (
    event_json,
    listing,
    package_json,
    payment_json,
    user_json,
)
from hotspot.web.auth import requires

payments = Blueprint("payments", __name__)


@payments.get("/payments")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    f = PaymentFilter(
        status=parse_enum(arg("status"), PaymentStatus, "status"),
        method=parse_enum(arg("method"), PaymentMethod, "method"),
        phone=arg("phone"),
        receipt=arg("receipt"),
        username=arg("username"),
        since=time_arg("since"),
        until=time_arg("until"),
    )
    with sessions()() as session:
        found = list_payments(session, actor(), f, listing_page(), settings().default_region)
        return listing("payments", found, [payment_json(p) for p in found.items])


@payments.get("/payments/<int64:payment_id>")
@requires(AdminRole.VIEWER)
def show(payment_id: int) -> Any:
    with sessions()() as session:
        payment = get_payment(session, actor(), payment_id)
        return jsonify(
            {
                **payment_json(payment),
                "package": package_json(payment.package) if payment.package else None,
                "events": [event_json(e) for e in payment_events(session, payment_id)],
            }
        )


@payments.post("/payments/<int64:payment_id>/resolve")
@requires(AdminRole.ADMIN)
def resolve(payment_id: int) -> Any:
    body = Body(("account",))
    command = ResolvePayment(payment_id, account=body.text("account"))
    followups = Followups()
    with sessions().begin() as session:
        payment, user, credentials = resolve_payment(
            session,
            actor(),
            command,
            region=settings().default_region,
            now=now(),
            followups=followups,
        )
        shown = {
            **payment_json(payment),
            "account": user_json(user),
            "outcome": "provisioned" if credentials is not None else "credited",
        }
    finish(followups)
    return jsonify(shown)
