"""The `hotspot` command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypedDict

import click
import psycopg
import redis
from rq import SimpleWorker
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import jobs
from hotspot import db, roles, vouchers
from hotspot.admin_cli import tokens_group
from hotspot.csvfiles import create_private, write_csv
from hotspot.deploy_cli import deploy_group
from hotspot.deployment import RADIUS_SECRETS, require_deployable, require_startable
from hotspot.errors import HotspotError, NotFoundError
from hotspot.freeradius import FreeRadiusConfigError, check_raddb, render_raddb
from hotspot.health_cli import health_group
from hotspot.logs import configure_logging
from hotspot.models import Payment
from hotspot.mpesa_cli import mpesa_group
from hotspot.notify import QUEUE
from hotspot.packages import active_packages, package_by_name
from hotspot.payments import timeline
from hotspot.phones import normalize_phone
from hotspot.provisioning import TYPED_PASSWORD_LENGTH, new_user
from hotspot.reports_cli import report_command
from hotspot.sandbox import rerouted
from hotspot.sandbox import sms as sms_sandbox
from hotspot.sandbox.mpesa import SandboxConfig, serve
from hotspot.seed import DEMO_NAS_ADDRESS, DEMO_NAS_SECRET, seed_demo
from hotspot.settings import (
    DEVELOPMENT,
    GENERATED_SECRETS,
    PREFIX,
    PRODUCTION,
    Settings,
    write_env_file,
)
from hotspot.stack import RunLock, Stack, StackError
from jobs.expiry import disconnect_user
from jobs.schedule import cron
from radius import nas_sim_http
from radius.nas_sim_command import connect_address, parse_login
from radius.nas_sim_command import run as run_nas_sim

USAGE_ERROR = 2


class Context:
    """Settings are read lazily so `hotspot --help` works with a broken environment."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with db.one_off_transaction(self.settings.effective_database_url) as session:
            yield session


pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def cli() -> None:
    """Hotspot AAA and billing backend."""


cli.add_command(tokens_group)
cli.add_command(report_command)
cli.add_command(mpesa_group)
cli.add_command(deploy_group)
cli.add_command(health_group)


def main() -> None:
    """Bad input is one line on stderr and exit code 2; a stack that cannot start, exit 1."""
    try:
        cli.main(standalone_mode=False)
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


# --- database ----------------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Schema migrations and demo data."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_context
def db_upgrade(ctx: Context, revision: str) -> None:
    """Migrate the schema up (to REVISION, default head)."""
    require_deployable(ctx.settings)
    db.upgrade(ctx.settings, revision)
    click.echo(f"database at {db.current_revision(ctx.settings)}")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@pass_context
def db_downgrade(ctx: Context, revision: str) -> None:
    """Migrate the schema down (to REVISION, default one step; `base` for empty)."""
    db.downgrade(ctx.settings, revision)
    click.echo(f"database at {db.current_revision(ctx.settings) or 'base'}")


@db_group.command("provision")
@pass_context
def db_provision(ctx: Context) -> None:
    """Create or update the database roles and the database, migrate as the owner and grant
    (idempotent: run it on every deploy).

    With HOTSPOT_DATABASE_ADMIN_URL: the owner role (HOTSPOT_DATABASE_OWNER_URL), the
    application role (HOTSPOT_DATABASE_URL) and FreeRADIUS's (HOTSPOT_RADIUS_DB_USER) are created
    or get their attributes and passwords, and the database is created owned by the owner.
    Without it, only the migrations and the grants, as the owner.
    """
    try:
        roles.provision(ctx.settings, say=click.echo)
    except DBAPIError as exc:
        # The driver's message only: SQLAlchemy's would carry the statement.
        raise click.ClickException(f"provisioning failed: {exc.orig}") from None
    except psycopg.Error as exc:
        raise click.ClickException(f"provisioning failed: {exc}") from None


