"""The audit log: every operator's write adds a row in the same transaction as the change, so a
change and its record commit or roll back together.

Details never carry secrets: no passwords, NAS secrets, tokens or voucher codes. `audit` also
masks such keys should a caller ever pass one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.models import AuditEntry
from hotspot.operators.actor import Actor
from hotspot.operators.listing import Listing, Page, paged, time_range

SECRET_KEYS = frozenset({"password", "secret", "token", "token_hash", "code", "codes"})
REDACTED = "[redacted]"


def audit(
    session: Session,
    actor: Actor | str,
    action: str,
    target: str | None,
    detail: Mapping[str, Any],
    *,
    owner: int | None,
) -> AuditEntry:
    """One entry, shown to the operator `owner` whose data it changed (None: the platform's)."""
    entry = AuditEntry(
        actor=actor if isinstance(actor, str) else actor.name,
        operator_id=owner,
        action=action,
        target=target,
        detail=jsonable(dict(detail)),
    )
    session.add(entry)
    session.flush()
    return entry


def jsonable(value: Any) -> Any:
    """JSON-able, with any secret-named key masked: what the audit log and answers may show."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if str(k).lower() in SECRET_KEYS else jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_audit(session: Session, actor: Actor, f: AuditFilter, page: Page) -> Listing[AuditEntry]:
    stmt = actor.visible(select(AuditEntry), AuditEntry.operator_id)
    if f.actor:
        stmt = stmt.where(AuditEntry.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.target:
        stmt = stmt.where(AuditEntry.target == f.target)
    stmt = time_range(stmt, AuditEntry.created_at, f.since, f.until)
    return paged(session, stmt.order_by(AuditEntry.id.desc()), page)
