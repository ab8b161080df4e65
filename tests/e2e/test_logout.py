"""A customer logging itself out: `POST /api/hotspot/logout` ends the caller's own sessions with
Disconnect-Requests from a `hotspot worker` process, and nobody else's."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from radius.nas_sim import NasSimulator
from radius.nas_sim_session import SimSession
from tests.support.factories import make_package, make_user
from tests.support.harness import ApiUnderTest, start_api
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest


@pytest.fixture(scope="module")
def nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    with simulated_nas(stack, interim_interval=0) as simulator:
        yield simulator


def customer(committed: sessionmaker[Session], devices: int = 1) -> Credentials:
    with committed.begin() as session:
        return make_user(session, package=make_package(session, devices=devices))


def online(nas: NasSimulator, user: Credentials, mac: str | None = None) -> SimSession:
    result = nas.login(user.username, user.password, mac=mac)
    assert result.accepted
    assert result.session is not None
    return result.session


def log_out(api: ApiUnderTest, **body: Any) -> requests.Response:
    return requests.post(f"{api.url}/api/hotspot/logout", json=body, timeout=10)


@pytest.mark.usefixtures("worker")
def test_a_customer_logs_out_its_own_session_and_nobody_elses(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user, other = customer(committed), customer(committed)
    mine, theirs = online(nas, user), online(nas, other)
    answer = log_out(api, username=user.username, password=user.password)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"sessions": 1}
    assert mine.wait_closed(timeout=10)
    assert mine.terminate_cause == "Admin-Reset"
    assert theirs.live
    # logged out, not blocked: the same details log in again while the package lasts
    assert nas.login(user.username, user.password).accepted


@pytest.mark.usefixtures("worker")
def test_naming_the_device_ends_only_its_session(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, devices=2)
    phone = online(nas, user, mac="02:00:00:00:10:01")
    laptop = online(nas, user, mac="02:00:00:00:10:02")
    answer = log_out(
        api, username=user.username, password=user.password, mac="02-00-00-00-10-02", ip=laptop.ip
    )
    assert answer.json() == {"sessions": 1}
    assert laptop.wait_closed(timeout=10)
    assert phone.live


def test_wrong_credentials_end_nothing_and_say_nothing_about_the_account(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    victim, attacker = customer(committed), customer(committed)
    session = online(nas, victim)
    wrong_password = log_out(api, username=victim.username, password="guess-guess-guess")
    attackers_password = log_out(api, username=victim.username, password=attacker.password)
    unknown = log_out(api, username="nosuch", password=attacker.password)
    assert (
        wrong_password.status_code == attackers_password.status_code == unknown.status_code == 401
    )
    assert wrong_password.json() == attackers_password.json() == unknown.json()
    # the attacker's own credentials with the victim's device name their own sessions only
    aimed = log_out(
        api, username=attacker.username, password=attacker.password, mac=session.mac, ip=session.ip
    )
    assert aimed.json() == {"sessions": 0}
    time.sleep(1)
    assert session.live
    assert not [r for r in nas.received if session.session_id in r.session_ids]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "abc"},
        {"username": 5, "password": "x"},
        {"username": "abc", "password": "x", "mac": "not-a-mac"},
        {"username": "abc", "password": "x", "ip": "10.0.0.999"},
        {"username": "a" * 5000, "password": "x"},
    ],
)
def test_bad_requests_are_refused_with_a_reason(api: ApiUnderTest, body: dict[str, Any]) -> None:
    answer = log_out(api, **body)
    assert answer.status_code == 422
    assert answer.json()["error"]


def test_guessing_a_password_is_limited_per_account(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    victim = customer(committed)
    answers = [
        log_out(api, username=victim.username, password=f"guess-{n}").status_code for n in range(11)
    ]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429
    # and the right password is refused too until the window passes: no oracle for the guesser
    assert log_out(api, username=victim.username, password=victim.password).status_code == 429


def test_without_redis_a_logout_says_503_not_a_false_202(
    stack: StackUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed)
    session = online(nas, user)
    with socket.socket() as held:  # bound, not listening: a Redis that is down
        held.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{held.getsockname()[1]}/0"
        server, services = start_api(stack.settings.with_changes(redis_url=dead))
        try:
            answer = requests.post(
                f"{server.url}/api/hotspot/logout",
                json={"username": user.username, "password": user.password},
                timeout=10,
            )
        finally:
            server.stop()
            services.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert session.live  # nothing was ended, and nothing pretends it was
