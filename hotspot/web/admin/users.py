"""`/api/admin/users` and `/api/admin/sessions`: customers' accounts and their sessions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.access.session_admin import SessionFilter, active_sessions, session_history
from hotspot.access.user_admin import (
    DisableUser,
    DisconnectUser,
    EnableUser,
    ExtendUser,
    UserFilter,
    disable_user,
    disconnect_user,
    enable_user,
    extend_expiry,
    get_user,
    open_radacct,
    recent_payments,
    search_users,
)
from hotspot.core.parsing import parse_enum, parse_ip
from hotspot.models import AdminRole, SessionStatus, UserStatus
from hotspot.operators.followups import Followups
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, finish, now
from hotspot.web.admin.reading import Body, arg, int_arg, listing_page, time_arg
from hotspot.web.admin.serializers import (
    listing,
    package_json,
    payment_json,
    radacct_json,
    session_json,
    user_json,
)
from hotspot.web.auth import requires

users = Blueprint("users", __name__)


@users.get("/users")
@requires(AdminRole.VIEWER)
def search() -> Any:
    f = UserFilter(
        q=arg("q"),
        phone=arg("phone"),
        username=arg("username"),
        status=parse_enum(arg("status"), UserStatus, "status"),
        package_id=int_arg("package_id"),
    )
    with sessions()() as session:
        found = search_users(session, actor(), f, listing_page(), settings().default_region)
        return listing("users", found, [user_json(u) for u in found.items])


@users.get("/users/<username>")
@requires(AdminRole.VIEWER)
def show(username: str) -> Any:
    with sessions()() as session:
        user = get_user(session, actor(), username)
        return jsonify(
            {
                **user_json(user),
                "package": package_json(user.package),
                "open_sessions": [radacct_json(a) for a in open_radacct(session, user.username)],
                "recent_payments": [payment_json(p) for p in recent_payments(session, user.id)],
            }
        )


@users.post("/users/<username>/extend")
@requires(AdminRole.ADMIN)
def extend(username: str) -> Any:
    body = Body(("days", "until"))
    command = ExtendUser(
        username,
        days=body.get("days", body.integer, None),
        until=body.get("until", body.time, None),
    )
    followups = Followups()
    with sessions().begin() as session:
        shown = user_json(extend_expiry(session, actor(), command, now=now(), followups=followups))
    finish(followups)
    return jsonify(shown)


@users.post("/users/<username>/disable")
@requires(AdminRole.ADMIN)
def disable(username: str) -> Any:
    followups = Followups()
    with sessions().begin() as session:
        user, open_sessions = disable_user(session, actor(), DisableUser(username), followups)
        shown = {**user_json(user), "disconnecting": open_sessions}
    finish(followups)
    return jsonify(shown)


@users.post("/users/<username>/enable")
@requires(AdminRole.ADMIN)
def enable(username: str) -> Any:
    with sessions().begin() as session:
        shown = user_json(enable_user(session, actor(), EnableUser(username), now()))
    return jsonify(shown)


@users.post("/users/<username>/disconnect")
@requires(AdminRole.ADMIN)
def disconnect(username: str) -> Any:
    followups = Followups()
    with sessions().begin() as session:
        user, open_sessions = disconnect_user(session, actor(), DisconnectUser(username), followups)
        shown = {"username": user.username, "disconnecting": open_sessions}
    finish(followups)
    return jsonify(shown), 202


def session_filter() -> SessionFilter:
    nas = arg("nas")
    return SessionFilter(
        username=arg("username"),
        nas=str(parse_ip(nas, "nas")) if nas is not None else None,
        status=parse_enum(arg("status"), SessionStatus, "status"),
        since=time_arg("since"),
        until=time_arg("until"),
    )


@users.get("/sessions/active")
@requires(AdminRole.VIEWER)
def active() -> Any:
    with sessions()() as session:
        found = active_sessions(session, actor(), session_filter(), listing_page())
        return listing("sessions", found, [radacct_json(a, u) for a, u in found.items])


@users.get("/sessions")
@requires(AdminRole.VIEWER)
def history() -> Any:
    with sessions()() as session:
        found = session_history(session, actor(), session_filter(), listing_page())
        return listing("sessions", found, [session_json(s, u) for s, u in found.items])
