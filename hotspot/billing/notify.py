"""What happens after a payment commits: Redis cache, status events, background jobs.

The database is the source of truth; everything here is best effort. With Redis down a payment
still completes, the credentials endpoint reads the database and the SSE stream polls it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import redis
from redis.client import Pipeline
from rq import Retry
from rq.job import Job

from hotspot.access.provisioning import Credentials
from hotspot.adapters.job_queues import JobQueues
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import query_delay

log = logging.getLogger(__name__)

SCHEDULER_TICK = dt.timedelta(seconds=1)  # how often rq's scheduler looks for due jobs
REDIAL_JOB = "jobs.subscribers.redial"
CHANGE_USER_JOB = "jobs.live.change_user_sessions"  # CoA-Requests to an account's sessions
EXPIRE_DUE_JOB = "jobs.expiry.expire_due"
RECONCILE_JOB = "jobs.payments.reconcile_payment"


def credentials_key(payment_id: int) -> str:
    return f"hotspot:payment:{payment_id}:credentials"


def status_channel(payment_id: int) -> str:
    return f"hotspot:payment:{payment_id}:status"


@dataclass(frozen=True)
class JobSpec:
    """A job's enqueue arguments, for every place that enqueues that work."""

    func: str
    args: tuple[Any, ...]
    job_id: str
    retry: Retry | None = None

    def enqueue(self, queues: JobQueues, pipeline: Pipeline | None = None) -> None:
        queues.for_job(self.func).enqueue(
            self.func, *self.args, job_id=self.job_id, retry=self.retry, pipeline=pipeline
        )


def credentials_sms_job(payment_id: int) -> JobSpec:
    """One job per payment (a stable id), after each provisioning and by `jobs.recovery`."""
    return JobSpec(
        "jobs.sms.send_credentials",
        (payment_id,),
        job_id=f"sms-credentials-{payment_id}",
        # send_credentials raises only when Africa's Talking did not take the message.
        retry=Retry(max=5, interval=[10, 30, 60, 120, 300]),
    )


def notice_job(event: str, subject_id: int) -> JobSpec:
    """Telling people of an event (hotspot.operators.notifications); each message at most once
    whatever the retries."""
    return JobSpec(
        "jobs.notify.send_notices",
        (event, subject_id),
        job_id=f"notify-{event}-{subject_id}",
        retry=Retry(max=5, interval=[10, 30, 60, 120, 300]),
    )


def alert_webhook_job(event_id: int) -> JobSpec:
    """An alert event's one webhook (hotspot.operators.alerts); retried only while unsent."""
    return JobSpec(
        "jobs.alerts.post_alert_webhook",
        (event_id,),
        job_id=f"alert-webhook-{event_id}",
        retry=Retry(max=5, interval=[10, 30, 60, 120, 300]),
    )


def connect(url: str) -> redis.Redis:
    """Short timeouts: a Redis outage must cost a request milliseconds, not seconds."""
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@dataclass
class Notifier:
    redis: redis.Redis
    credentials_ttl: int

    # The expiry second most recently scheduled from this process: a busy second's payments all
    # end in the same second (same package), and its one job needs scheduling once.
    last_expiry_second: int | None = None

    @cached_property
    def queues(self) -> JobQueues:
        return JobQueues(self.redis)

    def batch(self, what: str, commands: Callable[[Pipeline], None]) -> bool:
        """Commands sent to Redis in one round trip, applied all together (MULTI/EXEC)."""

        def run() -> bool:
            with self.redis.pipeline() as pipe:
                pipe.multi()
                commands(pipe)
                pipe.execute()
            return True

        return bool(self._try(what, run))

    def cached_credentials(self, payment_id: int) -> Credentials | None:
        raw = self._try(
            "read cached credentials", lambda: self.redis.get(credentials_key(payment_id))
        )
        if not isinstance(raw, bytes | str):
            return None
        data = json.loads(raw)
        return Credentials(
            data["username"], data["password"], dt.datetime.fromisoformat(data["expires_at"])
        )

    def enqueue(self, func: str, *args: Any, job_id: str, retry: Retry | None = None) -> bool:
        """A job with a stable id: enqueueing the same work twice keeps one job. False when
        Redis did not take it (the caller decides whether that may pass unnoticed)."""
        queued = self._try(
            "enqueue " + func,
            lambda: self.queues.for_job(func).enqueue(func, *args, job_id=job_id, retry=retry),
        )
        return queued is not None

    def enqueue_missing(self, what: str, specs: list[JobSpec]) -> list[JobSpec]:
        """Enqueues those of the jobs Redis does not hold (never enqueued, or lost with Redis's
        data) and returns them; a job Redis holds in any state (waiting, retrying, failed) is
        left as it is. Nothing, when Redis is unreachable."""

        def run() -> list[JobSpec]:
            with self.redis.pipeline(transaction=False) as pipe:
                for spec in specs:
                    pipe.exists(Job.key_for(spec.job_id))
                held = pipe.execute()
            missing = [spec for spec, exists in zip(specs, held, strict=True) if not exists]
            if missing:
                with self.redis.pipeline() as pipe:
                    pipe.multi()
                    for spec in missing:
                        spec.enqueue(self.queues, pipe)
                    pipe.execute()
            return missing

        enqueued: list[JobSpec] = self._try(what, run) or []
        return enqueued

    def enqueue_in(self, delay: dt.timedelta, func: str, *args: Any, job_id: str) -> None:
        self._try(
            "schedule " + func,
            lambda: self.queues.for_job(func).enqueue_in(delay, func, *args, job_id=job_id),
        )

    def subscribe(self, payment_id: int) -> StatusSubscription:
        """Subscribed before the caller reads the current status, so no change slips between.

        Raises redis.RedisError when Redis is unreachable: the caller then polls the database.
        """
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(status_channel(payment_id))
        return StatusSubscription(pubsub)

    @staticmethod
    def _try(what: str, action: Any) -> Any:
        try:
            return action()
        except redis.RedisError as exc:
            log.warning("redis unavailable, could not %s: %s", what, exc)
            return None


