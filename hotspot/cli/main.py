"""The `hotspot` command."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
import psycopg
import redis
from rq import SimpleWorker
from sqlalchemy.exc import DBAPIError

import jobs
from hotspot.access.user_admin import CreateUser, DisconnectUser, create_user, disconnect_user
from hotspot.adapters.freeradius import FreeRadiusConfigError
from hotspot.adapters.freeradius.check import check_raddb
from hotspot.adapters.freeradius.params import raddb_params
from hotspot.adapters.freeradius.render import render_raddb
from hotspot.adapters.job_queues import QUEUES, parse_queues
from hotspot.billing.payment_admin import get_payment, payment_events
from hotspot.catalog.packages import active_packages, package_by_name
from hotspot.cli.context import (
    CLI_ACTOR,
    UNAVAILABLE,
    USAGE_ERROR,
    Context,
    pass_context,
    unreachable,
)
from hotspot.cli.database import db_group
from hotspot.cli.deploy import deploy_group
from hotspot.cli.dev import nas_sim, run, sandbox_group
from hotspot.cli.health import health_group
from hotspot.cli.jobs import jobs_group
from hotspot.cli.mpesa import mpesa_group
from hotspot.cli.reports import report_command
from hotspot.cli.tokens import tokens_group
from hotspot.cli.vouchers import vouchers_group
from hotspot.core.deployment import RADIUS_SECRETS, require_deployable, require_startable
from hotspot.core.errors import HotspotError
from hotspot.core.logs import configure_logging
from hotspot.core.settings import (
    Settings,
)
from hotspot.dev.stack import StackError
from hotspot.operators.followups import Followups
from jobs.schedule import cron


@click.group()
@click.version_option(package_name="hotspot", prog_name="hotspot")
def cli() -> None:
    """Hotspot AAA and billing backend.

    Exit codes: 0 done; 1 failed; 2 bad input or settings; 69 the database or Redis is
    unreachable (one line on stderr says which, and why).
    """


cli.add_command(tokens_group)
cli.add_command(report_command)
cli.add_command(mpesa_group)
cli.add_command(deploy_group)
cli.add_command(health_group)
cli.add_command(sandbox_group)
cli.add_command(nas_sim)
cli.add_command(run)
cli.add_command(db_group)
cli.add_command(jobs_group)
cli.add_command(vouchers_group)


def main() -> None:
    """Bad input is one line on stderr and exit code 2; a stack that cannot start, exit 1; a
    database or Redis that does not answer, one line and exit code 69 (sysexits' UNAVAILABLE)."""
    try:
        cli.main(standalone_mode=False)
    except (DBAPIError, psycopg.OperationalError, redis.RedisError) as exc:
        reason = unreachable(exc)
        if reason is None:
            raise
        click.echo(f"error: {reason}", err=True)
        sys.exit(UNAVAILABLE)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (HotspotError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    except (StackError, FreeRadiusConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@cli.command("config")
@pass_context
def show_config(ctx: Context) -> None:
    """Print the effective settings as JSON, secrets masked."""
    click.echo(ctx.settings.to_json())


# --- FreeRADIUS --------------------------------------------------------------------------------


@cli.group("freeradius")
def freeradius_group() -> None:
    """FreeRADIUS configuration."""


@freeradius_group.command("render")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@click.option("--check/--no-check", default=True, help="Run `freeradius -XC` on the result.")
@pass_context
def freeradius_render(ctx: Context, out: Path, check: bool) -> None:
    """Write a complete raddb (Debian defaults plus ours) into OUT."""
    require_deployable(ctx.settings, needs=RADIUS_SECRETS)
    raddb = render_raddb(out, raddb_params(ctx.settings, ctx.settings.state_dir / "log" / "radius"))
    if check:
        check_raddb(raddb)
    click.echo(f"raddb written to {raddb}")


# --- users and packages ------------------------------------------------------------------------


@cli.group("packages")
def packages_group() -> None:
    """Packages on sale."""


@packages_group.command("list")
@click.option("--operator", "operator_code", help="Whose (its code); default: the only operator.")
@pass_context
def packages_list(ctx: Context, operator_code: str | None) -> None:
    with ctx.transaction() as session:
        operator = CLI_ACTOR.owner(session, operator_code)
        for package in active_packages(session, operator.id):
            cap = f"{package.data_cap_bytes / 2**30:g} GiB" if package.data_cap_bytes else "no cap"
            click.echo(
                f"{package.name:<12} {package.currency} {package.price:>8} "
                f"{dt.timedelta(seconds=package.duration_seconds)!s:>16} {cap:>10} "
                f"{package.rate_limit:>8} {package.devices} device(s)"
            )


@cli.group("users")
def users_group() -> None:
    """Hotspot users."""


@users_group.command("create")
@click.option("--package", "package_name", required=True, help="Package name, e.g. '1 Hour'.")
@click.option("--phone", default=None, help="Customer phone (07…, +2547…).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def users_create(ctx: Context, package_name: str, phone: str | None, as_json: bool) -> None:
    """Create a user valid for the package's duration from now (audited, actor `cli`)."""
    followups = Followups()
    with ctx.transaction() as session:
        command = CreateUser(package_by_name(session, package_name).id, phone)
        credentials = create_user(
            session,
            CLI_ACTOR,
            command,
            region=ctx.settings.default_region,
            now=dt.datetime.now(dt.UTC),
            followups=followups,
        )
    ctx.finish(followups)
    shown = {
        "username": credentials.username,
        "password": credentials.password,
        "expires_at": credentials.expires_at.isoformat(),
    }
    if as_json:
        click.echo(json.dumps(shown))
    else:
        for key, value in shown.items():
            click.echo(f"{key}: {value}")


@users_group.command("disconnect")
@click.argument("username")
@pass_context
def users_disconnect(ctx: Context, username: str) -> None:
    """Disconnect every open session of the user, as the admin API does: audited (actor `cli`),
    the Disconnect-Requests sent by the worker (outcomes in session_disconnections)."""
    followups = Followups()
    with ctx.transaction() as session:
        user, open_sessions = disconnect_user(
            session, CLI_ACTOR, DisconnectUser(username), followups
        )
        name = user.username
    ctx.finish(followups)
    click.echo(
        f"{open_sessions} open session(s) of {name}: disconnecting "
        "(the worker sends the Disconnect-Requests; see session_disconnections)"
    )


@cli.group("payments")
def payments_group() -> None:
    """Payments."""


@payments_group.command("show")
@click.argument("payment_id", type=int)
@pass_context
def payments_show(ctx: Context, payment_id: int) -> None:
    """A payment and every step of its timeline, for reconstructing what happened."""
    with ctx.transaction() as session:
        payment = get_payment(session, CLI_ACTOR, payment_id)
        click.echo(
            f"payment {payment.id} ({payment.method.value}): {payment.status.value}, "
            f"{payment.amount} for {payment.package.name if payment.package else '-'}, "
            f"phone {payment.phone or '-'}, receipt {payment.mpesa_receipt or '-'}"
        )
        if payment.failure_reason:
            click.echo(f"reason: {payment.failure_reason}")
        for event in payment_events(session, payment_id):
            detail = json.dumps(event.detail, sort_keys=True)
            click.echo(f"{event.created_at.isoformat()}  {event.kind:<20} {detail}")


# --- background work ---------------------------------------------------------------------------


@cli.command("worker")
@click.option(
    "--queues",
    default=",".join(QUEUES),
    show_default=True,
    help="The queues this worker serves, most urgent first whatever the order given.",
)
@pass_context
def worker(ctx: Context, queues: str) -> None:
    """Run an rq worker with rq's scheduler of delayed jobs (expiries, queries, retries).

    It serves its queues by urgency: the next job always comes from the most urgent queue that
    has one. Jobs run in the worker process itself (no fork per job): they reuse its database
    pool, which is what lets an expiry job start within milliseconds of being due.
    """
    served = parse_queues(queues)
    with background_process(ctx, "worker", check_nas=True) as settings:
        connection = redis.Redis.from_url(settings.effective_redis_url)
        # A heartbeat every worker_ttl - 15 s even while idle: `hotspot health worker` (the
        # container's healthcheck) reads it.
        SimpleWorker(
            list(served), connection=connection, worker_ttl=settings.worker_heartbeat_ttl
        ).work(with_scheduler=True, logging_level=settings.log_level.upper())


@cli.command("scheduler")
@pass_context
def scheduler(ctx: Context) -> None:
    """Enqueue the periodic jobs (accounting sync, expiry sweep, heartbeat) at their intervals.

    Any number may run: one holds the leader lease in Redis and enqueues, the others stand by.
    """
    with background_process(ctx, "scheduler", check_nas=False) as settings:
        connection = redis.Redis.from_url(settings.effective_redis_url)
        cron(settings, connection).start()  # type: ignore[no-untyped-call]


@contextmanager
def background_process(ctx: Context, name: str, *, check_nas: bool) -> Iterator[Settings]:
    """The worker's and the scheduler's life: JSON log lines from the first (rq's own included,
    see `configure_logging`), the deployment checks, and any refusal or crash as a JSON line too."""
    configure_logging("INFO")  # until the settings, which may be malformed, name the level
    log = logging.getLogger(f"hotspot.{name}")
    try:
        settings = ctx.settings
        configure_logging(settings.log_level)
        if check_nas:
            require_startable(settings, jobs.services().sessions)  # the jobs' own pool
        else:
            require_deployable(settings)
    except ValueError as exc:
        problems = getattr(exc, "problems", [str(exc)])
        log.critical("%s cannot start: %s", name, exc, extra={"fields": {"problems": problems}})
        sys.exit(USAGE_ERROR)
    except Exception as exc:
        exit_failed(log, f"{name} cannot start", exc)
    try:
        yield settings
    except Exception as exc:
        exit_failed(log, f"{name} stopped", exc)


def exit_failed(log: logging.Logger, what: str, exc: Exception) -> NoReturn:
    """A database or Redis that does not answer is one log line and exit code 69; anything
    else, its traceback and exit code 1."""
    reason = unreachable(exc)
    if reason is None:
        log.exception(what)
        sys.exit(1)
    log.critical("%s: %s", what, reason, extra={"fields": {"problems": [reason]}})
    sys.exit(UNAVAILABLE)
