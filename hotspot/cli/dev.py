"""Development commands: `hotspot run` (the whole stack), the sandboxes, the NAS simulator and
`hotspot db seed`. The only commands that use `hotspot.dev`."""

from __future__ import annotations

import dataclasses
import signal
import sys
import time
import urllib.request
from types import FrameType
from typing import Any, NoReturn

import click

from hotspot.adapters import db
from hotspot.cli.context import Context, pass_context
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.logs import configure_logging
from hotspot.core.settings import (
    DEVELOPMENT,
    GENERATED_SECRETS,
    PREFIX,
    PRODUCTION,
    Settings,
    write_env_file,
)
from hotspot.dev.sandbox import rerouted
from hotspot.dev.sandbox import sms as sms_sandbox
from hotspot.dev.sandbox.mobile_money import campay, iotec
from hotspot.dev.sandbox.mpesa.rules import SandboxConfig
from hotspot.dev.sandbox.mpesa.server import serve
from hotspot.dev.seed import DEMO_NAS_ADDRESS, seed_demo, seed_gateway_demos
from hotspot.dev.stack import RunLock, Stack, StackError
from radius import nas_sim_http
from radius.nas_sim_command import NasSetup, connect_address, parse_login
from radius.nas_sim_command import run as run_nas_sim


@click.command("seed")
@click.option(
    "--gateways",
    is_flag=True,
    help="Also two operators paid through ioTec (UGDEMO) and CamPay (CMDEMO), with a router "
    "and a package each (then admin tokens name their operator).",
)
@pass_context
def db_seed(ctx: Context, gateways: bool) -> None:
    """Add the demo NAS and packages (idempotent); not in production."""
    if ctx.settings.environment == PRODUCTION:
        raise click.ClickException(
            "demo data (a NAS with a published secret) is not for production"
        )
    seed_demo_data(ctx)
    if gateways:
        with ctx.transaction() as session:
            seed_gateway_demos(session, interim_interval=ctx.settings.acct_interim_interval)
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


@click.group("sandbox")
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


@sandbox_group.command("iotec")
@click.option("--port", type=int, default=None, help="Default: HOTSPOT_SANDBOX_IOTEC_PORT.")
@click.option("--delay", type=float, default=None, help="Seconds before a collection is final.")
@HOST_OPTION
@CALLBACK_BASE_OPTION
@pass_context
def sandbox_iotec(
    ctx: Context, port: int | None, delay: float | None, host: str, callback_base: str
) -> None:
    """An ioTec Pay stand-in using this deployment's ioTec credentials."""
    s = ctx.settings
    configure_logging(s.log_level)
    iotec.serve(
        iotec.IotecSandboxConfig(
            client_id=s.iotec_client_id,
            client_secret=s.iotec_client_secret,
            wallet_id=s.iotec_wallet_id,
            ipn_secret=s.iotec_ipn_secret,
            callback_url=f"{s.public_base_url.rstrip('/')}/api/callbacks/iotec",
            currency=s.iotec_currency,
            ipn_header=s.iotec_ipn_header,
            host=host,
            port=port if port is not None else s.sandbox_iotec_port,
            callback_delay=delay if delay is not None else s.sandbox_payment_delay,
            callback_base=callback_base,
        )
    )


@sandbox_group.command("campay")
@click.option("--port", type=int, default=None, help="Default: HOTSPOT_SANDBOX_CAMPAY_PORT.")
@click.option("--delay", type=float, default=None, help="Seconds before a collection is final.")
@HOST_OPTION
@CALLBACK_BASE_OPTION
@pass_context
def sandbox_campay(
    ctx: Context, port: int | None, delay: float | None, host: str, callback_base: str
) -> None:
    """A CamPay stand-in using this deployment's CamPay credentials."""
    s = ctx.settings
    configure_logging(s.log_level)
    campay.serve(
        campay.CampaySandboxConfig(
            username=s.campay_username,
            password=s.campay_password,
            webhook_key=s.campay_webhook_key,
            callback_url=f"{s.public_base_url.rstrip('/')}/api/callbacks/campay",
            host=host,
            port=port if port is not None else s.sandbox_campay_port,
            callback_delay=delay if delay is not None else s.sandbox_payment_delay,
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


@click.command("nas-sim")
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
    setup = NasSetup(
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
            setup,
            http_port=http_port,
            chap=not pap_only,
            portal_url=portal_url or f"{api_url}/portal",
        )
        return
    run_nas_sim(
        setup,
        logins=[parse_login(item) for item in logins],
        demo=demo,
        api_url=api_url,
        customers=customers,
    )


# --- the whole stack ---------------------------------------------------------------------------


@click.command("run")
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
    if demo:
        settings = with_sandbox_urls(settings)
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
        start_processes(stack, settings, demo)
        click.echo(
            f"\nready: API on http://{settings.api_host}:{settings.api_port} "
            f"(logs in {stack.log_dir}).\n"
            "try:  .venv/bin/hotspot users create --package '1 Hour'\n"
            "Ctrl-C stops everything.\n"
        )
        watch_children(stack)
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


def with_sandbox_urls(settings: Settings) -> Settings:
    """The demo's app talks to the local sandboxes, unless M-Pesa or SMS were pointed elsewhere."""
    defaults = Settings()
    if settings.mpesa_base_url == defaults.mpesa_base_url:
        settings = settings.with_changes(
            mpesa_base_url=f"http://127.0.0.1:{settings.sandbox_mpesa_port}"
        )
    if settings.sms_base_url == defaults.sms_base_url:
        settings = settings.with_changes(
            sms_base_url=f"http://127.0.0.1:{settings.sandbox_sms_port}/version1"
        )
    return settings


def start_processes(stack: Stack, settings: Settings, demo: bool) -> None:
    """The sandboxes (demo), workers, scheduler and API; then, once the API answers, the
    simulated NAS (demo)."""
    if demo:
        stack.spawn("sandbox-mpesa", [sys.executable, "-m", "hotspot", "sandbox", "mpesa"])
        stack.spawn("sandbox-sms", [sys.executable, "-m", "hotspot", "sandbox", "sms"])
        for gateway in ("iotec", "campay"):
            command = [sys.executable, "-m", "hotspot", "sandbox", gateway]
            stack.spawn(f"sandbox-{gateway}", command)
    for n in range(settings.worker_processes):
        stack.spawn(f"worker-{n}", [sys.executable, "-m", "hotspot", "worker"])
    stack.spawn("scheduler", [sys.executable, "-m", "hotspot", "scheduler"])
    maintain = [sys.executable, "-m", "hotspot", "db", "maintain", "--every", "3600"]
    stack.spawn("maintenance", maintain)
    api = stack.spawn(
        "api",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:hotspot.web.gunicorn_conf",
            "hotspot.web.wsgi:app",
        ],
        stop_signal=signal.SIGINT,
    )
    wait_for_http(f"http://{settings.api_host}:{settings.api_port}/healthz", api.alive)
    if demo:
        stack.spawn("nas-sim", [sys.executable, "-m", "hotspot", "nas-sim", "--demo"])


def watch_children(stack: Stack) -> NoReturn:
    """Until a child stops, which is an error (Ctrl-C, a KeyboardInterrupt, ends it too)."""
    while True:
        dead = [child.name for child in stack.children if not child.alive()]
        if dead:
            raise StackError(f"{', '.join(dead)} stopped unexpectedly; see {stack.log_dir}")
        time.sleep(0.5)


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
