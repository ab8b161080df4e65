"""Webhooks of gateways that sign them weakly or not at all (ioTec's static header, CamPay's JWT
that carries no transaction data): each is verified, kept, and then used only as a trigger. The
gateway's status endpoint is asked, and its answer settles the payment through the same path as
a query, so a forged body, a replayed signature or a duplicate changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.collections import (
    GatewayError,
    Outcome,
    Verdict,
    WebhookRejectedError,
    WebhookReport,
)
from hotspot.adapters.db import transaction
from hotspot.billing.gateways import CollectionGateway, GatewayFor
from hotspot.billing.mpesa import raw_text
from hotspot.billing.payment_state import AfterCommit, lock, record
from hotspot.billing.settlement import apply_answer, external_id, payment_id_in
from hotspot.core.errors import InvalidInputError
from hotspot.models import Payment, PaymentStatus


@dataclass(frozen=True)
class Webhook:
    gateway: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


def handle_webhook(
    sessions: sessionmaker[Session], gateway_for: GatewayFor, hook: Webhook, after: AfterCommit
) -> str:
    """What became of the webhook (for the log): settled, pending, duplicate, unknown, error.
    Raises InvalidInputError (→ 400) for an unreadable one and WebhookRejectedError (→ 401) for
    one without the app's proof; both are kept in the trail first."""
    try:
        report = gateway_for(None, hook.gateway).parse_webhook(hook.query, hook.body)
    except InvalidInputError as exc:
        keep(sessions, None, hook, "webhook_rejected", str(exc))
        raise
    payment_id, operator_id = matching_payment(sessions, hook.gateway, report)
    gateway = gateway_for(operator_id, hook.gateway)
    try:
        gateway.verify_webhook(hook.headers, report)
    except WebhookRejectedError as exc:
        keep(sessions, payment_id, hook, "webhook_rejected", str(exc))
        raise
    if payment_id is None:
        keep(sessions, None, hook, "orphan_webhook", "names no payment of ours")
        return "unknown"
    # The gateway that verified it is the payment's (its operator's app, its gateway's name).
    return settle_by_asking(sessions, gateway, payment_id, report, after)


def settle_by_asking(
    sessions: sessionmaker[Session],
    gateway: CollectionGateway,
    payment_id: int,
    report: WebhookReport,
    after: AfterCommit,
) -> str:
    with sessions() as session:
        payment = session.get_one(Payment, payment_id)
        # Paid already, and the webhook says so too: nothing to ask. (One saying the money was
        # reversed is asked about: access stays, but people are told.)
        settled = payment.status is PaymentStatus.PAID and report.claimed is not Outcome.FAILED
        # A webhook that outran the collect's bookkeeping names the reference to ask about.
        reference = payment.checkout_request_id or report.reference
    verdict: Verdict | None = None
    error = None
    if not settled and reference is not None:
        try:
            verdict = gateway.status(reference)
        except GatewayError as exc:
            error = str(exc)  # the query chain asks again
    with transaction(sessions) as session:
        locked = lock(session, payment_id)
        record(session, payment_id, "webhook", raw=report.raw, claimed=report.claimed.value)
        if locked.status is PaymentStatus.PAID and verdict is None:
            # A duplicate, or the poll was first: nothing to change.
            record(session, payment_id, "duplicate_webhook")
            return "duplicate"
        record(
            session,
            payment_id,
            "query",
            result_code=verdict.code if verdict else None,
            error=error,
            raw=verdict.raw if verdict else None,
        )
        if verdict is None:
            return "error"
        if locked.checkout_request_id is None:
            # Only an answer naming this payment may give it the webhook's reference.
            if verdict.external_id != external_id(locked):
                record(session, payment_id, "webhook_ignored", reason="answer names no payment")
                return "unknown"
            locked.checkout_request_id = reference
        apply_answer(
            session, locked, verdict, currency=gateway.currency, source="webhook", after=after
        )
        return locked.status.value


def matching_payment(
    sessions: sessionmaker[Session], gateway: str, report: WebhookReport
) -> tuple[int | None, int | None]:
    """(payment id, operator id) a webhook names, by the gateway's reference or, when that is
    not stored yet, by our external id; (None, None) for another gateway's or nobody's."""
    with sessions() as session:
        found = None
        if report.reference:
            found = session.execute(
                select(Payment.id, Payment.operator_id).where(
                    Payment.checkout_request_id == report.reference, Payment.gateway == gateway
                )
            ).one_or_none()
        number = payment_id_in(report.external_id)
        if found is None and number is not None:
            found = session.execute(
                select(Payment.id, Payment.operator_id).where(
                    Payment.id == number, Payment.gateway == gateway
                )
            ).one_or_none()
    return (found.id, found.operator_id) if found is not None else (None, None)


def keep(
    sessions: sessionmaker[Session], payment_id: int | None, hook: Webhook, kind: str, reason: str
) -> None:
    """A webhook nobody believed, raw, for audit."""
    with transaction(sessions) as session:
        record(
            session,
            payment_id,
            kind,
            gateway=hook.gateway,
            reason=reason,
            query=dict(hook.query),
            raw=raw_text(hook.body),
        )