@db_group.command("seed")
@pass_context
def db_seed(ctx: Context) -> None:
    """Add the demo NAS and packages (idempotent); not in production."""
    if ctx.settings.environment == PRODUCTION:
        raise click.ClickException(
            "demo data (a NAS with a published secret) is not for production"
        )
    seed_demo_data(ctx)
    click.echo("demo data present")


def seed_demo_data(ctx: Context) -> None:
    with ctx.transaction() as session:
        seed_demo(
            session,
            interim_interval=ctx.settings.acct_interim_interval,
            currency=ctx.settings.currency,
            coa_port=ctx.settings.nas_sim_coa_port,
            hotspot_address=f"{DEMO_NAS_ADDRESS}:{ctx.settings.nas_sim_http_port}",
        )


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
    raddb = render_raddb(out, Stack(ctx.settings).raddb_params())
    if check:
        check_raddb(raddb)
    click.echo(f"raddb written to {raddb}")


# --- users and packages ------------------------------------------------------------------------


@cli.group("packages")
def packages_group() -> None:
    """Packages on sale."""


@packages_group.command("list")
@pass_context
def packages_list(ctx: Context) -> None:
    with ctx.transaction() as session:
        for package in active_packages(session):
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
    """Create a user valid for the package's duration from now."""
    normalized = normalize_phone(phone, ctx.settings.default_region) if phone else None
    with ctx.transaction() as session:
        package = package_by_name(session, package_name)
        credentials = new_user(
            session,
            package,
            phone=normalized,
            now=dt.datetime.now(dt.UTC),
            password_length=TYPED_PASSWORD_LENGTH,  # an operator hands it out, to be typed
        )
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
def users_disconnect(username: str) -> None:
    """Send a Disconnect-Request for each of the user's open sessions now."""
    count = disconnect_user(username, "admin")
    click.echo(
        f"{count} session(s) of {username}: Disconnect-Request sent (see session_disconnections)"
    )


@cli.group("vouchers")
def vouchers_group() -> None:
    """Printed voucher codes."""


