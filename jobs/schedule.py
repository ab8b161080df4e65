"""Every periodic job, in one place, with its interval from the settings, and the scheduler that
enqueues them: rq's `CronScheduler` with a leader lease, so that any number may run.

Only the holder of the lease (`hotspot:scheduler:leader`, `LEASE_TTL` s, renewed every
`RENEW_INTERVAL` s with a compare-and-set) enqueues; the others stand by, trying for the lease
every `RETRY_INTERVAL` s. A leader stopped cleanly releases it (compare-and-delete) and a standby
takes over within a second; one killed outright is replaced within `LEASE_TTL` (+ a retry). A
new leader carries on each job's schedule from its last enqueue by anyone (rq's cron registry),
so a takeover neither waits a fresh interval nor, mostly, runs a job twice. Every scheduler,
leader or standby, refreshes `hotspot:scheduler:alive:<hostname>` on each turn of its loop: that
is what `hotspot health scheduler` checks.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Literal, cast

import redis
from rq import cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested

from hotspot.adapters.job_queues import queue_for
from hotspot.adapters.redis_names import (
    SCHEDULER_HEARTBEAT_KEY,
    SCHEDULER_LEASE_KEY,
    scheduler_alive_key,
)
from hotspot.core.settings import Settings
from jobs import services

HEARTBEAT_KEY = SCHEDULER_HEARTBEAT_KEY
HEARTBEAT_INTERVAL = 10
REPORTS_REFRESH_INTERVAL = 3600  # the rollups hold the rows before the hour of a refresh
FORGET_PASSWORDS_INTERVAL = 600  # a password outlives HOTSPOT_CLEARTEXT_RETENTION by at most this
RECOVER_LOST_WORK_INTERVAL = 60  # payment queries and SMS lost with Redis, found again
REMINDERS_INTERVAL = 60  # a reminder comes within a minute of its time

LEASE_TTL = 15.0  # seconds a leader that stopped renewing (killed, frozen, cut off) still leads
RENEW_INTERVAL = 5.0  # the leader renews this often: two renewals may fail before it is lost
RETRY_INTERVAL = 1.0  # a standby tries for the lease this often
ALIVE_TTL = 15.0  # a scheduler whose loop has not turned for this long is unhealthy

log = logging.getLogger("hotspot.scheduler")


def periodic_jobs(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("jobs.accounting.sync_accounting_job", settings.accounting_sync_interval),
        ("jobs.expiry.expire_due", settings.expiry_sweep_interval),
        ("jobs.subscribers.block_overdue", settings.expiry_sweep_interval),
        ("jobs.schedule.heartbeat", HEARTBEAT_INTERVAL),
        ("jobs.reports.refresh_reports", REPORTS_REFRESH_INTERVAL),
        ("jobs.retention.forget_old_passwords", FORGET_PASSWORDS_INTERVAL),
        ("jobs.recovery.recover_lost_work", RECOVER_LOST_WORK_INTERVAL),
        ("jobs.reminders.send_due_reminders", REMINDERS_INTERVAL),
    ]


def cron(settings: Settings, connection: redis.Redis) -> LeaderCronScheduler:
    scheduler = LeaderCronScheduler(connection)
    for func, interval in periodic_jobs(settings):
        scheduler.register(
            import_function(func),
            queue_name=queue_for(func),
            interval=interval,
            result_ttl=interval * 2,
            job_timeout=max(interval, 600),
        )
    return scheduler


def import_function(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def heartbeat() -> float:
    """Run by a worker from the cron's queue: its freshness proves cron, queue and worker live."""
    now = time.time()
    s = services()
    s.redis.set(HEARTBEAT_KEY, str(now), ex=s.settings.worker_heartbeat_ttl)
    return now


# --- one scheduler enqueues at a time ------------------------------------------------------------

