"""A gateway's verdict applied to a payment (from a callback, a webhook or a query), and the status
queries that ask for the verdicts that never came."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import (
    provision_purchase,
)
from hotspot.adapters.collections import GatewayError, Outcome, Verdict
from hotspot.adapters.db import transaction
from hotspot.adapters.mpesa_collections import verdict_of
from hotspot.billing.gateways import GatewayFor
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
    """Applies an M-Pesa ResultCode (its callbacks') to a locked payment."""
    verdict = verdict_of(result_code, result_desc)
    settle_verdict(
        session, payment, verdict, receipt=receipt, amount_paid=amount_paid, source=source,
        after=after,
    )  # fmt: skip


def settle_verdict(
    session: Session,
    payment: Payment,
    verdict: Verdict,
    *,
    receipt: str | None,
    amount_paid: Decimal | None,
    source: str,
    after: AfterCommit,
) -> None:
    """Applies a gateway's verdict to a locked payment. A success provisions once, even after the
    payment was marked failed or expired (the money was taken); nothing undoes a success."""
    now = dt.datetime.now(dt.UTC)
    if payment.status is PaymentStatus.PAID:
        record(session, payment.id, f"duplicate_{source}", result_code=verdict.code)
        if verdict.outcome is Outcome.FAILED:
            # A provider reversing money it had paid (ioTec's RolledBack): access stays, people
            # are told.
            record(session, payment.id, "reversed_by_gateway", result_code=verdict.code)
            after.notices.append(("gateway_error", payment.id))
        return
    if verdict.outcome is Outcome.PENDING:
        return
    if verdict.outcome is Outcome.FAILED:
        record(session, payment.id, f"failed_by_{source}", result_code=verdict.code)
        if payment.status is PaymentStatus.PENDING:
            fail(payment, reason=verdict.message, result_code=verdict.code, now=now, after=after)
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
        receipt=receipt or verdict.receipt,
        username=credentials.username if credentials else None,
        expires_at=credentials.expires_at if credentials else None,
    )
    if credentials is not None:
        after.add_provisioned(payment.id, credentials)


NO_ANSWER = "No answer from the payment provider in time. You were not charged."
HELD = "held for an operator"


def held_because(payment: Payment, verdict: Verdict, currency: str) -> str | None:
    """Why a provider's "paid" must not become access by itself: it names another collection,
    or less money, or another currency, than this payment asked for."""
    if verdict.outcome is not Outcome.PAID:
        return None
    if verdict.external_id is not None and verdict.external_id != external_id(payment):
        return f"the gateway's answer names {verdict.external_id!r}, not this payment"
    if verdict.amount is not None and verdict.amount < payment.amount:
        return f"{verdict.amount} received, {payment.amount} asked for"
    if verdict.currency is not None and verdict.currency != currency:
        return f"paid in {verdict.currency}, not {currency}"
    return None


# Our reference of a payment at its gateway, shaped as a UUID (CamPay's docs ask for a UUID4),
# the payment's id in its last twelve hex digits: "48530000-0000-4000-8000-00000000002a".
EXTERNAL_PREFIX = "48530000-0000-4000-8000-"
EXTERNAL_DIGITS = 12


def external_id(payment: Payment) -> str:
    """ioTec's externalId and CamPay's external_reference: webhooks name it, answers echo it."""
    return f"{EXTERNAL_PREFIX}{payment.id:0{EXTERNAL_DIGITS}x}"


def payment_id_in(reference: str | None) -> int | None:
    """The payment an external id names, if it is one of ours."""
    if not reference or not reference.startswith(EXTERNAL_PREFIX):
        return None
    digits = reference.removeprefix(EXTERNAL_PREFIX)
    if len(digits) != EXTERNAL_DIGITS or any(c not in "0123456789abcdef" for c in digits):
        return None
    return int(digits, 16)


def apply_answer(
    session: Session,
    payment: Payment,
    verdict: Verdict,
    *,
    currency: str,
    source: str,
    after: AfterCommit,
) -> None:
    """A gateway's answer about a locked payment: settled with it, or held (failed with the
    reason, for an operator to resolve) when it does not match what was asked."""
    reason = held_because(payment, verdict, currency)
    if reason is None:
        settle_verdict(
            session, payment, verdict, receipt=None, amount_paid=verdict.amount, source=source,
            after=after,
        )  # fmt: skip
        return
    record(session, payment.id, "held", reason=reason, receipt=verdict.receipt)
    after.notices.append(("gateway_error", payment.id))
    if payment.status is PaymentStatus.PENDING:
        now = dt.datetime.now(dt.UTC)
        fail(payment, reason=f"{reason}: {HELD}", result_code="held", now=now, after=after)


def reconcile(
    sessions: sessionmaker[Session],
    gateway_for: GatewayFor,
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
        reference = payment.checkout_request_id
        created_at = payment.created_at
        ours = external_id(payment)
        # Queried with the app that asked: its operator's own, or the installation's.
        gateway = gateway_for(payment.operator_id, payment.gateway)
    verdict: Verdict | None = None
    error: str | None = None
    try:
        # A start that timed out left no reference: found by ours where the gateway can.
        verdict = gateway.status(reference) if reference is not None else gateway.find(ours)
    except GatewayError as exc:
        error = str(exc)
    with transaction(sessions) as session:
        payment = lock(session, payment_id)
        record(
            session,
            payment_id,
            "query",
            pending=verdict.outcome is Outcome.PENDING if verdict else None,
            result_code=verdict.code if verdict else None,
            error=error,
            raw=verdict.raw if verdict else None,
        )
        if payment.status is not PaymentStatus.PENDING:
            return None
        if reference is None and verdict is not None and verdict.external_id == ours:
            payment.checkout_request_id = verdict.reference
        if verdict is not None and verdict.outcome is not Outcome.PENDING:
            apply_answer(
                session, payment, verdict, currency=gateway.currency, source="query", after=after
            )
            return None
        now = dt.datetime.now(dt.UTC)
        if now - created_at >= window:
            expire(payment, reason=NO_ANSWER, now=now, after=after)
            record(session, payment_id, "expired")
            return None
    return window - (dt.datetime.now(dt.UTC) - created_at)


def ask_again(
    sessions: sessionmaker[Session], gateway_for: GatewayFor, payment_id: int, after: AfterCommit
) -> str:
    """One more question about a payment that expired unanswered (`billing.recovery`'s late
    sweep): a payer who approved after the window, whose webhook was lost, still gets access."""
    with sessions() as session:
        payment = session.get_one(Payment, payment_id)
        if payment.status is not PaymentStatus.EXPIRED or payment.checkout_request_id is None:
            return payment.status.value
        reference = payment.checkout_request_id
        gateway = gateway_for(payment.operator_id, payment.gateway)
    try:
        verdict: Verdict | None = gateway.status(reference)
        error = None
    except GatewayError as exc:
        verdict, error = None, str(exc)
    with transaction(sessions) as session:
        payment = lock(session, payment_id)
        record(session, payment_id, "late_query", result_code=verdict.code if verdict else None,
               error=error, raw=verdict.raw if verdict else None)  # fmt: skip
        if verdict is not None and verdict.outcome is Outcome.PAID:
            apply_answer(
                session, payment, verdict, currency=gateway.currency, source="late_query",
                after=after,
            )  # fmt: skip
        return payment.status.value


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
