"""The URL Africa's Talking POSTs delivery reports to (form-encoded, one per message).

Set it in AT's dashboard (SMS → SMS Callback URLs → Delivery Reports). Bad input is a 400 and an
unknown message id a 404, each with the reason; a database outage is a 503, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from hotspot.errors import InvalidInputError
from hotspot.sms import record_delivery_report
from hotspot.web import sessions

log = logging.getLogger(__name__)

sms = Blueprint("sms", __name__, url_prefix="/api")


@sms.post("/sms/delivery-report")
def delivery_report() -> Any:
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
