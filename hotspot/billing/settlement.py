"""M-Pesa's verdict applied to a payment (from a callback or a query), and the STK queries that
ask for the verdicts that never came."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import (
    provision_purchase,
)
from hotspot.adapters.daraja import (
    GatewayError,
    StkQueryResult,
    result_message,
)
from hotspot.adapters.db import transaction
from hotspot.billing.mpesa import Gateway
from hotspot.billing.payment_state import AfterCommit, expire, fail, lock, pay, record
from hotspot.models import (
    Package,
    Payment,
    PaymentStatus,
)


def settle(
    session: Session,
    payment: Payment,
    *,
    result_code: str,
    result_desc: str,
    receipt: str | None,
    amount_paid: Decimal | None,
    source: str,
    after: AfterCommit,
) -> None:
    """Applies M-Pesa's verdict to a locked payment. A success provisions once, even after the
    payment was marked failed or expired (the money was taken); nothing undoes a success."""
    now = dt.datetime.now(dt.UTC)
    if payment.status is PaymentStatus.PAID:
        record(session, payment.id, f"duplicate_{source}", result_code=result_code)
        return
    if result_code != "0":
        record(session, payment.id, f"failed_by_{source}", result_code=result_code)
        if payment.status is PaymentStatus.PENDING:
            reason = result_message(result_code)
            fail(payment, reason=reason, result_code=result_code, now=now, after=after)
        return
    package = payment.package or session.get_one(Package, payment.package_id)
    pay(payment, receipt=receipt, amount_paid=amount_paid, now=now, after=after)
    # Raises anything but InvalidInputError: no caller may commit this payment without it.
    credentials = provision_purchase(session, payment, package, now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        source=source,
        receipt=receipt,
        username=credentials.username if credentials else None,
        expires_at=credentials.expires_at if credentials else None,
    )
    if credentials is not None:
        after.add_provisioned(payment.id, credentials)


NO_ANSWER = "No answer from M-Pesa in time. You were not charged."


def reconcile(
    sessions: sessionmaker[Session],
    gateway_for: Callable[[int], Gateway],
    payment_id: int,
    *,
    window: dt.timedelta,
    after: AfterCommit,
) -> dt.timedelta | None:
    """Queries one pending payment: None once it is settled, else the time left in its window."""
    with sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.status is not PaymentStatus.PENDING:
            return None
        checkout_request_id = payment.checkout_request_id
        created_at = payment.created_at
        operator_id = payment.operator_id
    result: StkQueryResult | None = None
    error: str | None = None
    if checkout_request_id is not None:
        try:
            # Queried with the app that pushed it: its operator's own, or the installation's.
            result = gateway_for(operator_id).stk_query(checkout_request_id)
        except GatewayError as exc:
            error = str(exc)
    with transaction(sessions) as session:
        payment = lock(session, payment_id)
        record(
            session,
            payment_id,
            "query",
            pending=result.pending if result else None,
            result_code=result.result_code if result else None,
            error=error,
            raw=result.raw if result else None,
        )
        if payment.status is not PaymentStatus.PENDING:
            return None
        if result is not None and not result.pending and result.result_code is not None:
            settle(
                session,
                payment,
                result_code=result.result_code,
                result_desc=result.result_desc or "",
                receipt=None,
                amount_paid=None,
                source="query",
                after=after,
            )
            return None
        now = dt.datetime.now(dt.UTC)
        if now - created_at >= window:
            expire(payment, reason=NO_ANSWER, now=now, after=after)
            record(session, payment_id, "expired")
            return None
    return window - (dt.datetime.now(dt.UTC) - created_at)


def query_delay(first: int, attempt: int) -> dt.timedelta:
    """10 s, then 20, 40, 80 … after each unanswered query."""
    return dt.timedelta(seconds=first * 2**attempt)


def longest_query_gap(first: int, window: dt.timedelta) -> dt.timedelta:
    """The longest a pending payment waits between two queries of its chain
    (`jobs.payments.reconcile_payment`): the doubling delays, the last cut to land at the end of
    the window. 150 s for 10 s and 300 s: a payment quiet for longer has lost its chain."""
    at = longest = query_delay(first, 0)
    attempt = 0
    while at < window:
        attempt += 1
        gap = max(min(query_delay(first, attempt), window - at), dt.timedelta(seconds=1))
        longest, at = max(longest, gap), at + gap
    return longest
