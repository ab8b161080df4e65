"""Reconciliation: a pending payment with no callback is asked about with STK Query."""

from __future__ import annotations

import datetime as dt

from hotspot.billing.notify import dispatch
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import query_delay, reconcile
from jobs import services

MINIMUM = dt.timedelta(seconds=1)


def reconcile_payment(payment_id: int, attempt: int = 0, first_delay: int | None = None) -> str:
    """Queries once; while the gateway is still processing, schedules the next query further
    out (from `first_delay`, the gateway's; M-Pesa's for jobs queued before gateways had one)."""
    s = services()
    first = s.settings.mpesa_query_first_delay if first_delay is None else first_delay
    after = AfterCommit()
    left = reconcile(
        s.sessions,
        s.gateway_for,
        payment_id,
        window=dt.timedelta(seconds=s.settings.mpesa_payment_window),
        after=after,
    )
    dispatch(after, s.notifier)
    if left is None:
        return "settled"
    next_attempt = attempt + 1
    s.notifier.enqueue_in(
        # The last query lands at the end of the window, where it expires the payment.
        min(query_delay(first, next_attempt), max(left, MINIMUM)),
        "jobs.payments.reconcile_payment",
        payment_id,
        next_attempt,
        first,
        job_id=f"reconcile-{payment_id}-{next_attempt}",
    )
    return "pending"
