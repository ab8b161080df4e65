"""The stack under test: PostgreSQL and Redis (and, for the e2e tier, FreeRADIUS) on free ports.

It uses the same `Stack` as `hotspot run`. Where HOTSPOT_DATABASE_URL / HOTSPOT_REDIS_URL are set,
those servers are used instead (a fresh database is created on the PostgreSQL server for the run).
Nothing is skipped: a service that cannot start fails the run with its log.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters import db
from hotspot.core.settings import Settings
from hotspot.dev.seed import seed_demo
from hotspot.dev.stack import Stack, isolated_environ, sandbox_gateways
from tests.support.factories import make_nas

NAS_SECRET = secrets.token_hex(12)  # no leading "-": radclient takes it on its command line
# A second NAS, like a router before RouterOS 7.15: it may log in without Message-Authenticator.
UNSIGNED_NAS_ADDRESS = "127.0.0.2"
UNLIMITED = "1000000/1"
# FreeRADIUS reads a router's nas row again after this many seconds: short, so the tests of a
# router added, re-keyed or deleted while FreeRADIUS runs wait little.
RADIUS_CLIENT_LIFETIME = 2


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
            # Where the suite's ioTec and CamPay sandboxes listen (tests/support/gateways.py).
            **sandbox_gateways(s.sandbox_iotec_port, s.sandbox_campay_port),
        }

    def ensure_freeradius(self) -> None:
        """FreeRADIUS on the stack's database, started once: only the e2e tier needs it."""
        if not any(child.name == "freeradius" for child in self.stack.children):
            self.stack.start_freeradius()


def make_test_settings(state_dir: Path) -> Settings:
    """Rate limits out of the way: the suite pays from one IP all day
    (tests/integration/test_limits.py checks the limits with their own API); routers re-read
    every RADIUS_CLIENT_LIFETIME s."""
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


@contextmanager
def databases_running(state_dir: Path) -> Iterator[StackUnderTest]:
    """PostgreSQL and Redis started, the schema migrated, the demo data and the tests' two
    routers in; everything stopped (and a database made on an outside server dropped) after."""
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
            seed(session, settings)
        yield StackUnderTest(settings, stack, server, engine, sessions, NAS_SECRET)
        engine.dispose()
    finally:
        stack.stop()
        if created is not None:
            DatabaseServer(os.environ["HOTSPOT_DATABASE_URL"]).drop_database(created)


def seed(session: Session, settings: Settings) -> None:
    """The demo data `make run` seeds, plus the routers the RADIUS tests log in from."""
    make_nas(session, address="127.0.0.1", shortname="tests", secret=NAS_SECRET)
    make_nas(
        session,
        address=UNSIGNED_NAS_ADDRESS,
        shortname="tests-unsigned",
        secret=NAS_SECRET,
        require_message_authenticator=False,
    )
    seed_demo(session, interim_interval=settings.acct_interim_interval, currency="KES")


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
