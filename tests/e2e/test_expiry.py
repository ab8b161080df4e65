"""Expiry to the second and Disconnect-Requests, on the real stack: API, rq worker (a separate
`hotspot worker` process), FreeRADIUS and the NAS simulator answering Disconnect-Requests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from rq.job import Job
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import HotspotUser, RadAcct, SessionDisconnection
from jobs import services
from jobs.accounting import sync_accounting_job
from jobs.expiry import disconnect_user, expire_due
from radius.dynauth import (
    IDENTIFIERS,
    SESSION_CONTEXT_NOT_FOUND,
    Answer,
    DynAuthResult,
    SessionOnNas,
    send_requests,
)
from radius.nas_sim import NasSimulator
from radius.nas_sim_session import SimSession
from tests.support.factories import make_package, make_user
from tests.support.harness import ApiUnderTest
from tests.support.jobs import QUICK_WORKER, jobs_reading
from tests.support.payments import pay, random_phone, wait_for_status
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest


@pytest.fixture(scope="module")
def nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    with simulated_nas(
        stack,
        interim_interval=0,
        enforce_session_timeout=False,  # a NAS that ignores Session-Timeout: we must act
        enforce_data_limit=False,
    ) as simulator:
        yield simulator


@pytest.fixture
def in_process_jobs(stack: StackUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs called directly read their settings from the environment, like a worker's."""
    with jobs_reading(monkeypatch, {**stack.env(), **QUICK_WORKER}):
        yield


def buy(api: ApiUnderTest, committed: sessionmaker[Session], **package: Any) -> dict[str, Any]:
    with committed.begin() as session:
        package_id = make_package(session, **package).id
    created = pay(api, random_phone(), package_id).json()
    assert wait_for_status(api, created, "paid")["status"] == "paid"
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
                .where(
                    SessionDisconnection.user_id == user_id,
                    SessionDisconnection.request == "disconnect",
                )
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
    assert expire_due() != "0 session(s) being disconnected"
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
def test_sessions_past_their_data_cap_are_disconnected_and_the_users_blocked(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    users = [buy(api, committed, data_cap_bytes=1_000_000) for _ in "ab"]
    sessions = [online(nas, user) for user in users]
    for session in sessions:
        nas.add_traffic(session, input_octets=200_000, output_octets=900_000)
        assert nas.interim(session)
    summary = sync_accounting_job()  # both in one sync: one batch of Disconnect-Requests
    for user, session in zip(users, sessions, strict=True):
        assert user_id(committed, user["username"]) in summary["capped_user_ids"]
        assert session.wait_closed(timeout=5)
        [attempt] = disconnections(committed, user["username"])
        assert (attempt.reason, attempt.result) == ("data cap", "ack")
        assert not nas.login(user["username"], user["password"]).accepted


def user_id(committed: sessionmaker[Session], username: str) -> int:
    with committed() as session:
        return session.scalars(select(HotspotUser.id).where(HotspotUser.username == username)).one()


def on_nas(
    stack: StackUnderTest, nas: NasSimulator, username: str, session_id: str
) -> SessionOnNas:
    assert nas.coa_port is not None
    return SessionOnNas("127.0.0.1", nas.coa_port, stack.nas_secret, username, session_id, None)


def test_more_requests_to_one_nas_than_identifiers_each_get_their_own_answer(
    stack: StackUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    """More Disconnect-Requests to one NAS than RADIUS has identifiers: every one is sent once,
    and the two live sessions among many the NAS does not know get their ACKs."""
    with committed.begin() as session:
        user = make_user(session, devices=2)
    first, last = (
        online(nas, {"username": user.username, "password": user.password}) for _ in "ab"
    )
    count = IDENTIFIERS + 44
    ids = [first.session_id, *(f"gone{n:04x}" for n in range(count - 2)), last.session_id]
    before = len(nas.received)
    results = send_requests(
        [on_nas(stack, nas, user.username, each) for each in ids], timeout=2
    ).results()
    gone = DynAuthResult(Answer.NAK, SESSION_CONTEXT_NOT_FOUND)
    assert results == [
        DynAuthResult(Answer.ACK),
        *[gone] * (count - 2),
        DynAuthResult(Answer.ACK),
    ]
    received = nas.received[before:]
    assert sorted(r.attributes["Acct-Session-Id"][0] for r in received) == sorted(ids)
    assert first.wait_closed(timeout=5)
    assert last.wait_closed(timeout=5)


def test_a_dead_nas_costs_one_timeout_whatever_the_number_of_requests(
    stack: StackUnderTest, nas: NasSimulator
) -> None:
    nas.down = True
    try:
        started = time.monotonic()
        results = send_requests(
            [on_nas(stack, nas, "nobody", f"dead{n:04x}") for n in range(20)], timeout=0.5
        ).results()
        took = time.monotonic() - started
    finally:
        nas.down = False
    assert results == [DynAuthResult(Answer.TIMEOUT)] * 20
    assert 0.5 <= took < 1.5


@pytest.mark.usefixtures("in_process_jobs")
def test_the_expiry_job_does_not_wait_for_the_answers(
    nas: NasSimulator, committed: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is free for the next second's job while a dead NAS is given its time; the
    attempt is recorded when that time is up."""
    monkeypatch.setenv("HOTSPOT_DISCONNECT_TIMEOUT", "2")
    services.cache_clear()
    with committed.begin() as db:
        user = make_user(db)
    session = online(nas, {"username": user.username, "password": user.password})
    with committed.begin() as db:
        db.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user.username)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    nas.down = True
    try:
        started = time.monotonic()
        assert expire_due() != "0 session(s) being disconnected"
        returned = time.monotonic() - started
        deadline = time.monotonic() + 10
        while not disconnections(committed, user.username) and time.monotonic() < deadline:
            time.sleep(0.1)
        recorded = time.monotonic() - started
    finally:
        nas.down = False
    assert returned < 1
    assert recorded >= 2
    first = disconnections(committed, user.username)[0]  # a retry follows
    assert (first.reason, first.result, first.attempt) == ("expired", "timeout", 1)
    nas.logout(session)


@pytest.mark.usefixtures("in_process_jobs")
def test_a_session_the_nas_does_not_know_is_closed_as_stale(
    stack: StackUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    """NAK with Error-Cause 503 (say the NAS rebooted and its Stop was lost): radacct's row is
    closed as stale, not retried."""
    with committed.begin() as db:
        user = make_user(db)
    address, auth_port, acct_port = stack.radius_address
    with NasSimulator(  # another simulator logs the session in as the same NAS
        address, stack.nas_secret, auth_port=auth_port, acct_port=acct_port, listen=False
    ) as rebooted:
        assert rebooted.login(user.username, user.password).accepted
    assert disconnect_user(user.username, "admin") == 1
    [attempt] = disconnections(committed, user.username)
    assert (attempt.result, attempt.error_cause) == ("nak", SESSION_CONTEXT_NOT_FOUND)
    with committed() as db:
        row = db.scalars(select(RadAcct).where(RadAcct.username == user.username)).one()
    assert row.acctstoptime is not None
    assert row.acctterminatecause == "Stale-Session"
    connection = redis.Redis.from_url(stack.settings.effective_redis_url)
    assert not Job.exists(f"disconnect-{row.acctuniqueid}-2", connection=connection)
    connection.close()