# Both compare the holder first: a lease that expired and was taken by another is never touched.
RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """A lease in Redis held by one holder at a time, lost by a holder that stops renewing it.

    `held` is this side's conservative view: the lease counts from just *before* the request
    that took or renewed it, so it ends here no later than in Redis.
    """

    def __init__(self, connection: redis.Redis, key: str, ttl: float, holder: str) -> None:
        self.connection = connection
        self.key = key
        self.ttl = ttl
        self.holder = holder
        self.valid_until = 0.0  # time.monotonic()
        self._renew = connection.register_script(RENEW_SCRIPT)
        self._release = connection.register_script(RELEASE_SCRIPT)

    @property
    def held(self) -> bool:
        return time.monotonic() < self.valid_until

    def acquire_or_renew(self) -> Literal["renewed", "acquired"] | None:
        """Renew the lease if it is ours, else take it if nobody holds it; None: another does."""
        started = time.monotonic()
        ttl_ms = max(1, round(self.ttl * 1000))
        outcome: Literal["renewed", "acquired"] | None = None
        if self._renew(keys=[self.key], args=[self.holder, ttl_ms]):
            outcome = "renewed"
        elif self.connection.set(self.key, self.holder, nx=True, px=ttl_ms):
            outcome = "acquired"
        self.valid_until = started + self.ttl if outcome else 0.0
        return outcome

    def release(self) -> None:
        self.valid_until = 0.0
        self._release(keys=[self.key], args=[self.holder])

    def current_holder(self) -> str | None:
        raw = self.connection.get(self.key)
        return None if raw is None else cast(bytes, raw).decode(errors="replace")


