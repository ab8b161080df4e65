"""The test harness starts the real stack: PostgreSQL, Redis and FreeRADIUS on free ports.

It uses the same `Stack` as `hotspot run`. Where HOTSPOT_DATABASE_URL / HOTSPOT_REDIS_URL are set,
those servers are used instead (a fresh database is created on the PostgreSQL server for the run).
Nothing is skipped: a service that cannot start fails the run with its log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

import jobs
from hotspot.adapters import db
from hotspot.billing.callback_tokens import c2b_urls, stk_callback_url
from hotspot.core.settings import Settings
from hotspot.dev.sandbox.mpesa.rules import SandboxConfig
from hotspot.dev.sandbox.mpesa.server import MpesaSandbox, create_sandbox_app
from hotspot.dev.sandbox.sms import SmsSandbox, SmsSandboxConfig, create_sms_sandbox_app
from hotspot.dev.seed import seed_demo
from hotspot.dev.stack import Stack, isolated_environ
from hotspot.models import Nas
from hotspot.services import Services
from hotspot.web.app import create_app

NAS_SECRET = secrets.token_hex(12)  # no leading "-": radclient takes it on its command line
# A second NAS, like a router before RouterOS 7.15: it may log in without Message-Authenticator.
UNSIGNED_NAS_ADDRESS = "127.0.0.2"


@dataclass
class DatabaseServer:
    """A PostgreSQL server on which the tests may create and drop databases."""

    admin_url: str  # SQLAlchemy URL of a role allowed to CREATE DATABASE

    def _dsn(self) -> str:
        return make_url(self.admin_url).set(drivername="postgresql").render_as_string(False)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_url(self.admin_url).set(database=name).render_as_string(False)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class StackUnderTest:
    settings: Settings
    stack: Stack
    server: DatabaseServer
    engine: Engine
    sessions: sessionmaker[Session]
    nas_secret: str

    @property
    def radius_address(self) -> tuple[str, int, int]:
        s = self.settings
        return s.radius_listen_address, s.radius_auth_port, s.radius_acct_port

    def env(self) -> dict[str, str]:
        """Environment for a `hotspot` subprocess that must reach this stack."""
        s = self.settings
        return {
            **os.environ,
            "HOTSPOT_STATE_DIR": str(s.state_dir),
            "HOTSPOT_DATABASE_URL": s.effective_database_url,
            "HOTSPOT_REDIS_URL": s.effective_redis_url,
            "HOTSPOT_RADIUS_DB_PASSWORD": s.radius_db_password,
        }


UNLIMITED = "1000000/1"
# FreeRADIUS reads a router's nas row again after this many seconds: short, so the tests of a
# router added, re-keyed or deleted while FreeRADIUS runs wait little.
RADIUS_CLIENT_LIFETIME = 2


def make_test_settings(state_dir: Path) -> Settings:
    """Rate limits out of the way: the suite pays from one IP all day (tests/test_limits.py
    checks the limits with their own API); routers re-read every RADIUS_CLIENT_LIFETIME s."""
    environ = {
        **isolated_environ(state_dir),
        "HOTSPOT_RATE_LIMIT_PAYMENTS_PER_PHONE": UNLIMITED,
        "HOTSPOT_RATE_LIMIT_PAYMENTS_PER_CLIENT": UNLIMITED,
        "HOTSPOT_RATE_LIMIT_PAYMENTS_PER_IP": UNLIMITED,
        "HOTSPOT_RATE_LIMIT_VOUCHERS_PER_CLIENT": UNLIMITED,
        "HOTSPOT_RATE_LIMIT_VOUCHERS_PER_IP": UNLIMITED,
        "HOTSPOT_RATE_LIMIT_LOOKUPS_PER_IP": UNLIMITED,
        "HOTSPOT_RADIUS_CLIENT_LIFETIME": str(RADIUS_CLIENT_LIFETIME),
    }
    return Settings.from_env(environ, dotenv=None)


@pytest.fixture(scope="session")
def state_dir() -> Iterator[Path]:
    """Outside pytest's private tmp dirs: PostgreSQL runs as `postgres` and must reach it."""
    path = Path(tempfile.mkdtemp(prefix="hotspot-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(state_dir: Path) -> Iterator[StackUnderTest]:
    settings = make_test_settings(state_dir)
    stack = Stack(settings, fast=True, say=lambda _: None)
    created: str | None = None
    try:
        stack.start_databases()
        if settings.private_postgres:
            server = DatabaseServer(stack_admin_url(stack))
        else:
            server = DatabaseServer(settings.database_url)
            created = f"hotspot_test_{secrets.token_hex(4)}"
            settings = settings.with_changes(database_url=server.create_database(created))
            stack.settings = settings
        db.upgrade(settings)
        engine = db.make_engine(settings.effective_database_url)
        sessions = db.session_factory(engine)
        with db.transaction(sessions) as session:
            session.add(Nas(nasname="127.0.0.1", shortname="tests", secret=NAS_SECRET))
            session.add(
                Nas(
                    nasname=UNSIGNED_NAS_ADDRESS,
                    shortname="tests-unsigned",
                    secret=NAS_SECRET,
                    require_message_authenticator=False,
                )
            )
            seed_demo(session, interim_interval=settings.acct_interim_interval, currency="KES")
        stack.start_freeradius()
        yield StackUnderTest(settings, stack, server, engine, sessions, NAS_SECRET)
        engine.dispose()
    finally:
        stack.stop()
        if created is not None:
            DatabaseServer(os.environ["HOTSPOT_DATABASE_URL"]).drop_database(created)


def stack_admin_url(stack: Stack) -> str:
    s = stack.settings
    return (
        make_url("postgresql+psycopg://")
        .set(
            username="postgres",
            password=s.postgres_superuser_password,
            host="127.0.0.1",
            port=s.postgres_port,
            database="postgres",
        )
        .render_as_string(False)
    )


@pytest.fixture
def session(stack: StackUnderTest) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    with stack.engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def committed(stack: StackUnderTest) -> sessionmaker[Session]:
    """For tests whose rows another process (FreeRADIUS, the CLI) must see."""
    return stack.sessions


class ServerThread:
    """A WSGI app served over real HTTP on 127.0.0.1 from a background thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class MpesaSandboxUnderTest:
    url: str
    sandbox: MpesaSandbox

    def next_outcome(self, outcome: str, phone: str | None = None) -> None:
        response = requests.post(
            f"{self.url}/sandbox/next-outcome",
            json={"outcome": outcome, "phone": phone},
            timeout=5,
        )
        response.raise_for_status()


@dataclass
class ApiUnderTest:
    url: str
    services: Services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def callback_url(self) -> str:
        return stk_callback_url(self.url, self.services.callback_tokens.current())

    def c2b_url(self, step: str) -> str:
        validation, confirmation = c2b_urls(self.url, self.services.callback_tokens.current())
        return {"validate": validation, "confirm": confirmation}[step]


@pytest.fixture(scope="session")
def mpesa(stack: StackUnderTest) -> Iterator[MpesaSandboxUnderTest]:
    s = stack.settings
    app = create_sandbox_app(
        SandboxConfig(
            consumer_key=s.mpesa_consumer_key,
            consumer_secret=s.mpesa_consumer_secret,
            shortcode=s.mpesa_shortcode,
            passkey=s.mpesa_passkey,
            callback_delay=0.05,
        )
    )
    server = ServerThread(app)
    yield MpesaSandboxUnderTest(server.url, app.extensions["mpesa_sandbox"])
    server.stop()
    app.extensions["mpesa_sandbox"].close()


def start_api(settings: Settings) -> tuple[ServerThread, Services]:
    """The API on a free port; the server is bound before the app learns its own URL."""
    server = ServerThread(None)
    settings = settings.with_changes(public_base_url=server.url)
    app = create_app(settings)
    server.server.app = app
    return server, app.extensions["hotspot"]


@pytest.fixture(scope="session")
def api(stack: StackUnderTest, mpesa: MpesaSandboxUnderTest) -> Iterator[ApiUnderTest]:
    server, services = start_api(stack.settings.with_changes(mpesa_base_url=mpesa.url))
    yield ApiUnderTest(server.url, services)
    server.stop()
    services.close()


@pytest.fixture
def redis_conn(stack: StackUnderTest) -> Iterator[redis.Redis]:
    """A client of the suite's Redis, closed after the test."""
    client = redis.Redis.from_url(stack.settings.effective_redis_url)
    yield client
    client.close()


@dataclass
class SmsSandboxUnderTest:
    url: str
    sandbox: SmsSandbox

    @property
    def base_url(self) -> str:
        return f"{self.url}/version1"

    def next_outcome(self, outcome: str, phone: str | None = None) -> None:
        response = requests.post(
            f"{self.url}/sandbox/next-outcome", json={"outcome": outcome, "phone": phone}, timeout=5
        )
        response.raise_for_status()

    def configure(self, **changes: Any) -> None:
        requests.post(f"{self.url}/sandbox/config", json=changes, timeout=5).raise_for_status()

    def messages(self) -> list[dict[str, Any]]:
        listing: dict[str, Any] = requests.get(f"{self.url}/messages", timeout=5).json()
        messages: list[dict[str, Any]] = listing["messages"]
        return messages

    def accepted(self) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m["status_code"] == 101]


@pytest.fixture
def at(stack: StackUnderTest) -> Iterator[SmsSandboxUnderTest]:
    """A fresh AT sandbox per test, so every count below is this test's own."""
    s = stack.settings
    app = create_sms_sandbox_app(SmsSandboxConfig(username=s.sms_username, api_key=s.sms_api_key))
    server = ServerThread(app)
    sandbox: SmsSandbox = app.extensions["sms_sandbox"]
    yield SmsSandboxUnderTest(server.url, sandbox)
    sandbox.close()
    server.stop()


@contextmanager
def jobs_reading(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> Iterator[None]:
    """Jobs called in the test process read their settings from the environment, as an rq
    worker's do: the HOTSPOT_ variables of `environ` set, `jobs.services()` built afresh from
    them and closed after."""
    for name, value in environ.items():
        if name.startswith("HOTSPOT_"):
            monkeypatch.setenv(name, value)
    jobs.services.cache_clear()
    try:
        yield
    finally:
        if jobs.services.cache_info().currsize:
            jobs.services().close()
        jobs.services.cache_clear()
