"""`/api/admin/operators`: the ISPs of the installation. A platform token sees and creates them
all; an operator's token sees its own and changes its settings (not the commission)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.billing.wallets import RecordPayout, record_payout, statement, wallet
from hotspot.core.errors import InvalidInputError
from hotspot.models import AdminRole
from hotspot.operators.tenants import (
    SECRET_NAMES,
    SETTINGS,
    ChangeOperator,
    CreateOperator,
    MpesaSecrets,
    change_operator,
    create_operator,
    get_operator,
    list_operators,
)
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, now
from hotspot.web.admin.reading import Body, listing_page, time_arg
from hotspot.web.admin.serializers import listing, operator_json, posting_json, wallet_json
from hotspot.web.auth import requires

operators = Blueprint("operators", __name__)


def change_command(code: str) -> ChangeOperator:
    body = Body((*SETTINGS, "mpesa_credentials", "gateway_credentials"))
    changes = {name: body.data[name] for name in SETTINGS if name in body}
    if "mpesa_credentials" in body:
        changes["mpesa_secrets"] = mpesa_credentials(body.data["mpesa_credentials"])
    if "gateway_credentials" in body:
        changes["gateway_secrets"] = body.data["gateway_credentials"]
    return ChangeOperator(code, **changes)


def mpesa_credentials(value: Any) -> MpesaSecrets | None:
    """{"consumer_key", "consumer_secret", "passkey"} all three, or null to remove them."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(SECRET_NAMES):
        raise InvalidInputError(f"mpesa_credentials is an object of {', '.join(SECRET_NAMES)}")
    if not all(isinstance(v, str) for v in value.values()):
        raise InvalidInputError("mpesa_credentials values are text")
    return MpesaSecrets(**value)


@operators.get("/operators")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    with sessions()() as session:
        found = list_operators(session, actor(), listing_page())
        return listing("operators", found, [operator_json(o) for o in found.items])


@operators.post("/operators")
@requires(AdminRole.ADMIN)
def create() -> Any:
    body = Body(("code", "name"))
    body.require("code", "name")
    command = CreateOperator(code=body.text("code"), name=body.text("name"))
    with sessions().begin() as session:
        shown = operator_json(create_operator(session, actor(), command))
    return jsonify(shown), 201


@operators.get("/operators/<code>")
@requires(AdminRole.VIEWER)
def show(code: str) -> Any:
    with sessions()() as session:
        return jsonify(operator_json(get_operator(session, actor(), code)))


@operators.patch("/operators/<code>")
@requires(AdminRole.ADMIN)
def change(code: str) -> Any:
    command = change_command(code)
    with sessions().begin() as session:
        operator = change_operator(session, actor(), command, key=settings().secrets_key, now=now())
        shown = operator_json(operator)
    return jsonify(shown)


@operators.get("/operators/<code>/wallet")
@requires(AdminRole.VIEWER)
def show_wallet(code: str) -> Any:
    """The balance and, newest first, the postings that made it."""
    with sessions()() as session:
        found = wallet(session, actor(), code)
        moves = statement(
            session, actor(), code, listing_page(), since=time_arg("since"), until=time_arg("until")
        )
        return listing(
            "entries",
            moves,
            [posting_json(posting) for posting in moves.items],
            **wallet_json(found),
        )


@operators.post("/operators/<code>/payouts")
@requires(AdminRole.ADMIN)
def payout(code: str) -> Any:
    body = Body(("amount", "reference"))
    body.require("amount")
    command = RecordPayout(code, body.decimal("amount"), body.optional_text("reference"))
    with sessions().begin() as session:
        shown = wallet_json(record_payout(session, actor(), command))
    return jsonify(shown), 201
