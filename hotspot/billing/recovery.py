"""Work that lived only in Redis, found again in the database (`jobs.recovery`, every minute).

After a payment commits, its follow-up work is enqueued in Redis (`hotspot.billing.notify`), best
effort: with Redis down at that moment, or restarted without its data, it is lost. Two kinds
matter, and the database tells which were lost:

- a pending payment nobody has queried lately: its reconcile chain is gone. It is queried
  once here (the chain's own `reconcile`), which settles it, or expires it at the end of
  HOTSPOT_MPESA_PAYMENT_WINDOW, exactly as its chain would have; no new chain is started. A
  payment whose chain is alive is left alone: "lately" is longer than the chain ever waits
  between two queries (`longest_query_gap`).
- a paid purchase whose password is still kept and which has no credentials SMS row: its SMS
  job is enqueued again (same job id, same retries), unless Redis still holds that job.

And one kind of work no chain does: an ioTec or CamPay collection that expired unanswered is
asked about again, once an hour for a day (`expired_unanswered`): its payer may have approved it
late, and the webhook saying so been lost.

Expiries need nothing here: the `jobs.expiry.expire_due` sweep catches them. One run at a time
(a PostgreSQL advisory lock); each step is safe to repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Text, cast, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.retention import PASSWORD_KEPT
from hotspot.adapters.sms import CREDENTIALS_KEY_PREFIX
from hotspot.billing.gateways import GatewayFor
from hotspot.billing.notify import Notifier, credentials_sms_job, dispatch
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import ask_again, longest_query_gap, reconcile
from hotspot.core.settings import Settings
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    SmsMessage,
)

log = logging.getLogger(__name__)

GRACE = dt.timedelta(seconds=60)  # the after-commit jobs' time to start before they count as lost
SLACK = dt.timedelta(seconds=30)  # a chain's query running late (a busy worker, the scheduler)
BATCH = 100  # payments of each kind per run, oldest first
LATE_WINDOW = dt.timedelta(hours=24)  # an expired collection is asked about again this long
LATE_GAP = dt.timedelta(hours=1)  # ... once an hour
# pg_try_advisory_xact_lock(int, int): a key space apart from lock_checkout's one bigint.
LOCK = (func.hashtext("hotspot"), func.hashtext("recover_lost_work"))


@dataclass
class Recovered:
    queried: int = 0
    asked_late: int = 0  # expired ioTec/CamPay collections asked about again
    # paid, failed, expired; pending (still, in its window); settled_meanwhile (by a callback)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    sms_enqueued: int = 0
    busy: bool = False  # another run holds the lock

    def __bool__(self) -> bool:
        return bool(self.queried or self.asked_late or self.errors or self.sms_enqueued)

    def fields(self) -> dict[str, object]:
        return {
            "queried": self.queried,
            **{f"queried_{outcome}": n for outcome, n in sorted(self.outcomes.items())},
            "asked_late": self.asked_late,
            "query_errors": self.errors,
            "sms_enqueued": self.sms_enqueued,
        }

    def __str__(self) -> str:
        if self.busy:
            return "another run is recovering"
        return ", ".join(f"{name} {value}" for name, value in self.fields().items())


def quiet_for(first_delay: int, window: dt.timedelta) -> dt.timedelta:
    """How long a pending payment goes unqueried before its chain counts as lost."""
    return max(GRACE, longest_query_gap(first_delay, window) + SLACK)


def unqueried_payments(session: Session, quiet: dt.timedelta, limit: int = BATCH) -> list[int]:
    """Pending STK pushes over GRACE old with no query for `quiet` (or ever), oldest first; read
    through ix_payments_status_created_at."""
    recent_query = select(PaymentEvent.id).where(
        PaymentEvent.payment_id == Payment.id,
        PaymentEvent.kind == "query",
        PaymentEvent.created_at > func.now() - quiet,
    )
    return list(
        session.scalars(
            select(Payment.id)
            .where(
                Payment.status == PaymentStatus.PENDING,
                Payment.created_at < func.now() - GRACE,
                Payment.method == PaymentMethod.STK,
                # An ioTec or CamPay start that timed out has no reference and is still asked
                # about (by our external id) or expired at the end of its window.
                or_(Payment.checkout_request_id.is_not(None), Payment.gateway != "mpesa"),
                ~recent_query.exists(),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
    )


def expired_unanswered(session: Session, limit: int = BATCH) -> list[int]:
    """ioTec and CamPay collections that expired unanswered within LATE_WINDOW and were not asked
    again for LATE_GAP: the payer may have approved late, and the webhook been lost. (M-Pesa's
    STK push cannot be approved after its prompt is gone.)"""
    asked_lately = select(PaymentEvent.id).where(
        PaymentEvent.payment_id == Payment.id,
        PaymentEvent.kind == "late_query",
        PaymentEvent.created_at > func.now() - LATE_GAP,
    )
    return list(
        session.scalars(
            select(Payment.id)
            .where(
                Payment.status == PaymentStatus.EXPIRED,
                Payment.gateway != "mpesa",
                Payment.created_at > func.now() - LATE_WINDOW,
                Payment.checkout_request_id.is_not(None),
                ~asked_lately.exists(),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
    )


def unsent_credentials(session: Session, retention: dt.timedelta, limit: int = BATCH) -> list[int]:
    """Paid purchases whose credentials (over GRACE old, password still kept) were never claimed
    by the SMS job, oldest first; only those to an account with a phone, as `send_credentials`
    sends. Read through ix_hotspot_credentials_kept_created_at."""
    sms = select(SmsMessage.id).where(
        SmsMessage.idempotency_key
        == literal(CREDENTIALS_KEY_PREFIX) + cast(HotspotCredential.payment_id, Text)
    )
    return [
        payment_id
        for payment_id in session.scalars(
            select(HotspotCredential.payment_id)
            .join(Payment, Payment.id == HotspotCredential.payment_id)
            .join(HotspotUser, HotspotUser.id == HotspotCredential.user_id)
            .where(
                PASSWORD_KEPT,
                HotspotCredential.created_at < func.now() - GRACE,
                HotspotCredential.created_at > func.now() - retention,
                Payment.status == PaymentStatus.PAID,
                HotspotUser.phone.is_not(None),
                ~sms.exists(),
            )
            .order_by(HotspotCredential.created_at)
            .limit(limit)
        )
        if payment_id is not None
    ]


def recover_lost_work(
    settings: Settings,
    sessions: sessionmaker[Session],
    notifier: Notifier,
    gateway_for: GatewayFor,
) -> Recovered:
    window = dt.timedelta(seconds=settings.mpesa_payment_window)
    recovered = Recovered()
    with sessions() as guard, guard.begin():
        # Held until this run ends (or its connection does): a second run finds it taken.
        if not guard.scalar(select(func.pg_try_advisory_xact_lock(*LOCK))):
            recovered.busy = True
            return recovered
        with sessions() as session:
            unsent = unsent_credentials(session, dt.timedelta(seconds=settings.cleartext_retention))
            pending = unqueried_payments(
                session, quiet_for(settings.mpesa_query_first_delay, window)
            )
            late = expired_unanswered(session)
        enqueued = notifier.enqueue_missing(
            "re-enqueue lost credentials SMS", [credentials_sms_job(each) for each in unsent]
        )
        recovered.sms_enqueued = len(enqueued)
        for payment_id in pending:
            after = AfterCommit()
            left = guarded(
                recovered,
                payment_id,
                partial(reconcile, sessions, gateway_for, payment_id, window=window, after=after),
            )
            if left is FAILED:
                continue
            dispatch(after, notifier)
            recovered.queried += 1
            changed = [status.value for _, status in after.status_changes]
            outcome = changed[-1] if changed else "pending" if left else "settled_meanwhile"
            recovered.outcomes[outcome] += 1
        for payment_id in late:
            after = AfterCommit()
            status = guarded(
                recovered, payment_id, partial(ask_again, sessions, gateway_for, payment_id, after)
            )
            if status is FAILED:
                continue
            dispatch(after, notifier)
            recovered.asked_late += 1
            if status == PaymentStatus.PAID.value:
                recovered.outcomes["late_paid"] += 1
    return recovered


FAILED = object()  # what `guarded` returns when the step raised


def guarded(recovered: Recovered, payment_id: int, step: Callable[[], object]) -> object:
    """Whatever fails one payment (its chain would have failed too) spares the others."""
    try:
        return step()
    except Exception:
        log.exception(
            "recovering payment %s failed",
            payment_id,
            extra={"fields": {"event": "lost_work_error", "payment_id": payment_id}},
        )
        recovered.errors += 1
        return FAILED