class LeaderCronScheduler(CronScheduler):
    """rq's CronScheduler that enqueues only while it holds the leader lease.

    `register(...)` and `start()` are rq's; each turn of rq's loop (`enqueue_jobs`) first takes
    or renews the lease and refreshes this host's liveness key, and enqueues only as the leader.
    rq's loop sleeps until the next job is due; here no longer than `renew_interval` for a
    leader, `retry_interval` for a standby. A Redis error is logged and the loop carries on (as a
    standby until Redis answers again), so a Redis restart does not stop the scheduler.
    """

    def __init__(
        self,
        connection: redis.Redis,
        *,
        lease_key: str = SCHEDULER_LEASE_KEY,
        lease_ttl: float = LEASE_TTL,
        renew_interval: float = RENEW_INTERVAL,
        retry_interval: float = RETRY_INTERVAL,
        alive_key: str | None = None,
        alive_ttl: float = ALIVE_TTL,
        name: str = "",
    ) -> None:
        if not 0 < renew_interval < lease_ttl:
            raise ValueError("the lease must be renewed more often than it lasts")
        if not 0 < max(renew_interval, retry_interval) < alive_ttl:
            raise ValueError("the loop must turn more often than its liveness key lasts")
        super().__init__(connection=connection, name=name)
        self.renew_interval = renew_interval
        self.retry_interval = retry_interval
        self.lease = Lease(
            connection, lease_key, lease_ttl, f"{self.hostname}:{self.pid}:{uuid.uuid4().hex}"
        )
        self.alive_key = alive_key or scheduler_alive_key(self.hostname)
        self.alive_ttl = alive_ttl
        self.leading = False  # as last logged
        self.standing_by = False  # as last logged
        self.redis_down = False  # as last logged
        self._stop_requested = threading.Event()

    def _fields(self, **more: Any) -> dict[str, Any]:
        return {"fields": {"holder": self.lease.holder, "lease_key": self.lease.key, **more}}

    # --- rq's loop, with the lease --------------------------------------------------------------

    def enqueue_jobs(self) -> list[CronJob]:
        if self._stop_requested.is_set():
            raise StopRequested
        try:
            leading = self.keep_lease()
        except redis.RedisError as exc:
            self.redis_failed(exc)
            return []
        if self.redis_down:
            self.redis_down = False
            log.info("scheduler: redis answers", extra=self._fields(event="scheduler_redis_up"))
        if not leading:
            return []
        try:
            return super().enqueue_jobs()
        except redis.RedisError as exc:
            self.redis_failed(exc)
            return []

    def redis_failed(self, exc: redis.RedisError) -> None:
        """Logged once per outage; the loop then turns every `retry_interval` s."""
        if not self.redis_down:
            self.redis_down = True
            log.warning(
                "scheduler: redis error, enqueuing nothing until it answers",
                extra=self._fields(event="scheduler_redis_down", error=type(exc).__name__),
            )

    def keep_lease(self) -> bool:
        """Take or renew the lease, log a change of role, refresh the liveness key."""
        try:
            outcome = self.lease.acquire_or_renew()
        finally:
            if self.leading and not self.lease.held:
                self.lost_leadership()
        if outcome == "acquired" and self.leading:
            self.lost_leadership()  # it had expired or gone (a Redis restart): taken afresh
        if outcome and not self.leading:
            self.resume_schedule()
            self.leading, self.standing_by = True, False
            log.info(
                "scheduler gained the leadership: it enqueues the periodic jobs",
                extra=self._fields(event="scheduler_leadership_gained", ttl=self.lease.ttl),
            )
        elif not outcome and not self.standing_by:
            self.standing_by = True
            log.info(
                "scheduler standing by: another holds the leadership",
                extra=self._fields(
                    event="scheduler_standing_by", leader=self.lease.current_holder()
                ),
            )
        alive = {"role": "leader" if outcome else "standby", "holder": self.lease.holder}
        self.connection.set(
            self.alive_key,
            json.dumps({**alive, "at": time.time()}),
            px=round(self.alive_ttl * 1000),
        )
        return self.leading and self.lease.held

    def lost_leadership(self) -> None:
        self.leading = False
        log.warning(
            "scheduler lost the leadership: it stops enqueuing",
            extra=self._fields(event="scheduler_leadership_lost"),
        )

    def resume_schedule(self) -> None:
        """Carry on where the last leader left off: each job is next due one interval (or its
        next cron time) after its last enqueue by any scheduler, at once if that is past or
        unknown. rq alone would enqueue every interval job at once when a scheduler starts."""
        jobs = self.get_jobs()
        with self.connection.pipeline(transaction=False) as pipeline:
            for job in jobs:
                pipeline.zscore(cron_job_registry.get_registry_key(), job.name)
            scores: list[float | None] = pipeline.execute()
        for job, score in zip(jobs, scores, strict=True):
            if score is not None:
                job.set_enqueue_time(datetime.fromtimestamp(score, tz=UTC))
            elif job.interval:
                job.latest_enqueue_time = job.next_enqueue_time = None  # due now

    def calculate_sleep_interval(self) -> float:
        if self.lease.held and not self.redis_down:
            return min(super().calculate_sleep_interval(), self.renew_interval)
        return self.retry_interval

    def heartbeat(self) -> None:
        try:
            super().heartbeat()
        except redis.RedisError as exc:
            self.redis_failed(exc)

    def _install_signal_handlers(self) -> None:
        """rq's SIGTERM/SIGINT handlers, where Python allows them (in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()  # type: ignore[no-untyped-call]

    def request_stop(self) -> None:
        """Stop `start()` at its next turn (from another thread), releasing the lease."""
        self._stop_requested.set()

    def save(self, pipeline: redis.client.Pipeline | None = None) -> None:
        try:
            super().save(pipeline)
        except redis.RedisError as exc:
            self.redis_failed(exc)

    def register_death(self, pipeline: redis.client.Pipeline | None = None) -> None:
        """On a clean stop: release the lease (a standby takes over at its next try)."""
        was_leading, self.leading = self.leading, False
        try:
            with suppress(SchedulerNotFound):  # rq's registry lost it (a Redis restart)
                super().register_death(pipeline)
            self.lease.release()
            self.connection.delete(self.alive_key)
        except redis.RedisError:
            return  # the lease expires by itself
        if was_leading:
            log.info(
                "scheduler released the leadership",
                extra=self._fields(event="scheduler_leadership_released"),
            )
