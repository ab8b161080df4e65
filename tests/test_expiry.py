"""Expiry to the second and Disconnect-Requests, on the real stack: API, rq worker (a separate
`hotspot worker` process), FreeRADIUS and the NAS simulator answering Disconnect-Requests."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import HotspotUser, Nas, RadAcct, SessionDisconnection
from jobs import services
from jobs.accounting import sync_accounting_job
from jobs.expiry import disconnect_user, expire_due
from radius.nas_sim import NasSimulator, SimSession
from tests.conftest import ApiUnderTest, StackUnderTest
from tests.factories import make_package
from tests.test_payments import pay, random_phone, wait_for_status

WORKER_ENV = {
    "HOTSPOT_DISCONNECT_TIMEOUT": "0.5",
    "HOTSPOT_DISCONNECT_RETRY_DELAYS": "0.5,0.5",
    "HOTSPOT_SMS_BASE_URL": "http://127.0.0.1:1/version1",
}


@pytest.fixture(scope="module")
def nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    """The simulator is the NAS 127.0.0.1; Disconnect-Requests reach it on its own port."""
    address, auth_port, acct_port = stack.radius_address
    simulator = NasSimulator(
        address,
        stack.nas_secret,
        auth_port=auth_port,
        acct_port=acct_port,
        coa_port=0,
        interim_interval=0,
        enforce_session_timeout=False,  # a NAS that ignores Session-Timeout: we must act
        enforce_data_limit=False,
    )
    with stack.sessions.begin() as session:
        session.execute(
            update(Nas).where(Nas.nasname == "127.0.0.1").values(coa_port=simulator.coa_port)
        )
    yield simulator
    simulator.close()


@pytest.fixture(scope="module")
def worker(stack: StackUnderTest) -> Iterator[subprocess.Popen[bytes]]:
    # The jobs the rest of the suite left (SMS retries, payment queries) must not queue ahead
    # of the expiries timed here.
    redis.Redis.from_url(stack.settings.effective_redis_url).flushdb()
    log = (stack.settings.state_dir / "log" / "test-worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "hotspot", "worker"],
        env={**stack.env(), **WORKER_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def in_process_jobs(stack: StackUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs called directly read their settings from the environment, like a worker's."""
    for name, value in {**stack.env(), **WORKER_ENV}.items():
        if name.startswith("HOTSPOT_"):
            monkeypatch.setenv(name, value)
    services.cache_clear()
    yield
    services.cache_clear()


def buy(api: ApiUnderTest, committed: sessionmaker[Session], **package: Any) -> dict[str, Any]:
    with committed.begin() as session:
        package_id = make_package(session, **package).id
    created = pay(api, random_phone(), package_id).json()
    assert wait_for_status(api, created["id"], "paid")["status"] == "paid"
    got: dict[str, Any] = requests.get(
        f"{api.url}/api/payments/{created['id']}/credentials",
        headers={"X-Portal-Token": created["portal_token"]},
        timeout=5,
    ).json()
    return got


def online(nas: NasSimulator, user: dict[str, Any]) -> SimSession:
    result = nas.login(user["username"], user["password"])
    assert result.accepted
    assert result.session is not None
    return result.session


def disconnections(committed: sessionmaker[Session], username: str) -> list[SessionDisconnection]:
    with committed() as session:
        user_id = session.scalars(
            select(HotspotUser.id).where(HotspotUser.username == username)
        ).one()
        return list(
            session.scalars(
                select(SessionDisconnection)
                .where(SessionDisconnection.user_id == user_id)
                .order_by(SessionDisconnection.id)
            )
        )


def radacct_stopped(committed: sessionmaker[Session], username: str) -> bool:
    with committed() as session:
        rows = session.scalars(select(RadAcct.acctstoptime).where(RadAcct.username == username))
        stops = list(rows)
    return bool(stops) and all(stop is not None for stop in stops)


