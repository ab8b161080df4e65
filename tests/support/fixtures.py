"""The fixtures of the stack, registered for every tier by the root conftest (pytest_plugins).

Nothing starts until a test asks: a unit test never does (tests/conftest.py refuses one that
would). `stack` is PostgreSQL and Redis; tests/e2e/conftest.py adds FreeRADIUS to it.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.settings import Settings
from hotspot.dev.sandbox.mpesa.rules import SandboxConfig
from hotspot.dev.sandbox.mpesa.server import create_sandbox_app
from hotspot.dev.sandbox.sms import SmsSandbox, SmsSandboxConfig, create_sms_sandbox_app
from tests.support.harness import (
    ApiUnderTest,
    MpesaSandboxUnderTest,
    ServerThread,
    SmsSandboxUnderTest,
    start_api,
)
from tests.support.jobs import QUICK_WORKER, worker_process
from tests.support.stack import StackUnderTest, databases_running


@pytest.fixture(scope="session")
def state_dir() -> Iterator[Path]:
    """Outside pytest's private tmp dirs: PostgreSQL runs as `postgres` and must reach it."""
    path = Path(tempfile.mkdtemp(prefix="hotspot-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(state_dir: Path) -> Iterator[StackUnderTest]:
    with databases_running(state_dir) as running:
        yield running


@pytest.fixture
def session(stack: StackUnderTest) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included (SQLAlchemy's
    "join a Session into an external transaction": each commit releases a savepoint)."""
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
    """For tests whose rows another process (FreeRADIUS, the CLI) or the API thread must see."""
    return stack.sessions


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


@pytest.fixture(scope="module")
def worker(stack: StackUnderTest) -> Iterator[subprocess.Popen[bytes]]:
    """A `hotspot worker` process for the module, answering quickly (QUICK_WORKER), on an
    emptied queue."""
    with worker_process(stack, QUICK_WORKER, "test-worker.log") as process:
        yield process


@pytest.fixture
def empty_database(stack: StackUnderTest) -> Iterator[Settings]:
    """A database of its own, empty (no schema), dropped after the test."""
    name = f"migrations_{secrets.token_hex(4)}"
    url = stack.server.create_database(name)
    try:
        yield stack.settings.with_changes(database_url=url)
    finally:
        stack.server.drop_database(name)
