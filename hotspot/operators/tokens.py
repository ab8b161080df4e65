"""Admin tokens: bearer values for the admin API, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, InvalidInputError, NotFoundError
from hotspot.core.values import required_text
from hotspot.models import AdminRole, AdminToken

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 200
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, role: AdminRole | str, operator_id: int | None
) -> str:
    """A new bearer token, returned once: only its SHA-256 is stored."""
    return issue_token(session, name, role, operator_id)[1]


def issue_token(
    session: Session, name: str, role: AdminRole | str, operator_id: int | None
) -> tuple[AdminToken, str]:
    """The stored row and the token itself, for `operator_id`'s data (None: every operator's).

    Names are unique among live tokens, so the audit log's actor (the name) is unambiguous.
    """
    name = required_text(name, "name", 100)
    try:
        role = AdminRole(role)
    except ValueError:
        known = ", ".join(r.value for r in AdminRole)
        raise InvalidInputError(f"role must be one of: {known}") from None
    clash = session.scalar(
        select(AdminToken.id).where(AdminToken.name == name, AdminToken.revoked_at.is_(None))
    )
    if clash is not None:
        raise ConflictError(f"a live token named {name!r} already exists (id {clash})")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = AdminToken(name=name, role=role, operator_id=operator_id, token_hash=token_digest(token))
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str, now: dt.datetime | None = None) -> AdminToken | None:
    """The live token this bearer value is, or None.

    The lookup is by SHA-256 of the presented value: what the database compares is a hash the
    caller cannot steer byte by byte, so timing reveals nothing about stored tokens.
    `last_used_at` is written at most once a minute, not on every request.
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    found = session.scalar(select(AdminToken).where(AdminToken.token_hash == token_digest(token)))
    if found is None or found.revoked_at is not None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        found.last_used_at = now
    return found


def revoke_token(session: Session, token_id: int, now: dt.datetime | None = None) -> AdminToken:
    token = session.get(AdminToken, token_id, with_for_update=True)
    if token is None:
        raise NotFoundError(f"no token {token_id}")
    if token.revoked_at is not None:
        raise ConflictError(f"token {token_id} ({token.name}) was already revoked")
    token.revoked_at = now or dt.datetime.now(dt.UTC)
    return token


def list_tokens(session: Session) -> list[AdminToken]:
    return list(session.scalars(select(AdminToken).order_by(AdminToken.id)))
