"""Usage-time and daily-data packages against the real FreeRADIUS: what is left of the quota
caps the Access-Accept (Session-Timeout, Mikrotik-Total-Limit) or, when nothing is, rejects;
and the accounting sync disconnects a session online past its quota on a NAS that ignores
those attributes."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterator

import pytest
from pyrad import packet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.portal_status import access_for_username
from hotspot.access.provisioning import Credentials
from hotspot.access.quotas import data_left_today, time_left
from hotspot.catalog.packages import Quotas
from hotspot.models import DataUsageLog, HotspotUser, RadAcct
from jobs.accounting import sync_accounting_job
from radius.nas_sim import NasSimulator
from radius.nas_sim_session import SimSession
from tests.support.factories import make_package, make_user
from tests.support.jobs import jobs_reading
from tests.support.radius import pyrad_login, simulated_nas
from tests.support.stack import StackUnderTest

HOUR = 3600
MB = 2**20
DAY = 24 * HOUR
TIMEZONE = "Africa/Nairobi"  # the stack's HOTSPOT_TIMEZONE (the default)


def customer(
    committed: sessionmaker[Session], quotas: Quotas, *, bought_ago: int = DAY
) -> Credentials:
    """An account on a 30-day package with these quotas, bought `bought_ago` seconds ago."""
    with committed.begin() as session:
        package = make_package(
            session, duration_seconds=30 * DAY, data_cap_bytes=None, quotas=quotas
        )
        user = make_user(session, package=package)
        session.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user.username)
            .values(usage_since=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=bought_ago))
        )
        return user


def online_for(
    committed: sessionmaker[Session], username: str, seconds: int, *, ended_ago: int = 60
) -> None:
    """A session of `seconds` in radacct, as FreeRADIUS writes one, ended `ended_ago` s ago."""
    stop = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ended_ago)
    with committed.begin() as session:
        session.add(
            RadAcct(
                acctsessionid=secrets.token_hex(4),
                acctuniqueid=secrets.token_hex(16),
                username=username,
                nasipaddress="127.0.0.1",
                acctstarttime=stop - dt.timedelta(seconds=seconds),
                acctstoptime=stop,
                acctsessiontime=seconds,
            )
        )


def used_bytes(
    committed: sessionmaker[Session], username: str, octets: int, at: dt.datetime
) -> None:
    """Usage the accounting sync recorded at `at`."""
    with committed.begin() as session:
        user = session.scalars(select(HotspotUser).where(HotspotUser.username == username)).one()
        session.add(
            DataUsageLog(
                user_id=user.id,
                input_octets_delta=octets // 4,
                output_octets_delta=octets - octets // 4,
                recorded_at=at,
            )
        )


def local_midnight() -> dt.datetime:
    today = dt.datetime.now(zoneinfo.ZoneInfo(TIMEZONE)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return today.astimezone(dt.UTC)


def test_an_hours_of_use_package_gets_the_time_left_then_is_refused(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, Quotas(time_quota_seconds=5 * HOUR))
    first = pyrad_login(stack, user.username, user.password)
    assert first.code == packet.AccessAccept
    assert 5 * HOUR - 5 <= first["Session-Timeout"][0] <= 5 * HOUR  # not the 30 days

    online_for(committed, user.username, 4 * HOUR + 50 * 60)  # yesterday's long evening
    later = pyrad_login(stack, user.username, user.password)
    assert later.code == packet.AccessAccept
    assert 600 - 5 <= later["Session-Timeout"][0] <= 600

    online_for(committed, user.username, 600, ended_ago=5)
    refused = pyrad_login(stack, user.username, user.password)
    assert refused.code == packet.AccessReject
    assert refused["Reply-Message"] == ["Your package's time is used up"]


def test_time_online_before_the_purchase_does_not_count(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, Quotas(time_quota_seconds=HOUR), bought_ago=600)
    # Online 40 minutes, of which the last 10 are this purchase's.
    online_for(committed, user.username, 40 * 60, ended_ago=1)
    with committed() as session:
        left = time_left(session, user.username, dt.datetime.now(dt.UTC))
    assert left is not None
    assert 50 * 60 - 5 <= left <= 50 * 60 + 5
    reply = pyrad_login(stack, user.username, user.password)
    assert abs(reply["Session-Timeout"][0] - left) <= 5


def test_a_daily_data_package_gets_todays_data_left_and_again_after_midnight(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, Quotas(daily_data_bytes=500 * MB))
    fresh = pyrad_login(stack, user.username, user.password)
    assert fresh["Mikrotik-Total-Limit"] == [500 * MB]
    assert fresh["Mikrotik-Total-Limit-Gigawords"] == [0]

    midnight = local_midnight()
    used_bytes(committed, user.username, 400 * MB, midnight - dt.timedelta(minutes=1))  # yesterday
    used_bytes(committed, user.username, 300 * MB, midnight + dt.timedelta(seconds=1))
    assert pyrad_login(stack, user.username, user.password)["Mikrotik-Total-Limit"] == [200 * MB]

    used_bytes(committed, user.username, 200 * MB, dt.datetime.now(dt.UTC))
    refused = pyrad_login(stack, user.username, user.password)
    assert refused.code == packet.AccessReject
    assert refused["Reply-Message"] == ["Today's data is used up; more at midnight"]
    with committed() as session:
        tomorrow = midnight + dt.timedelta(days=1, seconds=1)
        assert data_left_today(session, user.username, TIMEZONE, tomorrow) == 500 * MB


def test_a_daily_quota_beyond_4_gib_goes_in_gigawords(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = customer(committed, Quotas(daily_data_bytes=5 * 2**30 + 7))
    reply = pyrad_login(stack, user.username, user.password)
    assert reply["Mikrotik-Total-Limit"] == [2**30 + 7]
    assert reply["Mikrotik-Total-Limit-Gigawords"] == [1]


@pytest.fixture
def careless_nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    """A NAS that ignores Session-Timeout and data limits, sending Interim-Updates every second."""
    with simulated_nas(
        stack, interim_interval=1, enforce_session_timeout=False, enforce_data_limit=False
    ) as nas:
        yield nas


def sync_until_closed(
    session: SimSession, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """The accounting sync, run here as the worker runs it, until the session is cut (15 s)."""
    with jobs_reading(monkeypatch, env):
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=15)
        while session.live and dt.datetime.now(dt.UTC) < deadline:
            sync_accounting_job()
            session.wait_closed(timeout=1)


def test_the_sync_disconnects_a_session_online_past_its_hours(
    stack: StackUnderTest,
    committed: sessionmaker[Session],
    careless_nas: NasSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = customer(committed, Quotas(time_quota_seconds=HOUR))
    online_for(committed, user.username, HOUR - 3)
    session = careless_nas.login(user.username, user.password, chap=False).session
    assert session is not None
    assert session.session_timeout is not None
    assert session.session_timeout <= 3
    sync_until_closed(session, monkeypatch, stack.env())
    assert not session.live, "the sync left the session online past its quota"
    assert session.terminate_cause == "Admin-Reset"


def test_the_sync_disconnects_a_session_past_todays_data(
    stack: StackUnderTest,
    committed: sessionmaker[Session],
    careless_nas: NasSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = customer(committed, Quotas(daily_data_bytes=MB))
    session = careless_nas.login(user.username, user.password, chap=False).session
    assert session is not None
    assert session.total_limit == MB
    careless_nas.add_traffic(session, 200_000, 900_000)  # past the MB: the NAS lets it be
    sync_until_closed(session, monkeypatch, stack.env())
    assert not session.live, "the sync left the session online past today's data"
    assert session.terminate_cause == "Admin-Reset"
    assert careless_nas.login(user.username, user.password).accepted is False


def test_the_portal_counts_down_the_hours_of_use_not_the_validity(
    committed: sessionmaker[Session],
) -> None:
    user = customer(committed, Quotas(time_quota_seconds=5 * HOUR))
    online_for(committed, user.username, 4 * HOUR + 50 * 60)
    with committed() as session:
        access = access_for_username(session, user.username, dt.datetime.now(dt.UTC))
    assert access is not None
    assert 600 - 5 <= access.seconds_left <= 600  # not the 30 days of validity
    assert access.usable
