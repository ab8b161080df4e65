"""Bearer tokens for the operators' endpoints (the admin API, the dashboard's data): one decorator.

An `admin` token reads and writes; a `viewer` token only reads. An operator's token acts on that
operator's data only, a platform token on every operator's (`hotspot.operators.actor`). Without
a live token the answer is 401 with a Bearer challenge, never cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, g, jsonify, request

from hotspot.models import AdminRole
from hotspot.operators.actor import Actor
from hotspot.operators.tokens import authenticate
from hotspot.web import sessions

REALM = 'Bearer realm="hotspot-admin"'

View = Callable[..., Any]


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    role: AdminRole
    operator_id: int | None  # None: a platform token

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.operator_id)


def caller() -> Caller:
    """Who sent this request, once `requires` let it through."""
    found: Caller = g.caller
    return found


def requires(role: AdminRole) -> Callable[[View], View]:
    """The view runs only for a live token allowed `role`'s work: a viewer's is reading."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            refused = authorize(role)
            return refused if refused is not None else view(*args, **kwargs)

        return guarded

    return decorate


def authorize(role: AdminRole) -> Response | None:
    """None when the request may go on (its operator in `g`), else the refusal."""
    token = bearer_token()
    if token is None:
        return unauthorized("send the header 'Authorization: Bearer <token>'", REALM)
    with sessions().begin() as session:
        found = authenticate(session, token)
        if found is None:
            return unauthorized("unknown or revoked token", f'{REALM}, error="invalid_token"')
        g.caller = Caller(found.id, found.name, found.role, found.operator_id)
    if role is AdminRole.ADMIN and found.role is not AdminRole.ADMIN:
        response = jsonify(error=f"a {found.role.value} token may only read")
        response.status_code = 403
        return response
    return None


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def unauthorized(reason: str, challenge: str) -> Response:
    response = jsonify(error=reason)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge
    response.headers["Cache-Control"] = "no-store"
    return response
