"""The operator dashboard: `GET /admin/dashboard` (a page) and its data, `…/data.json`.

The page holds no data and needs no token; it asks for an admin or viewer token once, keeps it in
the tab's sessionStorage and sends it as `Authorization: Bearer` with each data request. The data
endpoint answers 401 without a live token. Charts are SVG drawn by the page's own script; nothing
is fetched from anywhere else, and the Content-Security-Policy says so.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, make_response, render_template, request, url_for
from sqlalchemy import text

from hotspot.core.errors import InvalidInputError
from hotspot.models import AdminRole
from hotspot.reports import queries
from hotspot.web import sessions
from hotspot.web.auth import caller, requires

dashboard = Blueprint(
    "dashboard", __name__, url_prefix="/admin/dashboard", template_folder="templates"
)

DEFAULT_DAYS = 30
STATEMENT_TIMEOUT = "15s"  # a year of data answers in a second or two; never hold a worker longer


def page_headers(response: Response, nonce: str) -> Response:
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@dashboard.get("")
def show() -> Any:
    nonce = secrets.token_urlsafe(16)
    html = render_template("dashboard/index.html", nonce=nonce, data_url=url_for("dashboard.data"))
    return page_headers(make_response(html), nonce)


def requested_days() -> queries.Days:
    """?days=N (the last N days, today included; default 30) or ?from=…&to=… (YYYY-MM-DD)."""
    first, last = request.args.get("from"), request.args.get("to")
    if first or last:
        try:
            end = dt.date.fromisoformat(last) if last else queries.today()
            start = dt.date.fromisoformat(first) if first else end - dt.timedelta(days=29)
        except ValueError:
            raise InvalidInputError("from and to must be dates, YYYY-MM-DD") from None
        days = queries.Days(start, end)
    else:
        raw = request.args.get("days", str(DEFAULT_DAYS))
        if not raw.isdigit():
            raise InvalidInputError("days must be a whole number")
        days = queries.Days.ending(queries.today(), int(raw))
    if days.count > queries.MAX_DAYS:
        raise InvalidInputError(f"at most {queries.MAX_DAYS} days at a time")
    return days


@dashboard.get("/data.json")
@requires(AdminRole.VIEWER)
def data() -> Any:
    days = requested_days()
    with sessions().begin() as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        session.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
        body = queries.dashboard(session, days, caller().operator_id)  # None: the platform
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
