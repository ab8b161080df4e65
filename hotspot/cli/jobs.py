"""`hotspot jobs`: the background queues and their jobs, as `/api/admin/jobs` shows them (the
same use cases: the CLI acts as the platform, and its retries and deletes are audited)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import click
import redis

from hotspot.adapters.job_queues import QUEUES, JobQueues
from hotspot.cli.context import CLI_ACTOR, Context, pass_context
from hotspot.operators.job_admin import (
    STATES,
    JobFilter,
    JobView,
    delete_job,
    failed_ids,
    get_job,
    job_overview,
    list_jobs,
    retry_job,
)
from hotspot.operators.listing import Page


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs: the queues, what waits, runs and failed; retry and delete."""


@contextmanager
def job_queues(ctx: Context) -> Iterator[JobQueues]:
    connection = redis.Redis.from_url(
        ctx.settings.effective_redis_url, socket_connect_timeout=3, socket_timeout=10
    )
    try:
        yield JobQueues(connection)
    finally:
        connection.close()


@jobs_group.command("queues")
@pass_context
def jobs_queues(ctx: Context) -> None:
    """Each queue's waiting, scheduled, running and failed jobs, most urgent queue first."""
    with job_queues(ctx) as queues:
        counts = job_overview(queues, CLI_ACTOR)
    click.echo(f"{'queue':<10}{'queued':>8}{'scheduled':>11}{'started':>9}{'failed':>8}  oldest")
    for each in counts:
        click.echo(
            f"{each.name:<10}{each.queued:>8}{each.scheduled:>11}{each.started:>9}"
            f"{each.failed:>8}  {each.oldest_queued_seconds:.0f} s"
        )


@jobs_group.command("list")
@click.option("--queue", type=click.Choice(QUEUES), help="One queue (default: all).")
@click.option("--state", type=click.Choice(STATES), help="One state (default: all).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@pass_context
def jobs_list(ctx: Context, queue: str | None, state: str | None, limit: int) -> None:
    """Jobs by queue (most urgent first) and state, oldest first."""
    with job_queues(ctx) as queues:
        found = list_jobs(queues, CLI_ACTOR, JobFilter(queue, state), Page(limit=limit))
    for job in found.items:
        click.echo(line(job))
    if found.next_offset is not None:
        click.echo(f"… more: narrow with --queue/--state or raise --limit (now {limit})")


def line(job: JobView) -> str:
    when = job.due_at or job.started_at or job.enqueued_at
    shown = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if when else "-"
    args = ", ".join(str(each) for each in job.args)
    text = f"{job.queue:<8} {job.state:<9} {shown}  {job.id}  {job.function}({args})"
    return f"{text}  ! {job.error}" if job.error else text


@jobs_group.command("show")
@click.argument("job_id")
@pass_context
def jobs_show(ctx: Context, job_id: str) -> None:
    with job_queues(ctx) as queues:
        click.echo(line(get_job(queues, CLI_ACTOR, job_id)))


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed job (of --queue, or all).")
@click.option("--queue", type=click.Choice(QUEUES), help="With --all-failed: this queue's only.")
@pass_context
def jobs_retry(ctx: Context, job_ids: tuple[str, ...], all_failed: bool, queue: str | None) -> None:
    """Put failed jobs back at the end of their queues (audited, actor `cli`): those named, or
    with --all-failed every one (after the outage that made them fail, say)."""
    if bool(job_ids) == all_failed:
        raise click.UsageError("name the jobs, or --all-failed (not both)")
    with job_queues(ctx) as queues, ctx.transaction() as session:
        chosen = list(job_ids) or failed_ids(queues, CLI_ACTOR, queue)
        for job_id in chosen:
            click.echo(line(retry_job(session, queues, CLI_ACTOR, job_id)))
        if not chosen:
            click.echo("no failed jobs")


@jobs_group.command("delete")
@click.argument("job_ids", nargs=-1, required=True)
@pass_context
def jobs_delete(ctx: Context, job_ids: tuple[str, ...]) -> None:
    """Remove waiting, scheduled or failed jobs (audited, actor `cli`). Work the database still
    owes (an unsent SMS, an unanswered payment) is enqueued again by the recovery job."""
    with job_queues(ctx) as queues, ctx.transaction() as session:
        for job_id in job_ids:
            delete_job(session, queues, CLI_ACTOR, job_id)
            click.echo(f"deleted {job_id}")
