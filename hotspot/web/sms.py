"""The URL Africa's Talking POSTs delivery reports to (form-encoded, one per message).

Set it in AT's dashboard (SMS → SMS Callback URLs → Delivery Reports) with the secret token,
HOTSPOT_SMS_DELIVERY_REPORT_TOKEN, as its last segment: reports carry no signature, so without
the token anyone could mark messages delivered or failed. A wrong token is a 404. Bad input is a
400 and an unknown message id a 404, each with the reason; a database outage is a 503, never a
500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from hotspot.adapters.sms import record_delivery_report
from hotspot.core.errors import InvalidInputError
from hotspot.web import check_path_token, sessions, settings

log = logging.getLogger(__name__)

sms = Blueprint("sms", __name__, url_prefix="/api")


@sms.post("/sms/delivery-report/<token>")
def delivery_report(token: str) -> Any:
    check_path_token(token, settings().sms_delivery_report_token)
    form = request.form
    try:
        with sessions().begin() as session:
            message = record_delivery_report(
                session,
                message_id=form.get("id", ""),
                status=form.get("status", ""),
                failure_reason=form.get("failureReason"),
            )
            shown = {"id": message.provider_message_id, "status": message.status.value}
    except InvalidInputError as exc:
        abort(400, str(exc))
    except SQLAlchemyError:
        log.exception("delivery report not recorded")
        abort(503, "the report could not be recorded; send it again")
    return jsonify(shown)
