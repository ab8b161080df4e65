"""`/api/admin/sms`, `/api/admin/audit` and `/api/admin/whoami`: what was sent, what operators
did, and who is asking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from hotspot.core.parsing import parse_enum
from hotspot.models import AdminRole, Operator, SmsStatus
from hotspot.operators.audit import AuditFilter, list_audit
from hotspot.operators.sms_log import SmsFilter, list_sms
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor
from hotspot.web.admin.reading import arg, listing_page, time_arg
from hotspot.web.admin.serializers import audit_json, listing, sms_json
from hotspot.web.auth import caller, requires

logs = Blueprint("logs", __name__)


@logs.get("/sms")
@requires(AdminRole.VIEWER)
def sms() -> Any:
    f = SmsFilter(
        status=parse_enum(arg("status"), SmsStatus, "status"),
        phone=arg("phone"),
        purpose=arg("purpose"),
        since=time_arg("since"),
        until=time_arg("until"),
    )
    with sessions()() as session:
        found = list_sms(session, actor(), f, listing_page(), settings().default_region)
        return listing("messages", found, [sms_json(m) for m in found.items])


@logs.get("/audit")
@requires(AdminRole.VIEWER)
def audit_log() -> Any:
    f = AuditFilter(
        actor=arg("actor"),
        action=arg("action"),
        target=arg("target"),
        since=time_arg("since"),
        until=time_arg("until"),
    )
    with sessions()() as session:
        found = list_audit(session, actor(), f, listing_page())
        return listing("entries", found, [audit_json(e) for e in found.items])


@logs.get("/whoami")
@requires(AdminRole.VIEWER)
def whoami() -> Any:
    me = caller()
    with sessions()() as session:
        code = session.scalar(select(Operator.code).where(Operator.id == me.operator_id))
    return jsonify(id=me.token_id, name=me.name, role=me.role.value, operator=code)
