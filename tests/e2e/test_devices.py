"""Returning devices against the real FreeRADIUS: a device that logged in to an account before
gets in again by its MAC alone (RouterOS `login-by=mac`) while the account is valid, as that
account, within its device limit; nobody else gets in by naming a MAC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from hotspot.access.termination import block_user
from hotspot.models import HotspotDevice, HotspotUser, RadAcct, UserStatus
from jobs.accounting import sync_accounting_job
from radius.nas_sim import LoginResult, NasSimulator
from tests.support.factories import make_package, make_user
from tests.support.harness import ApiUnderTest
from tests.support.jobs import jobs_reading
from tests.support.radius import accounting, simulated_nas
from tests.support.stack import StackUnderTest


@pytest.fixture
def nas(stack: StackUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[NasSimulator]:
    """The NAS, and the accounting sync run here, as the worker runs it."""
    with (
        simulated_nas(stack, interim_interval=0) as simulator,
        jobs_reading(monkeypatch, stack.env()),
    ):
        yield simulator


def customer(committed: sessionmaker[Session], devices: int = 1) -> Credentials:
    with committed.begin() as session:
        return make_user(session, package=make_package(session, devices=devices))


def returning(nas: NasSimulator, user: Credentials, mac: str) -> None:
    """The device logs in with the account's credentials, leaves, and the sync has seen it."""
    result = nas.login(user.username, user.password, mac=mac)
    assert result.accepted
    assert result.session is not None
    nas.logout(result.session)
    sync_accounting_job()


def mac_login(nas: NasSimulator, mac: str) -> LoginResult:
    """As RouterOS logs a new client in with `login-by=mac`: the MAC as User-Name, no password."""
    return nas.login(mac, "", chap=False, mac=mac)


def test_a_returning_device_gets_in_by_its_mac_as_its_account(
    stack: StackUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed)
    returning(nas, user, "02:00:00:00:20:01")
    with committed() as session:
        device = session.scalars(
            select(HotspotDevice).where(HotspotDevice.mac == "02:00:00:00:20:01")
        ).one()
        assert session.get_one(HotspotUser, device.user_id).username == user.username

    result = mac_login(nas, "02:00:00:00:20:01")
    assert result.accepted
    assert result.reply["User-Name"] == [user.username]  # RFC 2865: the session's name
    assert result.reply["Session-Timeout"][0] <= 3600
    assert result.reply["Mikrotik-Rate-Limit"] == ["2M/5M"]
    assert result.session is not None
    assert result.session.username == user.username
    with committed() as session:
        [row] = session.scalars(
            select(RadAcct).where(
                RadAcct.acctsessionid == result.session.session_id,
                RadAcct.acctstoptime.is_(None),
            )
        )
        assert row.username == user.username
    nas.logout(result.session)


def test_the_device_limit_holds_for_mac_logins(
    nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, devices=1)
    returning(nas, user, "02:00:00:00:20:02")
    online = nas.login(user.username, user.password, mac="02:00:00:00:20:03")
    assert online.accepted
    assert not mac_login(nas, "02:00:00:00:20:02").accepted  # one device at a time
    assert online.session is not None
    nas.logout(online.session)
    sync_accounting_job()
    again = mac_login(nas, "02:00:00:00:20:02")
    assert again.accepted
    assert again.session is not None
    nas.logout(again.session)


def test_a_blocked_account_and_an_unknown_device_are_refused(
    nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed)
    returning(nas, user, "02:00:00:00:20:04")
    assert not mac_login(nas, "02:00:00:00:20:05").accepted  # never seen
    with committed.begin() as session:
        account = session.scalars(
            select(HotspotUser).where(HotspotUser.username == user.username)
        ).one()
        block_user(session, account, UserStatus.DISABLED)
    refused = mac_login(nas, "02:00:00:00:20:04")
    assert not refused.accepted


def test_naming_another_devices_mac_gets_nobody_in(
    nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    """The MAC must be, exactly, the one the router saw the request come from
    (Calling-Station-Id)."""
    user = customer(committed)
    returning(nas, user, "0A:00:00:00:20:0B")
    other_device = nas.login("0A:00:00:00:20:0B", "", chap=False, mac="02:00:00:00:20:07")
    assert not other_device.accepted
    spelled_otherwise = nas.login("0a:00:00:00:20:0b", "", chap=False, mac="0A:00:00:00:20:0B")
    assert not spelled_otherwise.accepted
    assert mac_login(nas, "0A:00:00:00:20:0B").accepted


def test_accounting_under_the_mac_is_the_accounts(
    stack: StackUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    """A router that keeps the MAC as the session's name: its accounting is the account's."""
    user = customer(committed)
    returning(nas, user, "02:00:00:00:20:08")
    accounting(
        stack,
        "Start",
        "02:00:00:00:20:08",
        "mac-acct-1",
        {"Calling-Station-Id": "02:00:00:00:20:08"},
    )
    with committed() as session:
        row = session.scalars(select(RadAcct).where(RadAcct.acctsessionid == "mac-acct-1")).one()
    assert row.username == user.username


def test_the_portal_knows_a_returning_device_offline(
    api: ApiUnderTest, nas: NasSimulator, committed: sessionmaker[Session]
) -> None:
    user = customer(committed)
    returning(nas, user, "02:00:00:00:20:09")
    shown = requests.get(
        f"{api.url}/api/hotspot/session", params={"mac": "02-00-00-00-20-09"}, timeout=5
    )
    assert shown.status_code == 200
    assert shown.json()["online"] is False
    assert shown.json()["usable"] is True
    assert "username" not in shown.json()  # a MAC is no proof of the account: not echoed
