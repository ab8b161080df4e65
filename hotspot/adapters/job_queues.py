"""The rq queues, by urgency, and which one each job goes to.

A worker takes the next job from the first of its queues that has one (rq's BLPOP over them in
order), so a backlog of SMS or reports never holds up a Disconnect-Request:

- `urgent`: cutting off and changing sessions (expiry, Disconnect/CoA, logouts, redials), the
  payment queries a customer watches on the portal, alert webhooks, and the scheduler's
  heartbeat;
- `default`: the accounting sync and the sweeps that follow it, recovery of lost work;
- `sms`: every message to a customer or an operator;
- `reports`: rollups, retention, partitions: work nobody waits for.

Jobs enqueued before queues were split sit in `default`, which every worker still serves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import redis
from rq import Queue
from rq.job import Job
from rq.utils import str_to_date

URGENT = "urgent"
DEFAULT = "default"
MESSAGES = "sms"
REPORTS = "reports"
QUEUES = (URGENT, DEFAULT, MESSAGES, REPORTS)  # in the order workers serve them

# By the job's dotted path: the longest matching prefix wins; anything else is `default`.
ROUTES = {
    "jobs.expiry": URGENT,
    "jobs.live": URGENT,
    "jobs.dynauth": URGENT,
    "jobs.payments": URGENT,
    "jobs.subscribers.redial": URGENT,
    "jobs.schedule.heartbeat": URGENT,
    "jobs.alerts": URGENT,
    "jobs.sms": MESSAGES,
    "jobs.notify": MESSAGES,
    "jobs.reminders": MESSAGES,
    "jobs.reports": REPORTS,
    "jobs.retention": REPORTS,
    "jobs.partitions": REPORTS,
}


@cache  # a handful of job names, asked on every payment's after-commit
def queue_for(func: str) -> str:
    matches = [prefix for prefix in ROUTES if func == prefix or func.startswith(prefix + ".")]
    return ROUTES[max(matches, key=len)] if matches else DEFAULT


def parse_queues(names: str) -> tuple[str, ...]:
    """A worker's queues from `urgent,sms`: known names only, kept in the order of urgency."""
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    unknown = wanted - set(QUEUES)
    if unknown or not wanted:
        raise ValueError(f"queues are some of {', '.join(QUEUES)}; not {sorted(unknown)}")
    return tuple(name for name in QUEUES if name in wanted)


class JobQueues:
    """One rq Queue per name on one connection (a Queue asks Redis for its version once)."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._queues: dict[str, Queue] = {}

    def named(self, name: str) -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.connection)
        return self._queues[name]

    def for_job(self, func: str) -> Queue:
        return self.named(queue_for(func))

    def all(self) -> list[Queue]:
        return [self.named(name) for name in QUEUES]


@dataclass(frozen=True)
class QueueCounts:
    """What a queue holds now: waiting, due later (delays and retries), running, failed."""

    name: str
    queued: int
    scheduled: int
    started: int
    failed: int
    oldest_queued_seconds: float  # how long its next job has waited; 0 when empty


def queue_counts(queues: JobQueues) -> list[QueueCounts]:
    """Every queue's counts in two round trips, read straight from rq's keys: counting through
    rq's registries would first clean them up (writes) on every scrape. Entries of the started
    and failed registries are scored by when they expire, so lapsed ones are not counted."""
    now = time.time()
    every = queues.all()
    with queues.connection.pipeline(transaction=False) as pipe:
        for queue in every:
            pipe.llen(queue.key)
            pipe.zcard(queue.scheduled_job_registry.key)
            pipe.zcount(queue.started_job_registry.key, now, "+inf")
            pipe.zcount(queue.failed_job_registry.key, now, "+inf")
            pipe.lindex(queue.key, 0)
        answers = pipe.execute()
    rows = [answers[n : n + 5] for n in range(0, len(answers), 5)]
    with queues.connection.pipeline(transaction=False) as pipe:
        for *_, first in rows:
            pipe.hget(Job.key_for(first.decode()) if first else "rq:job:-", "enqueued_at")
        enqueued = pipe.execute()
    counts = []
    for queue, (queued, scheduled, started, failed, _), since in zip(
        every, rows, enqueued, strict=True
    ):
        waited = now - str_to_date(since).timestamp() if queued and since else 0.0
        counts.append(QueueCounts(queue.name, queued, scheduled, started, failed, max(waited, 0.0)))
    return counts
