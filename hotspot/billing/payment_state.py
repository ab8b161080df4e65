"""Everything that changes a payment row: its locks, its state, and the trail of events.

A payment's status changes only here (`pay`, `fail`, `expire`), so which change is allowed and
what goes with it is written once; every settlement path (callback, query, C2B, an operator's
resolve) and the SQL fast path (`callbacks`) come through it or are checked against it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from hotspot.access.provisioning import (
    Credentials,
)
from hotspot.core import storable
from hotspot.core.errors import NotFoundError
from hotspot.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
)


@dataclass
class AfterCommit:
    """Side effects to run once the transaction is committed (Redis, jobs)."""

    status_changes: list[tuple[int, PaymentStatus]] = field(default_factory=list)
    provisioned: list[tuple[int, Credentials]] = field(default_factory=list)
    to_query: list[int] = field(default_factory=list)
    expiries: list[Credentials] = field(default_factory=list)

    def add_provisioned(self, payment_id: int, credentials: Credentials) -> None:
        """New access: its credentials cached and sent, and its expiry scheduled."""
        self.provisioned.append((payment_id, credentials))
        self.expiries.append(credentials)

    def clear(self) -> None:
        """Forgets what a rolled-back transaction collected."""
        self.status_changes.clear()
        self.provisioned.clear()
        self.to_query.clear()
        self.expiries.clear()


def record(session: Session, payment_id: int | None, kind: str, **detail: Any) -> None:
    """Written at once, in order, with plain SQL: the trail is append-only, nothing reads it back
    in the same transaction, and a callback should not pay the ORM's bookkeeping for it."""
    session.execute(
        PAYMENT_EVENTS.insert(),
        {"payment_id": payment_id, "kind": kind, "detail": _jsonable(detail)},
    )


PAYMENT_EVENTS = cast(Table, PaymentEvent.__table__)


def _jsonable(value: Any) -> Any:
    """What jsonb holds: even a rejected body with unstorable text is kept, cleaned."""
    return storable.cleaned(json.loads(json.dumps(value, default=str)))


def lock_checkout(session: Session, checkout_request_id: str) -> None:
    """Serializes the push's bookkeeping and the callbacks of one CheckoutRequestID (until
    commit): a callback that outruns the bookkeeping is filed as an orphan and committed before
    the bookkeeping looks for orphans, so it is always found by one side or the other."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(checkout_request_id))))


def lock(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        raise NotFoundError(f"no payment {payment_id}")
    return payment


def timeline(session: Session, payment_id: int) -> list[PaymentEvent]:
    return list(
        session.scalars(
            select(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id)
            .order_by(PaymentEvent.created_at, PaymentEvent.id)
        )
    )
