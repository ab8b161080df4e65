"""The background jobs, seen, retried and deleted by the installation's admins
(`/api/admin/jobs`, `hotspot jobs`).

A job may concern any operator's customer, so only the platform sees them. Every retry and
delete is audited. Deleting a job does not undo what the database still owes: the recovery job
enqueues again an SMS not yet sent or a payment still unanswered (the database is the truth);
to stop such work, change the payment or the message, not its job.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import BaseRegistry
from sqlalchemy.orm import Session

from hotspot.adapters.job_queues import QUEUES, JobQueues, QueueCounts, queue_counts
from hotspot.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page

STATES = ("queued", "scheduled", "started", "failed")
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # what rq takes
ERROR_LENGTH = 300
MAX_OFFSET = 10_000  # a listing reads every id before its page


@dataclass(frozen=True)
class JobFilter:
    queue: str | None = None
    state: str | None = None

    def __post_init__(self) -> None:
        if self.queue is not None and self.queue not in QUEUES:
            raise InvalidInputError(f"queue: one of {', '.join(QUEUES)}")
        if self.state is not None and self.state not in STATES:
            raise InvalidInputError(f"state: one of {', '.join(STATES)}")

    def queues(self) -> tuple[str, ...]:
        return QUEUES if self.queue is None else (self.queue,)

    def states(self) -> tuple[str, ...]:
        return STATES if self.state is None else (self.state,)


@dataclass(frozen=True)
class JobView:
    id: str
    queue: str
    state: str
    function: str
    args: list[Any]
    enqueued_at: dt.datetime | None
    due_at: dt.datetime | None  # scheduled: when it runs
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    retries_left: int | None
    error: str | None  # a failed job's exception, its last line


def require_platform(actor: Actor) -> None:
    if not actor.platform:
        raise ForbiddenError("only a platform token sees the background jobs")


def job_overview(queues: JobQueues, actor: Actor) -> list[QueueCounts]:
    require_platform(actor)
    return queue_counts(queues)


def list_jobs(queues: JobQueues, actor: Actor, wanted: JobFilter, page: Page) -> Listing[JobView]:
    """By queue (most urgent first), then state, oldest first within each."""
    require_platform(actor)
    if page.offset > MAX_OFFSET:
        raise InvalidInputError(f"offset: at most {MAX_OFFSET}; narrow by queue and state")
    needed = page.offset + page.limit + 1
    found: list[tuple[str, str, str]] = []
    for name in wanted.queues():
        for state in wanted.states():
            if len(found) >= needed:
                break
            found += [(name, state, job_id) for job_id in ids(queues, name, state, needed)]
    window = found[page.offset : needed]
    shown = window[: page.limit]
    # The page's jobs in one round trip; one that finished meanwhile is left out.
    fetched = Job.fetch_many([job_id for *_, job_id in shown], connection=queues.connection)
    views = [
        view(queues, name, state, job)
        for (name, state, _), job in zip(shown, fetched, strict=True)
        if job is not None
    ]
    return Listing(views, page, page.offset + page.limit if len(window) > page.limit else None)


def ids(queues: JobQueues, name: str, state: str, most: int) -> list[str]:
    queue = queues.named(name)
    if state == "queued":
        return [str(each) for each in queue.get_job_ids(0, most)]
    return registry(queues, name, state).get_job_ids(0, most - 1, cleanup=False)


def registry(queues: JobQueues, name: str, state: str) -> BaseRegistry:
    queue = queues.named(name)
    registries: dict[str, BaseRegistry] = {
        "scheduled": queue.scheduled_job_registry,
        "started": queue.started_job_registry,
        "failed": queue.failed_job_registry,
    }
    return registries[state]


def view(queues: JobQueues, name: str, state: str, job: Job) -> JobView:
    due = None
    if state == "scheduled":
        due = queues.named(name).scheduled_job_registry.get_scheduled_time(job)
    result = job.latest_result() if state == "failed" else None
    error = result.exc_string if result is not None else None
    return JobView(
        id=job.id,
        queue=name,
        state=state,
        function=job.func_name or "",
        args=[*job.args, *(f"{k}={v!r}" for k, v in job.kwargs.items())],
        enqueued_at=job.enqueued_at,
        due_at=due,
        started_at=job.started_at,
        ended_at=job.ended_at,
        retries_left=job.retries_left,
        error=last_line(error) if error else None,
    )


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:ERROR_LENGTH]


def get_job(queues: JobQueues, actor: Actor, job_id: str) -> JobView:
    """Where the job is now: the first queue and state that holds its id."""
    require_platform(actor)
    if not JOB_ID.fullmatch(job_id):
        raise NotFoundError("no such job")
    job = Job.fetch_many([job_id], connection=queues.connection)[0]
    if job is not None and job.origin in QUEUES:
        for state in STATES:
            if holds(queues, job.origin, state, job_id):
                return view(queues, job.origin, state, job)
    raise NotFoundError("no such job (finished jobs are kept only briefly)")


def holds(queues: JobQueues, name: str, state: str, job_id: str) -> bool:
    connection = queues.connection
    if state == "queued":
        return connection.lpos(queues.named(name).key, job_id) is not None
    if state == "started":
        return job_id in registry(queues, name, state).get_job_ids(cleanup=False)
    return connection.zscore(registry(queues, name, state).key, job_id) is not None


def retry_job(session: Session, queues: JobQueues, actor: Actor, job_id: str) -> JobView:
    """A failed job back at the end of its queue, its retries as the job was made."""
    found = get_job(queues, actor, job_id)
    if found.state != "failed":
        raise ConflictError(f"only a failed job is retried; this one is {found.state}")
    try:
        queues.named(found.queue).failed_job_registry.requeue(job_id)
    except InvalidJobOperation:
        raise ConflictError("the job is no longer failed (retried by someone else?)") from None
    audit(session, actor, "job.retry", f"job {job_id}", described(found), owner=None)
    return get_job(queues, actor, job_id)


def failed_ids(queues: JobQueues, actor: Actor, queue: str | None) -> list[str]:
    """Every failed job's id (of one queue, or all), for retrying them together."""
    wanted = JobFilter(queue, "failed")
    require_platform(actor)
    return [
        job_id for name in wanted.queues() for job_id in ids(queues, name, "failed", MAX_OFFSET)
    ]


def delete_job(session: Session, queues: JobQueues, actor: Actor, job_id: str) -> JobView:
    """A waiting, scheduled or failed job removed; a running one is left to finish."""
    found = get_job(queues, actor, job_id)
    if found.state == "started":
        raise ConflictError("the job is running; delete it once it has finished or failed")
    try:
        Job.fetch(job_id, connection=queues.connection).delete()
    except NoSuchJobError:
        raise NotFoundError("no such job (it finished meanwhile)") from None
    audit(session, actor, "job.delete", f"job {job_id}", described(found), owner=None)
    return found


def described(found: JobView) -> dict[str, Any]:
    return {"queue": found.queue, "state": found.state, "function": found.function}
