"""The admin API for operators: `/api/admin/…`, bearer tokens, every write audited.

Each area's handlers (one module each) read the request into a command, call one use case in a
transaction, run what must follow the commit (jobs, Redis) and serialize. `admin` tokens read and
write; `viewer` tokens only read (`hotspot.web.auth.requires` on every handler). Nothing returned
here carries a password, a NAS secret or a token (voucher codes are shown once, in the answer
that created them).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy.exc import DataError, IntegrityError

from hotspot.web.admin.jobs import jobs
from hotspot.web.admin.logs import logs
from hotspot.web.admin.operators import operators
from hotspot.web.admin.packages import packages
from hotspot.web.admin.payments import payments
from hotspot.web.admin.routers import routers
from hotspot.web.admin.subscribers import subscribers
from hotspot.web.admin.users import users
from hotspot.web.admin.vouchers import vouchers

admin = Blueprint("admin", __name__, url_prefix="/api/admin")
for area in (operators, packages, routers, users, payments, vouchers, logs, subscribers, jobs):
    admin.register_blueprint(area)


@admin.errorhandler(IntegrityError)
def integrity_error(error: IntegrityError) -> Any:
    # A concurrent write won a race the checks could not see (e.g. the same name twice).
    return jsonify(error="conflicts with existing data; reload and try again"), 409


@admin.errorhandler(DataError)
def data_error(error: DataError) -> Any:
    return jsonify(error="a value is out of range or malformed"), 422
