"""Changing what a connected customer gets without cutting them off: CoA-Requests (RFC 5176)
from a `hotspot worker` process to the NAS simulator, on the real stack (the API, FreeRADIUS).
The simulator ends a session when its Session-Timeout passes, as a MikroTik does."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials, current_password
from hotspot.models import AdminRole, HotspotUser, Package, Payment, SessionDisconnection
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from radius.nas_sim import NasSimulator
from radius.nas_sim_dynauth import DynAuthRequest
from radius.nas_sim_session import SimSession
from tests.support.admin import Admin
from tests.support.factories import make_package, make_user
from tests.support.harness import ApiUnderTest
from tests.support.payments import pay, random_phone, wait_for_status
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    with simulated_nas(stack, interim_interval=0) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def admin(api: ApiUnderTest, stack: StackUnderTest) -> Admin:
    with stack.sessions.begin() as session:
        token = create_token(
            session,
            f"test-live-{secrets.token_hex(3)}",
            AdminRole.ADMIN,
            default_operator_id(session),
        )
    return Admin(api, token)


def buy(api: ApiUnderTest, committed: sessionmaker[Session], phone: str, package_id: int) -> Any:
    """A paid purchase through M-Pesa's sandbox; the account as it stands after it."""
    created = pay(api, phone, package_id).json()
    assert wait_for_status(api, created, "paid")["status"] == "paid"
    with committed() as session:
        payment = session.get_one(Payment, created["id"])
        return session.get_one(HotspotUser, payment.user_id)


def password_of(committed: sessionmaker[Session], username: str) -> str:
    with committed() as session:
        return current_password(session, username)


def online(nas: NasSimulator, user: Credentials) -> SimSession:
    result = nas.login(user.username, user.password)
    assert result.accepted
    assert result.session is not None
    return result.session


def coa_requests(nas: NasSimulator, session: SimSession) -> list[DynAuthRequest]:
    """The CoA-Requests naming the session, whatever the answer."""
    return [
        r
        for r in nas.received
        if r.kind == "CoA-Request" and r.attributes.get("Acct-Session-Id") == [session.session_id]
    ]