@pytest.mark.usefixtures("worker")
def test_a_five_second_package_is_disconnected_within_two_seconds_of_expiry(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, duration_seconds=5)
    expires_at = dt.datetime.fromisoformat(user["expires_at"])
    session = online(nas, user)
    assert session.session_timeout is not None
    assert session.session_timeout <= 5
    assert session.wait_closed(timeout=12), "no Disconnect-Request closed the session"
    request = next(r for r in nas.received if session.session_id in r.session_ids)
    lag = request.received_at - expires_at.timestamp()
    assert 0 <= lag <= 2, f"Disconnect-Request {lag:.2f} s after the expiry"
    assert session.terminate_cause == "Admin-Reset"
    # The NAS's Stop and the worker's record of the ACK land a moment after the ACK itself.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (
        radacct_stopped(committed, user["username"]) and disconnections(committed, user["username"])
    ):
        time.sleep(0.1)
    assert radacct_stopped(committed, user["username"])
    [attempt] = disconnections(committed, user["username"])
    assert (attempt.reason, attempt.result) == ("expired", "ack")
    assert not nas.login(user["username"], user["password"]).accepted


@pytest.mark.usefixtures("worker")
def test_an_extension_before_the_expiry_does_not_disconnect(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, duration_seconds=3)
    session = online(nas, user)
    with committed.begin() as db:
        db.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user["username"])
            .values(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        )
    time.sleep(5)
    assert session.live
    assert disconnections(committed, user["username"]) == []
    nas.logout(session)


@pytest.mark.usefixtures("in_process_jobs")
def test_the_sweep_expires_what_no_job_expired(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, duration_seconds=3600)
    session = online(nas, user)
    with committed.begin() as db:
        db.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user["username"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert expire_due() != "0 session(s) disconnected"
    assert session.wait_closed(timeout=5)
    with committed() as db:
        status = db.scalars(
            select(HotspotUser.status).where(HotspotUser.username == user["username"])
        ).one()
    assert status.value == "expired"
    assert not nas.login(user["username"], user["password"]).accepted


@pytest.mark.usefixtures("in_process_jobs")
def test_an_admin_disconnect_ends_every_session_of_the_user(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, devices=2)
    first, second = online(nas, user), online(nas, user)
    assert disconnect_user(user["username"], "admin") == 2
    assert first.wait_closed(timeout=5)
    assert second.wait_closed(timeout=5)
    reasons = {(d.reason, d.result) for d in disconnections(committed, user["username"])}
    assert reasons == {("admin", "ack")}
    assert nas.login(user["username"], user["password"]).accepted  # not blocked


@pytest.mark.usefixtures("worker")
def test_a_dead_nas_is_retried_then_recorded_as_failed(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, duration_seconds=4)
    session = online(nas, user)
    nas.down = True
    try:
        deadline = time.monotonic() + 20
        attempts: list[SessionDisconnection] = []
        while time.monotonic() < deadline:
            attempts = disconnections(committed, user["username"])
            if attempts and attempts[-1].result == "failed":
                break
            time.sleep(0.2)
    finally:
        nas.down = False
    assert [a.result for a in attempts] == ["timeout", "timeout", "failed"]
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert session.live  # the NAS never heard us; the session stays open on it
    nas.logout(session)


@pytest.mark.usefixtures("in_process_jobs")
def test_a_session_past_its_data_cap_is_disconnected_and_the_user_blocked(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = buy(api, committed, data_cap_bytes=1_000_000)
    session = online(nas, user)
    nas.add_traffic(session, input_octets=200_000, output_octets=900_000)
    assert nas.interim(session)
    summary = sync_accounting_job()
    assert user_id(committed, user["username"]) in summary["capped_user_ids"]
    assert session.wait_closed(timeout=5)
    [attempt] = disconnections(committed, user["username"])
    assert (attempt.reason, attempt.result) == ("data cap", "ack")
    assert not nas.login(user["username"], user["password"]).accepted


def user_id(committed: sessionmaker[Session], username: str) -> int:
    with committed() as session:
        return session.scalars(select(HotspotUser.id).where(HotspotUser.username == username)).one()