@vouchers_group.command("generate")
@click.option("--package", "package_name", required=True, help="Package name, e.g. '1 Day'.")
@click.option("--count", type=click.IntRange(1, 1_000_000), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--batch", default=None, help="Batch label (default: a timestamp).")
@pass_context
def vouchers_generate(
    ctx: Context, package_name: str, count: int, out: Path, batch: str | None
) -> None:
    """Write COUNT new codes for a package to a new CSV file only you may read (0600)."""
    label = batch or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    with ctx.transaction() as session:
        package = package_by_name(session, package_name)
        try:
            handle = create_private(out)
        except OSError as exc:  # codes are money: never written over a file, nor through a link
            raise click.BadParameter(
                f"cannot create {out}: {exc.strerror}", param_hint="--out"
            ) from None
        with handle, click.progressbar(length=count, label="vouchers", file=sys.stderr) as bar:
            codes = vouchers.generate(session, package, count, label, bar.update)
            rows = ([code, package.name, package.price, label] for code in codes)
            write_csv(handle, itertools.chain([["code", "package", "price", "batch"]], rows))
    click.echo(f"{count} vouchers for {package_name} in {out} (batch {label})")


@cli.group("payments")
def payments_group() -> None:
    """Payments."""


@payments_group.command("show")
@click.argument("payment_id", type=int)
@pass_context
def payments_show(ctx: Context, payment_id: int) -> None:
    """A payment and every step of its timeline, for reconstructing what happened."""
    with ctx.transaction() as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError(f"no payment {payment_id}")
        click.echo(
            f"payment {payment.id} ({payment.method.value}): {payment.status.value}, "
            f"{payment.amount} for {payment.package.name if payment.package else '-'}, "
            f"phone {payment.phone or '-'}, receipt {payment.mpesa_receipt or '-'}"
        )
        if payment.failure_reason:
            click.echo(f"reason: {payment.failure_reason}")
        for event in timeline(session, payment_id):
            detail = json.dumps(event.detail, sort_keys=True)
            click.echo(f"{event.created_at.isoformat()}  {event.kind:<20} {detail}")


# --- background work and development stand-ins -------------------------------------------------


@cli.command("worker")
@pass_context
def worker(ctx: Context) -> None:
    """Run an rq worker with rq's scheduler of delayed jobs (expiries, queries, retries).

    Jobs run in the worker process itself (no fork per job): they reuse its database pool,
    which is what lets an expiry job start within milliseconds of being due.
    """
    with background_process(ctx, "worker", check_nas=True) as settings:
        connection = redis.Redis.from_url(settings.effective_redis_url)
        # A heartbeat every worker_ttl - 15 s even while idle: `hotspot health worker` (the
        # container's healthcheck) reads it.
        SimpleWorker([QUEUE], connection=connection, worker_ttl=settings.worker_heartbeat_ttl).work(
            with_scheduler=True, logging_level=settings.log_level.upper()
        )


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
    except Exception:
        log.exception("%s cannot start", name)  # e.g. the database is unreachable
        sys.exit(1)
    try:
        yield settings
    except Exception:
        log.exception("%s stopped", name)
        sys.exit(1)


@cli.group("sandbox")
def sandbox_group() -> None:
    """Local stand-ins for services on the internet (development only)."""


HOST_OPTION = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
CALLBACK_BASE_OPTION = click.option(
    "--callback-base",
    default="",
    help="Send callbacks to this scheme://host[:port] instead of the URLs' own (a container "
    "that cannot reach the public URL).",
)


@sandbox_group.command("mpesa")
@click.option("--port", type=int, default=None, help="Default: HOTSPOT_SANDBOX_MPESA_PORT.")
@click.option("--delay", type=float, default=None, help="Seconds before the callback.")
@HOST_OPTION
@CALLBACK_BASE_OPTION
@pass_context
def sandbox_mpesa(
    ctx: Context, port: int | None, delay: float | None, host: str, callback_base: str
) -> None:
    """A Daraja stand-in using this deployment's M-Pesa credentials."""
    s = ctx.settings
    configure_logging(s.log_level)
    serve(
        SandboxConfig(
            consumer_key=s.mpesa_consumer_key,
            consumer_secret=s.mpesa_consumer_secret,
            shortcode=s.mpesa_shortcode,
            passkey=s.mpesa_passkey,
            host=host,
            port=port if port is not None else s.sandbox_mpesa_port,
            callback_delay=delay if delay is not None else s.sandbox_mpesa_delay,
            callback_base=callback_base,
        )
    )


@sandbox_group.command("sms")
@click.option("--port", type=int, default=None, help="Default: HOTSPOT_SANDBOX_SMS_PORT.")
@click.option(
    "--delivery-reports/--no-delivery-reports",
    default=True,
    help="POST a delivery report for each message to HOTSPOT_PUBLIC_BASE_URL.",
)
@HOST_OPTION
@CALLBACK_BASE_OPTION
@pass_context
def sandbox_sms(
    ctx: Context, port: int | None, delivery_reports: bool, host: str, callback_base: str
) -> None:
    """An Africa's Talking SMS stand-in using this deployment's SMS credentials."""
    s = ctx.settings
    configure_logging(s.log_level)
    report_url = rerouted(
        f"{s.public_base_url.rstrip('/')}/api/sms/delivery-report/{s.sms_delivery_report_token}",
        callback_base,
    )
    sms_sandbox.serve(
        sms_sandbox.SmsSandboxConfig(
            username=s.sms_username,
            api_key=s.sms_api_key,
            host=host,
            port=port if port is not None else s.sandbox_sms_port,
            delivery_report_url=report_url if delivery_reports else "",
        )
    )


# --- the simulated NAS ---


class NasSimRadius(TypedDict):
    """The NAS and RADIUS arguments both simulators take (`nas_sim.run`, `nas_sim_http.run`),
    resolved once from the options and settings."""

    server: str
    secret: str
    auth_port: int
    acct_port: int
    coa_port: int
    nas_ip: str
    nas_identifier: str
    interim_interval: float | None
    accounting_on: bool
    message_authenticator: bool


@cli.command("nas-sim")
@click.option("--server", default=None, help="FreeRADIUS address (default: its listen address).")
@click.option("--auth-port", type=int, default=None, help="Default: HOTSPOT_RADIUS_AUTH_PORT.")
@click.option("--acct-port", type=int, default=None, help="Default: HOTSPOT_RADIUS_ACCT_PORT.")
@click.option(
    "--secret",
    default=DEMO_NAS_SECRET,
    show_default=True,
    help="The NAS's secret in the nas table.",
)
@click.option(
    "--coa-port", type=int, default=None, help="Disconnect/CoA port (HOTSPOT_NAS_SIM_COA_PORT)."
)
@click.option("--nas-ip", default=DEMO_NAS_ADDRESS, show_default=True, help="NAS-IP-Address.")
@click.option("--nas-identifier", default="nas-sim", show_default=True)
@click.option(
    "--interim",
    "interim_interval",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between Interim-Updates (default: the Access-Accept's; 5 with --demo).",
)
@click.option(
    "--login",
    "logins",
    multiple=True,
    metavar="USER:PASSWORD",
    help="Log this user in and keep it online (repeatable).",
)
@click.option(
    "--accounting-on/--no-accounting-on",
    default=True,
    help="Send Accounting-On first (FreeRADIUS closes this NAS's open sessions).",
)
@click.option("--demo", is_flag=True, help="Fake customers buy packages, log in and browse.")
@click.option("--customers", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option(
    "--http-port",
    type=int,
    default=None,
    help="Serve the hotspot's pages (login.html, /login, /status) like a MikroTik, not --demo. "
    "The seeded demo NAS's hotspot address is 127.0.0.1:HOTSPOT_NAS_SIM_HTTP_PORT (8088).",
)
@click.option(
    "--portal-url",
    default=None,
    help="Where login.html sends browsers (default: http://127.0.0.1:HOTSPOT_API_PORT/portal).",
)
@click.option("--pap-only", is_flag=True, help="login-by=http-pap: hand out no CHAP challenge.")
@click.option(
    "--message-authenticator/--no-message-authenticator",
    default=True,
    help="Sign RADIUS requests and require signed answers, like RouterOS >= 7.15 "
    "(--no-...: like older RouterOS; its nas row needs require_message_authenticator off).",
)
@pass_context
def nas_sim(
    ctx: Context,
    *,
    server: str | None,
    auth_port: int | None,
    acct_port: int | None,
    secret: str,
    coa_port: int | None,
    nas_ip: str,
    nas_identifier: str,
    interim_interval: float | None,
    logins: tuple[str, ...],
    accounting_on: bool,
    demo: bool,
    customers: int,
    http_port: int | None,
    portal_url: str | None,
    pap_only: bool,
    message_authenticator: bool,
) -> None:
    """A simulated MikroTik hotspot NAS talking to FreeRADIUS; Ctrl-C stops it."""
    s = ctx.settings
    radius = NasSimRadius(
        server=server or connect_address(s.radius_listen_address),
        secret=secret,
        auth_port=auth_port or s.radius_auth_port,
        acct_port=acct_port or s.radius_acct_port,
        coa_port=coa_port if coa_port is not None else s.nas_sim_coa_port,
        nas_ip=nas_ip,
        nas_identifier=nas_identifier,
        interim_interval=interim_interval,
        accounting_on=accounting_on,
        message_authenticator=message_authenticator,
    )
    api_url = f"http://{connect_address(s.api_host)}:{s.api_port}"
    if http_port is not None:
        nas_sim_http.run(
            **radius,
            http_port=http_port,
            chap=not pap_only,
            portal_url=portal_url or f"{api_url}/portal",
        )
        return
    run_nas_sim(
        **radius,
        logins=[parse_login(item) for item in logins],
        demo=demo,
        api_url=api_url,
        customers=customers,
    )


# --- the whole stack ---------------------------------------------------------------------------


@cli.command("run")
@click.option("--seed/--no-seed", default=True, help="Add the demo NAS and packages.")
@click.option(
    "--demo/--no-demo",
    default=True,
    help="Also run the local M-Pesa sandbox (the app is pointed at HOTSPOT_MPESA_BASE_URL).",
)
@pass_context
def run(ctx: Context, seed: bool, demo: bool) -> None:
    """Start PostgreSQL, Redis, FreeRADIUS and the API; Ctrl-C stops them all."""
    settings = ctx.settings
    if settings.environment != DEVELOPMENT:
        raise click.ClickException(
            f"`hotspot run` starts the development stack; {PREFIX}ENVIRONMENT is "
            f"{settings.environment} (deployments run docker/compose.yaml)"
        )
    defaults = Settings()
    if demo and settings.mpesa_base_url == defaults.mpesa_base_url:
        settings = settings.with_changes(
            mpesa_base_url=f"http://127.0.0.1:{settings.sandbox_mpesa_port}"
        )
    if demo and settings.sms_base_url == defaults.sms_base_url:
        settings = settings.with_changes(
            sms_base_url=f"http://127.0.0.1:{settings.sandbox_sms_port}/version1"
        )
    lock = RunLock(settings.state_dir)
    lock.acquire()
    stack = Stack(settings)
    # SIGTERM stops us like Ctrl-C does: through the `finally` that stops every child.
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    runtime_env = settings.state_dir / "runtime.env"
    try:
        stack.start_databases()
        db.upgrade(settings)
        if seed:
            seed_demo_data(ctx)
        stack.start_freeradius()
        write_env_file(runtime_env, runtime_values(settings))
        if demo:
            stack.spawn("sandbox-mpesa", [sys.executable, "-m", "hotspot", "sandbox", "mpesa"])
            stack.spawn("sandbox-sms", [sys.executable, "-m", "hotspot", "sandbox", "sms"])
        for n in range(settings.worker_processes):
            stack.spawn(f"worker-{n}", [sys.executable, "-m", "hotspot", "worker"])
        stack.spawn("scheduler", [sys.executable, "-m", "hotspot", "scheduler"])
        api = stack.spawn(
            "api",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:hotspot.gunicorn_conf",
                "hotspot.wsgi:app",
            ],
            stop_signal=signal.SIGINT,
        )
        wait_for_http(f"http://{settings.api_host}:{settings.api_port}/healthz", api.alive)
        if demo:
            stack.spawn("nas-sim", [sys.executable, "-m", "hotspot", "nas-sim", "--demo"])
        click.echo(
            f"\nready: API on http://{settings.api_host}:{settings.api_port} "
            f"(logs in {stack.log_dir}).\n"
            "try:  .venv/bin/hotspot users create --package '1 Hour'\n"
            "Ctrl-C stops everything.\n"
        )
        while True:
            dead = [child.name for child in stack.children if not child.alive()]
            if dead:
                raise StackError(f"{', '.join(dead)} stopped unexpectedly; see {stack.log_dir}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nstopping")
    finally:
        # A second Ctrl-C (or make passing the signal on) must not cut the shutdown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        runtime_env.unlink(missing_ok=True)
        lock.release()
        click.echo("stopped")


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def runtime_values(settings: Settings) -> dict[str, str]:
    """Settings that differ from the defaults, so other `hotspot` commands find this stack."""
    defaults = Settings()
    values: dict[str, str] = {}
    for f in dataclasses.fields(settings):
        value: Any = getattr(settings, f.name)
        if (
            f.name in GENERATED_SECRETS
            or f.name == "state_dir"
            or value == getattr(defaults, f.name)
        ):
            continue
        values[PREFIX + f.name.upper()] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return values


def wait_for_http(url: str, alive: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except OSError:
            pass
        if not alive() or time.monotonic() > deadline:
            raise StackError(f"the API did not answer at {url}")
        time.sleep(0.1)