def attempts(committed: sessionmaker[Session], username: str) -> list[tuple[str, str, str, int]]:
    """(request, reason, result, attempt) of every Disconnect/CoA attempt for the account."""
    with committed() as session:
        rows = session.execute(
            select(
                SessionDisconnection.request,
                SessionDisconnection.reason,
                SessionDisconnection.result,
                SessionDisconnection.attempt,
            )
            .join(HotspotUser, HotspotUser.id == SessionDisconnection.user_id)
            .where(HotspotUser.username == username)
            .order_by(SessionDisconnection.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def new_account(committed: sessionmaker[Session], **package: Any) -> tuple[Package, Credentials]:
    with committed.begin() as session:
        made = make_package(session, **package)
        user = make_user(session, package=made)
        session.expunge(made)
    return made, user


@pytest.mark.usefixtures("worker")
def test_a_customer_online_with_ten_seconds_left_renews_and_stays_online_past_the_old_end(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    with committed.begin() as db:
        package_id = make_package(db, duration_seconds=10).id
    first = buy(api, committed, phone, package_id)
    old_end = first.expires_at
    user = Credentials(first.username, password_of(committed, first.username), old_end)
    sim = online(nas, user)
    assert sim.session_timeout is not None
    assert sim.session_timeout <= 10
    renewed = buy(api, committed, phone, package_id)
    assert renewed.username == first.username
    assert renewed.expires_at == old_end + dt.timedelta(seconds=10)

    [coa] = wait_for(lambda: coa_requests(nas, sim), timeout=10)
    assert coa.reply_kind == "CoA-ACK"
    [timeout] = coa.attributes["Session-Timeout"]
    assert abs(sim.started_at + timeout - renewed.expires_at.timestamp()) <= 2
    assert sim.session_timeout == timeout
    assert coa.attributes["Mikrotik-Rate-Limit"] == ["2M/5M"]

    time.sleep(max(0.0, old_end.timestamp() + 2 - time.time()))
    assert sim.live, "the router ended the session at the old Session-Timeout"
    assert sim.wait_closed(timeout=15)
    # at the new end: the router's timer or the expiry's Disconnect-Request, whichever is first
    assert sim.terminate_cause in ("Session-Timeout", "Admin-Reset")
    assert abs(time.time() - renewed.expires_at.timestamp()) <= 3
    wait_for(lambda: attempts(committed, user.username), timeout=5)
    assert attempts(committed, user.username)[0] == ("coa", "renewal", "ack", 1)


@pytest.mark.usefixtures("worker")
def test_an_operator_speeding_up_a_package_changes_its_sessions_online_and_no_others(
    admin: Admin, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    edited, user = new_account(committed, rate_limit="1M/2M", data_cap_bytes=None)
    _, bystander = new_account(committed, rate_limit="1M/2M", data_cap_bytes=None)
    session, other = online(nas, user), online(nas, bystander)
    assert session.rate_limit == other.rate_limit == "1M/2M"

    admin.ok("PATCH", f"/packages/{edited.id}", json={"rate_limit": "4M/8M"})
    [coa] = wait_for(lambda: coa_requests(nas, session), timeout=10)
    assert coa.reply_kind == "CoA-ACK"
    assert session.rate_limit == "4M/8M"
    assert session.live
    assert other.rate_limit == "1M/2M"
    assert coa_requests(nas, other) == []
    wait_for(lambda: attempts(committed, user.username), timeout=5)
    assert attempts(committed, user.username) == [("coa", "package change", "ack", 1)]

    admin.ok("PATCH", f"/packages/{edited.id}", json={"price": "99"})
    time.sleep(1)
    assert len(coa_requests(nas, session)) == 1, "a price change is nothing to the router"


@pytest.mark.usefixtures("worker")
def test_a_router_refusing_the_coa_gets_retries_then_a_disconnect_and_the_new_limits_at_login(
    admin: Admin, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    edited, user = new_account(committed, rate_limit="1M/2M", data_cap_bytes=None)
    session = online(nas, user)
    nas.coa_refused = True
    try:
        admin.ok("PATCH", f"/packages/{edited.id}", json={"rate_limit": "3M/6M"})
        assert session.wait_closed(timeout=15), "no Disconnect-Request after the refused CoAs"
    finally:
        nas.coa_refused = False
    assert session.terminate_cause == "Admin-Reset"
    assert [r.reply_kind for r in coa_requests(nas, session)] == ["CoA-NAK"] * 3
    assert all(r.error_cause == 405 for r in coa_requests(nas, session))
    wait_for(lambda: len(attempts(committed, user.username)) == 4, timeout=5)
    assert attempts(committed, user.username) == [
        ("coa", "package change", "nak", 1),
        ("coa", "package change", "nak", 2),
        ("coa", "package change", "failed", 3),
        ("disconnect", "package change: CoA failed", "ack", 1),
    ]
    again = online(nas, user)
    assert again.rate_limit == "3M/6M"


@pytest.mark.usefixtures("worker")
def test_an_operator_extending_an_account_online_moves_its_session_timeout(
    admin: Admin, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    _, user = new_account(committed, duration_seconds=600)
    session = online(nas, user)
    assert session.session_timeout is not None
    assert session.session_timeout <= 600
    shown = admin.ok("POST", f"/users/{user.username}/extend", json={"days": 1})
    [coa] = wait_for(lambda: coa_requests(nas, session), timeout=10)
    assert coa.reply_kind == "CoA-ACK"
    ends = dt.datetime.fromisoformat(shown["expires_at"]).timestamp()
    assert session.session_timeout is not None
    assert abs(session.started_at + session.session_timeout - ends) <= 2
    assert attempts(committed, user.username)[-1][:3] == ("coa", "extension", "ack")