@dataclass
class StatusSubscription:
    pubsub: Any

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        message = self.pubsub.get_message(timeout=timeout)
        if message is None or message["type"] != "message":
            return None
        event: dict[str, Any] = json.loads(message["data"])
        return event

    def close(self) -> None:
        self.pubsub.close()


def dispatch(
    after: AfterCommit,
    notifier: Notifier,
    also: Callable[[Pipeline], None] | None = None,
) -> None:
    """Runs the side effects a committed transaction collected, in one round trip to Redis;
    each is safe to repeat. `also` adds the caller's own commands to that round trip."""
    if (
        after.status_changes
        or after.provisioned
        or after.expiries
        or after.to_query
        or after.changed_users
        or after.redials
        or after.notices
    ):
        seconds = {int(credentials.expires_at.timestamp()) for credentials in after.expiries}
        seconds.discard(notifier.last_expiry_second or 0)
        done = notifier.batch(
            "run after-commit side effects",
            lambda pipe: side_effects(
                pipe,
                after=after,
                notifier=notifier,
                expiry_seconds=seconds,
                also=also,
            ),
        )
        if done and seconds:
            notifier.last_expiry_second = max(seconds)


def side_effects(
    pipe: Pipeline,
    *,
    after: AfterCommit,
    notifier: Notifier,
    expiry_seconds: set[int],
    also: Callable[[Pipeline], None] | None,
) -> None:
    queues = notifier.queues
    for payment_id, status in after.status_changes:
        pipe.publish(
            status_channel(payment_id), json.dumps({"id": payment_id, "status": status.value})
        )
    for payment_id, credentials in after.provisioned:
        cached = {
            "username": credentials.username,
            "password": credentials.password,
            "expires_at": credentials.expires_at.isoformat(),
        }
        pipe.set(credentials_key(payment_id), json.dumps(cached), ex=notifier.credentials_ttl)
        credentials_sms_job(payment_id).enqueue(queues, pipe)
    for second in expiry_seconds:
        # The expiry job decides by expires_at when it runs: an extension never cuts early.
        # One job per second of expiry, whoever's: a busy second is one batch.
        at = dt.datetime.fromtimestamp(second, dt.UTC)
        queues.for_job(EXPIRE_DUE_JOB).enqueue_at(
            at - SCHEDULER_TICK,
            EXPIRE_DUE_JOB,
            float(second),
            job_id=f"expire-at-{second}",
            pipeline=pipe,
        )
    for user_id, reason in after.changed_users:
        queues.for_job(CHANGE_USER_JOB).enqueue(CHANGE_USER_JOB, user_id, reason, pipeline=pipe)
    for subscriber_id in after.redials:
        queues.for_job(REDIAL_JOB).enqueue(REDIAL_JOB, subscriber_id, pipeline=pipe)
    for event, subject_id in after.notices:
        notice_job(event, subject_id).enqueue(queues, pipe)
    for payment_id, first_delay in after.to_query:
        queues.for_job(RECONCILE_JOB).enqueue_in(
            query_delay(first_delay, 0),
            RECONCILE_JOB,
            payment_id,
            0,
            first_delay,
            job_id=f"reconcile-{payment_id}-0",
            pipeline=pipe,
        )
    if also is not None:
        also(pipe)
