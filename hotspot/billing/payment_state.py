"""Everything that changes a payment row: its locks, its state, and the trail of events.

A payment's status changes only here (`pay`, `fail`, `expire`), so which change is allowed and
what goes with it is written once; every settlement path (callback, query, C2B, an operator's
resolve) and the SQL fast path (`callbacks`) come through it or are checked against it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from hotspot.access.provisioning import Credentials
from hotspot.billing.gateways import FAILURE_KINDS
from hotspot.billing.gateways import failure_kind as gateway_failure_kind
from hotspot.core import storable
from hotspot.core.errors import NotFoundError
from hotspot.models import Payment, PaymentEvent, PaymentStatus

PENDING, PAID, FAILED, EXPIRED, UNMATCHED = (
    PaymentStatus.PENDING,
    PaymentStatus.PAID,
    PaymentStatus.FAILED,
    PaymentStatus.EXPIRED,
    PaymentStatus.UNMATCHED,
)
# Where a payment may go from each state. A success is final: nothing undoes it. Money M-Pesa
# took after we stopped waiting (failed, expired) still becomes access, and C2B money whose
# reference named nobody is paid once an operator names the account.
NEXT_STATES: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PENDING: frozenset({PAID, FAILED, EXPIRED}),
    FAILED: frozenset({PAID}),
    EXPIRED: frozenset({PAID}),
    UNMATCHED: frozenset({PAID}),
    PAID: frozenset(),
}


@dataclass
class AfterCommit:
    """Side effects to run once the transaction is committed (Redis, jobs)."""

    status_changes: list[tuple[int, PaymentStatus]] = field(default_factory=list)
    provisioned: list[tuple[int, Credentials]] = field(default_factory=list)
    # Payments to ask their gateway about, and after how many seconds first.
    to_query: list[tuple[int, int]] = field(default_factory=list)
    expiries: list[Credentials] = field(default_factory=list)
    # Accounts whose sessions online get CoA-Requests (`jobs.live`), and why.
    changed_users: list[tuple[int, str]] = field(default_factory=list)
    # PPPoE subscribers whose cut-off a payment moved: their sessions redial (`jobs.subscribers`).
    redials: list[int] = field(default_factory=list)
    # Events to tell people of (`jobs.notify`): (event, the payment or other subject's id).
    notices: list[tuple[str, int]] = field(default_factory=list)

    def add_provisioned(self, payment_id: int, credentials: Credentials) -> None:
        """New access: its credentials cached and sent, and its expiry scheduled; a renewal's
        sessions online told their new end and limits."""
        self.provisioned.append((payment_id, credentials))
        self.expiries.append(credentials)
        if credentials.renewal and credentials.user_id is not None:
            self.changed_users.append((credentials.user_id, "renewal"))

    def clear(self) -> None:
        """Forgets what a rolled-back transaction collected."""
        self.status_changes.clear()
        self.provisioned.clear()
        self.to_query.clear()
        self.expiries.clear()
        self.changed_users.clear()
        self.redials.clear()
        self.notices.clear()


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


# Why a payment failed, as a word a program can branch on (the portal picks its message by it);
# `failure_reason` says it in English for people. Each gateway's codes for the reasons customers
# can act on (`billing.gateways.FAILURE_KINDS`); `expired` also when the gateway never answered
# within the window; `not_sent` when it could not be asked at all; anything else is `other`.
KINDS_OF_FAILURE = (
    *dict.fromkeys(kind for kinds in FAILURE_KINDS.values() for kind in kinds.values()),
    "not_sent",
    "other",
)


def failure_kind(payment: Payment) -> str | None:
    """None unless the payment failed or expired."""
    if payment.status is EXPIRED:
        return "expired"
    if payment.status is not FAILED:
        return None
    if payment.result_code is None:
        return "not_sent"
    # A payment not yet flushed has no server default yet: an M-Pesa one, as before gateways.
    return gateway_failure_kind(payment.gateway or "mpesa", payment.result_code)


# --- state changes ------------------------------------------------------------------------------


class ForbiddenTransitionError(RuntimeError):
    """A code path asked for a change NEXT_STATES forbids: a bug, never a customer's input."""


def pay(
    payment: Payment,
    *,
    now: dt.datetime,
    after: AfterCommit,
    receipt: str | None = None,
    amount_paid: Decimal | None = None,
) -> None:
    """Money received. A callback reports its receipt and amount; a query reports neither (the
    amount asked for is what was paid); C2B money already holds both, and the time it came."""
    _move(payment, PAID, now, after)
    payment.result_code = "0"
    payment.failure_reason = None
    if receipt is not None:
        payment.mpesa_receipt = receipt
    if amount_paid is not None:
        payment.amount_paid = amount_paid
    elif payment.amount_paid is None:
        payment.amount_paid = payment.amount
    payment.paid_at = payment.paid_at or now


def fail(
    payment: Payment,
    *,
    reason: str,
    now: dt.datetime,
    after: AfterCommit,
    result_code: str | None = None,
) -> None:
    """M-Pesa said no (the customer cancelled, a wrong PIN) or could not be asked."""
    _move(payment, FAILED, now, after)
    if result_code is not None:
        payment.result_code = result_code
    payment.failure_reason = reason


def expire(payment: Payment, *, reason: str, now: dt.datetime, after: AfterCommit) -> None:
    """No verdict from M-Pesa within the payment's window."""
    _move(payment, EXPIRED, now, after)
    payment.failure_reason = reason


def _move(payment: Payment, to: PaymentStatus, now: dt.datetime, after: AfterCommit) -> None:
    if to not in NEXT_STATES[payment.status]:
        raise ForbiddenTransitionError(
            f"payment {payment.id} cannot go from {payment.status.value} to {to.value}"
        )
    payment.status = to
    payment.updated_at = now
    after.status_changes.append((payment.id, to))
