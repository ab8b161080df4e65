"""What the captive portal reads: the public API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from hotspot.billing.notify import dispatch
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.vouchers import redeem
from hotspot.catalog.packages import active_packages
from hotspot.core.errors import InvalidInputError, NotFoundError
from hotspot.models import Operator
from hotspot.operators.tenants import default_operator_id
from hotspot.web import client_ip, hotspot_client, notifier, rate_limit, sessions, settings
from hotspot.web.serializers import package_json

portal = Blueprint("portal", __name__, url_prefix="/api")


@portal.get("/packages")
def list_packages() -> Any:
    """What an operator sells (`?operator=CODE`; else the installation's own operator)."""
    code = request.args.get("operator", "").strip().upper()
    with sessions()() as session:
        operator_id = (
            session.scalar(select(Operator.id).where(Operator.code == code))
            if code
            else default_operator_id(session)
        )
        if operator_id is None:
            raise NotFoundError(f"no operator {code!r}")
        return jsonify(packages=[package_json(p) for p in active_packages(session, operator_id)])


@portal.post("/vouchers/redeem")
def redeem_voucher() -> Any:
    s = settings()
    rate_limit("vouchers-ip", client_ip(), s.rate_limit_vouchers_per_ip)
    body = request.get_json(silent=True)
    rate_limit("vouchers-client", hotspot_client(body), s.rate_limit_vouchers_per_client)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code.strip():
        raise InvalidInputError("code is required")
    with sessions().begin() as session:
        credentials = redeem(session, code, dt.datetime.now(dt.UTC))
    dispatch(AfterCommit(expiries=[credentials]), notifier())
    return jsonify(
        username=credentials.username,
        password=credentials.password,
        expires_at=credentials.expires_at.isoformat(),
    )
