"""The accounting sync, fed by the real FreeRADIUS writing radacct with the stock queries.

Accounting-Requests go through `radclient`; every test reads the sync's effect on its own users,
since the watermark (like radacct) is shared by the whole run.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.accounting import SyncResult, sync_accounting
from hotspot.access.provisioning import Credentials
from hotspot.models import (
    DataUsageLog,
    HotspotUser,
    RadAcct,
    RadiusSession,
    SessionStatus,
    SyncWatermark,
    UserStatus,
)
from jobs.accounting import sync_accounting_job
from tests.support.factories import make_package, make_purchase
from tests.support.jobs import jobs_reading
from tests.support.radius import accounting, radclient
from tests.support.stack import StackUnderTest

GIGAWORD = 2**32
INTERIM = 60
GRACE = 60
NO_STALE = 10**8  # a grace under which nothing is ever stale


def sync(
    committed: sessionmaker[Session],
    *,
    stale_grace: int = GRACE,
    settle_timeout: float = 2.0,
    batch_size: int = 5000,
    now: dt.datetime | None = None,
) -> SyncResult:
    with committed.begin() as session:
        return sync_accounting(
            session,
            now=now or dt.datetime.now(dt.UTC),
            interim_interval=INTERIM,
            stale_grace=stale_grace,
            settle_timeout=settle_timeout,
            batch_size=batch_size,
        )


def catch_up(
    committed: sessionmaker[Session], *, stale_grace: int = GRACE, now: dt.datetime | None = None
) -> None:
    while sync(committed, stale_grace=stale_grace, now=now).more:
        pass


def purchase(
    committed: sessionmaker[Session], *, data_cap_bytes: int | None = 2**40, devices: int = 1
) -> tuple[Credentials, int, int]:
    """A paid purchase as the payment flow provisions it: (credentials, user id, pending id)."""
    with committed.begin() as session:
        package = make_package(session, data_cap_bytes=data_cap_bytes, devices=devices)
        _, credentials = make_purchase(session, package)
        user_id = session.scalars(
            select(HotspotUser.id).where(HotspotUser.username == credentials.username)
        ).one()
        pending = session.scalars(
            select(RadiusSession.id).where(RadiusSession.user_id == user_id)
        ).one()
    return credentials, user_id, pending


def sessions_of(committed: sessionmaker[Session], user_id: int) -> list[RadiusSession]:
    with committed() as session:
        return list(
            session.scalars(
                select(RadiusSession)
                .where(RadiusSession.user_id == user_id)
                .order_by(RadiusSession.id)
            )
        )


def usage_of(committed: sessionmaker[Session], user_id: int) -> tuple[int, tuple[int, int]]:
    """(data_used_bytes, (input, output) in the user's data_usage_logs)."""
    with committed() as session:
        used = session.scalars(
            select(HotspotUser.data_used_bytes).where(HotspotUser.id == user_id)
        ).one()
        logged_in, logged_out = session.execute(
            select(
                func.coalesce(func.sum(DataUsageLog.input_octets_delta), 0),
                func.coalesce(func.sum(DataUsageLog.output_octets_delta), 0),
            ).where(DataUsageLog.user_id == user_id)
        ).one()
    return used, (int(logged_in), int(logged_out))


def epoch(seconds_ago: int = 0) -> int:
    return int(time.time()) - seconds_ago


def at(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def octets(input_octets: int, output_octets: int) -> dict[str, str | int]:
    """Counters as a NAS sends them: 32-bit octets plus gigawords."""
    gi, i = divmod(input_octets, GIGAWORD)
    go, o = divmod(output_octets, GIGAWORD)
    return {
        "Acct-Input-Octets": i,
        "Acct-Input-Gigawords": gi,
        "Acct-Output-Octets": o,
        "Acct-Output-Gigawords": go,
    }


def test_start_interim_stop_make_one_session_the_pending_one_from_the_purchase(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, user_id, pending_id = purchase(committed)
    acct_session = secrets.token_hex(4)
    started = epoch(30)
    accounting(stack, "Start", credentials.username, acct_session, {"Event-Timestamp": started})
    catch_up(committed)
    [ours] = sessions_of(committed, user_id)
    assert ours.id == pending_id
    assert ours.status is SessionStatus.ACTIVE
    assert ours.acct_session_id == acct_session
    assert ours.acct_unique_id is not None
    assert ours.started_at == at(started)
    assert ours.stopped_at is None
    assert str(ours.nas_ip) == "127.0.0.1"
    assert str(ours.framed_ip) == "10.5.50.23"
    assert ours.mac == "AA:BB:CC:DD:EE:FF"
    assert ours.nas_port_id == "bridge-hotspot"
    assert ours.expected_end == credentials.expires_at

    updated = epoch(20)
    accounting(
        stack,
        "Interim-Update",
        credentials.username,
        acct_session,
        {"Event-Timestamp": updated, "Acct-Session-Time": 10, **octets(1000, 5000)},
    )
    catch_up(committed)
    [ours] = sessions_of(committed, user_id)
    assert (ours.input_octets, ours.output_octets) == (1000, 5000)
    assert ours.last_update_at == at(updated)
    assert usage_of(committed, user_id) == (6000, (1000, 5000))

    stopped = epoch(10)
    total_in, total_out = GIGAWORD + 100, 2 * GIGAWORD + 200
    accounting(
        stack,
        "Stop",
        credentials.username,
        acct_session,
        {
            "Event-Timestamp": stopped,
            "Acct-Session-Time": 20,
            "Acct-Terminate-Cause": "User-Request",
            **octets(total_in, total_out),
        },
    )
    catch_up(committed)
    [ours] = sessions_of(committed, user_id)
    assert ours.status is SessionStatus.CLOSED
    assert ours.stopped_at == at(stopped)
    assert ours.last_update_at == at(stopped)
    assert ours.terminate_cause == "User-Request"
    assert (ours.input_octets, ours.output_octets) == (total_in, total_out)
    assert usage_of(committed, user_id) == (
        total_in + total_out,
        (total_in, total_out),
    )


def test_a_second_device_gets_a_new_session_and_strangers_are_skipped(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, user_id, pending_id = purchase(committed, devices=2)
    first, second = secrets.token_hex(4), secrets.token_hex(4)
    accounting(stack, "Start", credentials.username, first, {"Event-Timestamp": epoch(5)})
    second_device = {"Calling-Station-Id": "11:22:33:44:55:66"}
    accounting(
        stack, "Start", credentials.username, second, {"Event-Timestamp": epoch(2), **second_device}
    )
    accounting(
        stack, "Interim-Update", credentials.username, second, {**second_device, **octets(7, 8)}
    )
    catch_up(committed)
    catch_up(committed, stale_grace=NO_STALE)
    stranger = f"stranger-{secrets.token_hex(3)}"
    accounting(stack, "Start", stranger, secrets.token_hex(4))
    result = sync(committed, stale_grace=NO_STALE)
    assert result.rows_read == 1
    assert (result.sessions_created, result.sessions_attached, result.sessions_updated) == (0, 0, 0)

    sessions = sessions_of(committed, user_id)
    assert [(s.id == pending_id, s.acct_session_id, s.mac) for s in sessions] == [
        (True, first, "AA:BB:CC:DD:EE:FF"),
        (False, second, "11:22:33:44:55:66"),
    ]
    assert all(s.status is SessionStatus.ACTIVE for s in sessions)
    assert usage_of(committed, user_id) == (15, (7, 8))  # logged with the new session
    with committed() as session:
        strangers = session.scalar(
            select(func.count())
            .select_from(RadiusSession)
            .join(HotspotUser, HotspotUser.id == RadiusSession.user_id)
            .where(HotspotUser.username == stranger)
        )
    assert strangers == 0


def test_syncing_the_same_rows_again_counts_nothing_twice(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, user_id, _ = purchase(committed)
    acct_session = secrets.token_hex(4)
    catch_up(committed)
    with committed() as session:
        before = session.scalars(
            select(SyncWatermark.position).where(SyncWatermark.name == "radacct")
        ).one()
    accounting(stack, "Start", credentials.username, acct_session)
    accounting(
        stack, "Interim-Update", credentials.username, acct_session, octets(3 * GIGAWORD + 7, 9)
    )
    catch_up(committed)
    expected = (3 * GIGAWORD + 7 + 9, (3 * GIGAWORD + 7, 9))
    assert usage_of(committed, user_id) == expected
    [ours] = sessions_of(committed, user_id)

    with committed.begin() as session:  # as if the last sync's commit had been lost
        session.execute(
            text("UPDATE sync_watermarks SET position = :p WHERE name = 'radacct'"), {"p": before}
        )
    again = sync(committed)
    assert again.rows_read >= 1
    assert usage_of(committed, user_id) == expected
    [same] = sessions_of(committed, user_id)
    assert (same.input_octets, same.output_octets, same.status) == (
        ours.input_octets,
        ours.output_octets,
        ours.status,
    )


def seq_of(committed: sessionmaker[Session], acct_session: str) -> int | None:
    with committed() as session:
        return session.scalars(
            select(RadAcct.sync_seq).where(RadAcct.acctsessionid == acct_session)
        ).one()


def test_rows_are_stamped_when_inserted_and_when_closed_and_read_once_past_the_watermark(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, _, _ = purchase(committed)
    acct_session = secrets.token_hex(4)
    catch_up(committed, stale_grace=NO_STALE)
    accounting(stack, "Start", credentials.username, acct_session)
    started = seq_of(committed, acct_session)
    assert started is not None
    result = sync(committed, stale_grace=NO_STALE)
    assert (result.rows_read, result.sessions_attached) == (1, 1)
    assert result.watermark >= started
    assert sync(committed, stale_grace=NO_STALE).rows_read == 0

    accounting(stack, "Interim-Update", credentials.username, acct_session, octets(10, 20))
    assert seq_of(committed, acct_session) == started
    catch_up(committed, stale_grace=NO_STALE)

    accounting(stack, "Stop", credentials.username, acct_session, octets(30, 40))
    stopped = seq_of(committed, acct_session)
    assert stopped is not None
    assert stopped > result.watermark
    result = sync(committed, stale_grace=NO_STALE)
    assert (result.rows_read, result.sessions_closed, result.bytes_added) == (1, 1, 40)
    assert result.watermark >= stopped
    assert sync(committed, stale_grace=NO_STALE).rows_read == 0


def test_an_interim_update_reaches_our_session_and_usage_from_the_open_row(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """Interim-Updates are not stamped (no trigger call, no indexed column): the sync compares the
    open rows with our sessions, and reads those that changed, once."""
    credentials, user_id, _ = purchase(committed)
    acct_session = secrets.token_hex(4)
    accounting(stack, "Start", credentials.username, acct_session)
    catch_up(committed, stale_grace=NO_STALE)
    before = sync(committed, stale_grace=NO_STALE)
    assert (before.rows_read, before.open_rows_read) == (0, 0)

    updated = epoch(5)
    accounting(
        stack,
        "Interim-Update",
        credentials.username,
        acct_session,
        {"Event-Timestamp": updated, "Acct-Session-Time": 55, **octets(GIGAWORD + 10, 20)},
    )
    result = sync(committed, stale_grace=NO_STALE)
    assert (result.rows_read, result.open_rows_read) == (0, 1)
    assert (result.sessions_updated, result.bytes_added) == (1, GIGAWORD + 30)
    assert result.watermark == before.watermark
    [ours] = sessions_of(committed, user_id)
    assert ours.status is SessionStatus.ACTIVE
    assert (ours.input_octets, ours.output_octets) == (GIGAWORD + 10, 20)
    assert ours.last_update_at == at(updated)
    assert usage_of(committed, user_id) == (GIGAWORD + 30, (GIGAWORD + 10, 20))

    again = sync(committed, stale_grace=NO_STALE)
    assert (again.rows_read, again.open_rows_read, again.bytes_added) == (0, 0, 0)


def test_a_backlog_larger_than_a_batch_is_read_batch_after_batch(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """Stamped rows first, in seq order; then changed open rows fill the batch, and one more."""
    credentials, user_id, _ = purchase(committed, devices=4)
    sessions = [secrets.token_hex(4) for _ in range(4)]
    catch_up(committed, stale_grace=NO_STALE)
    for acct_session in sessions:
        accounting(stack, "Start", credentials.username, acct_session)
    batches = [sync(committed, stale_grace=NO_STALE, batch_size=2) for _ in range(2)]
    assert [(b.rows_read, b.open_rows_read, b.more) for b in batches] == [
        (2, 0, True),
        (2, 0, False),
    ]
    assert batches[0].watermark == seq_of(committed, sessions[1])
    assert batches[1].watermark >= (seq_of(committed, sessions[3]) or 0)

    for number, acct_session in enumerate(sessions[:3], start=1):
        accounting(stack, "Interim-Update", credentials.username, acct_session, octets(number, 0))
    accounting(stack, "Stop", credentials.username, sessions[3], octets(4, 0))
    batches = [sync(committed, stale_grace=NO_STALE, batch_size=2) for _ in range(2)]
    assert [(b.rows_read, b.open_rows_read, b.more) for b in batches] == [
        (1, 2, True),
        (0, 1, False),
    ]
    assert usage_of(committed, user_id)[0] == 1 + 2 + 3 + 4
    assert sync(committed, stale_grace=NO_STALE, batch_size=2).open_rows_read == 0


def test_stale_sessions_are_closed_in_radacct_and_in_ours(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, user_id, _ = purchase(committed)
    stale, fresh = secrets.token_hex(4), secrets.token_hex(4)
    last_heard = epoch(2 * INTERIM + GRACE + 30)
    accounting(stack, "Start", credentials.username, stale, {"Event-Timestamp": epoch(3600)})
    accounting(
        stack,
        "Interim-Update",
        credentials.username,
        stale,
        {"Event-Timestamp": last_heard, **octets(500, 500)},
    )
    accounting(stack, "Start", credentials.username, fresh, {"Event-Timestamp": epoch(60)})
    result = sync(committed)
    catch_up(committed)
    assert result.stale_closed >= 1

    with committed() as session:
        rows = {
            row.acctsessionid: row
            for row in session.scalars(
                select(RadAcct).where(RadAcct.username == credentials.username)
            )
        }
    assert rows[stale].acctstoptime == at(last_heard)
    assert rows[stale].acctterminatecause == "Stale-Session"
    assert rows[fresh].acctstoptime is None
    by_id = {s.acct_session_id: s for s in sessions_of(committed, user_id)}
    assert by_id[stale].status is SessionStatus.CLOSED
    assert by_id[stale].stopped_at == at(last_heard)
    assert by_id[stale].terminate_cause == "Stale-Session"
    assert by_id[fresh].status is SessionStatus.ACTIVE
    assert usage_of(committed, user_id)[0] == 1000


def test_accounting_on_closes_every_session_of_that_nas(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    rebooted = f"10.{secrets.randbelow(200) + 20}.{secrets.randbelow(250)}.1"
    users = [purchase(committed) for _ in range(3)]
    for credentials, _, _ in users[:2]:
        accounting(
            stack,
            "Start",
            credentials.username,
            secrets.token_hex(4),
            {"NAS-IP-Address": rebooted, "Event-Timestamp": epoch(30)},
        )
    other_nas = users[2]
    accounting(stack, "Start", other_nas[0].username, secrets.token_hex(4))
    catch_up(committed)
    assert all(sessions_of(committed, u)[0].status is SessionStatus.ACTIVE for _, u, _ in users)

    reply = radclient(
        stack,
        "acct",
        {
            "Acct-Status-Type": "Accounting-On",
            "NAS-IP-Address": rebooted,
            "NAS-Identifier": "tests",
            "Acct-Session-Id": "00000000",
        },
    )
    assert "Received Accounting-Response" in reply, reply
    result = sync(committed)
    assert result.sessions_closed >= 2
    for _, user_id, _ in users[:2]:
        [closed] = sessions_of(committed, user_id)
        assert closed.status is SessionStatus.CLOSED
        assert closed.terminate_cause == "NAS-Reboot"
        assert closed.stopped_at is not None
    assert sessions_of(committed, other_nas[1])[0].status is SessionStatus.ACTIVE


def test_users_at_their_data_cap_are_reported_while_active_or_online(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    capped, capped_id, _ = purchase(committed, data_cap_bytes=10_000)
    below, below_id, _ = purchase(committed, data_cap_bytes=10_000)
    capped_session, below_session = secrets.token_hex(4), secrets.token_hex(4)
    accounting(stack, "Start", capped.username, capped_session)
    accounting(stack, "Start", below.username, below_session)
    accounting(stack, "Interim-Update", capped.username, capped_session, octets(4000, 6000))
    accounting(stack, "Interim-Update", below.username, below_session, octets(4000, 5999))
    result = sync(committed)
    catch_up(committed)
    assert capped_id in result.capped_user_ids
    assert below_id not in result.capped_user_ids

    # Blocked by the caller: still reported while its session goes on, not once it ended.
    with committed.begin() as session:
        session.get_one(HotspotUser, capped_id).status = UserStatus.CAPPED
    accounting(stack, "Interim-Update", capped.username, capped_session, octets(4000, 6500))
    assert capped_id in sync(committed).capped_user_ids
    accounting(stack, "Stop", capped.username, capped_session, octets(4000, 7000))
    result = sync(committed)
    assert capped_id not in result.capped_user_ids
    assert usage_of(committed, capped_id)[0] == 11_000


def test_the_watermark_waits_for_a_writer_that_has_not_committed(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """A row stamped with a lower sync_seq that commits after a higher one is not skipped."""
    credentials, user_id, _ = purchase(committed, devices=3)
    slow, quick, late = (secrets.token_hex(4) for _ in range(3))
    accounting(stack, "Start", credentials.username, slow)
    accounting(stack, "Start", credentials.username, quick)
    catch_up(committed, stale_grace=NO_STALE)

    with stack.engine.connect() as writer:
        writer.execute(  # closes a row: takes the lower sync_seq, and does not commit yet
            text(
                "UPDATE radacct SET acctstoptime = now(), acctinputoctets = 111 "
                "WHERE acctsessionid = :s"
            ),
            {"s": slow},
        )
        accounting(stack, "Stop", credentials.username, quick, octets(222, 0))
        held = sync(committed, stale_grace=NO_STALE, settle_timeout=0.2)
        assert held.held_back
        writer.commit()
    assert usage_of(committed, user_id)[0] == 222
    status = {s.acct_session_id: s.status for s in sessions_of(committed, user_id)}
    assert status == {slow: SessionStatus.ACTIVE, quick: SessionStatus.CLOSED}

    result = sync(committed, stale_grace=NO_STALE)
    assert not result.held_back
    assert result.watermark > held.watermark
    assert usage_of(committed, user_id)[0] == 333
    assert all(s.status is SessionStatus.CLOSED for s in sessions_of(committed, user_id))

    # A writer that commits while the sync waits is simply waited for.
    with stack.engine.connect() as writer:
        writer.execute(  # a Start as the stock query writes it, minus what we do not read
            text(
                "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
                "acctstarttime, acctupdatetime, acctinputoctets, acctoutputoctets) "
                "VALUES (:s, :s, :user, '127.0.0.1', now(), now(), 1000, 0)"
            ),
            {"s": late, "user": credentials.username},
        )
        timer = threading.Timer(0.2, writer.commit)
        timer.start()
        waited = sync(committed, stale_grace=NO_STALE, settle_timeout=5)
        timer.join()
    assert not waited.held_back
    assert waited.rows_read == 1
    assert usage_of(committed, user_id)[0] == 1333
    assert sessions_of(committed, user_id)[-1].acct_session_id == late


def test_a_stop_after_the_stale_sweep_still_brings_its_final_totals(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """The stock Stop rewrites a row already closed; that write is stamped like a close."""
    credentials, user_id, _ = purchase(committed)
    acct_session = secrets.token_hex(4)
    accounting(stack, "Start", credentials.username, acct_session, {"Event-Timestamp": epoch(900)})
    accounting(
        stack,
        "Interim-Update",
        credentials.username,
        acct_session,
        {"Event-Timestamp": epoch(800), **octets(100, 200)},
    )
    catch_up(committed)
    [ours] = sessions_of(committed, user_id)
    assert (ours.status, ours.terminate_cause) == (SessionStatus.CLOSED, "Stale-Session")
    closed = seq_of(committed, acct_session)

    stopped = epoch(5)
    accounting(
        stack,
        "Stop",
        credentials.username,
        acct_session,
        {
            "Event-Timestamp": stopped,
            "Acct-Terminate-Cause": "Lost-Carrier",
            **octets(1000, 2000),
        },
    )
    assert (seq_of(committed, acct_session) or 0) > (closed or 0)
    result = sync(committed)
    assert result.sessions_updated >= 1
    [ours] = sessions_of(committed, user_id)
    assert ours.status is SessionStatus.CLOSED
    assert (ours.stopped_at, ours.terminate_cause) == (at(stopped), "Lost-Carrier")
    assert (ours.input_octets, ours.output_octets) == (1000, 2000)
    assert usage_of(committed, user_id) == (3000, (1000, 2000))


@pytest.fixture
def job_env(stack: StackUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs read their settings from the environment, as an rq worker does."""
    with jobs_reading(monkeypatch, stack.env()):
        yield


@pytest.mark.usefixtures("job_env")
def test_the_job_syncs_and_returns_counts_and_capped_users(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    credentials, user_id, _ = purchase(committed, data_cap_bytes=1000)
    acct_session = secrets.token_hex(4)
    accounting(stack, "Start", credentials.username, acct_session)
    accounting(stack, "Interim-Update", credentials.username, acct_session, octets(600, 600))
    result = sync_accounting_job()
    assert result["rows_read"] >= 1
    assert result["bytes_added"] >= 1200
    assert result["more"] is False
    assert user_id in result["capped_user_ids"]
    assert usage_of(committed, user_id)[0] == 1200


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def test_usage_is_logged_per_user_per_hour_the_sync_ran_in(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """Every sync of an hour adds to the user's one row of that hour, whatever the sessions."""
    credentials, user_id, _ = purchase(committed, devices=2)
    first, second = secrets.token_hex(4), secrets.token_hex(4)
    now = dt.datetime.now(dt.UTC)  # every later sync runs "now": in this hour
    last_hour = now - dt.timedelta(hours=1)
    accounting(stack, "Start", credentials.username, first)
    accounting(stack, "Interim-Update", credentials.username, first, octets(100, 200))
    catch_up(committed, stale_grace=NO_STALE, now=last_hour)
    second_device: dict[str, str | int] = {"Calling-Station-Id": "11:22:33:44:55:66"}
    accounting(stack, "Start", credentials.username, second, second_device)
    for counters, extra in (((300, 600), {}), ((5, 7), second_device), ((400, 800), {})):
        acct_session = second if extra else first
        accounting(
            stack,
            "Interim-Update",
            credentials.username,
            acct_session,
            {**extra, **octets(*counters)},
        )
        catch_up(committed, stale_grace=NO_STALE, now=now)

    with committed() as session:
        rows = session.execute(
            select(
                DataUsageLog.recorded_at,
                DataUsageLog.input_octets_delta,
                DataUsageLog.output_octets_delta,
            )
            .where(DataUsageLog.user_id == user_id)
            .order_by(DataUsageLog.recorded_at)
        ).all()
    assert [tuple(row) for row in rows] == [
        (hour_of(last_hour), 100, 200),
        (hour_of(now), 400 - 100 + 5, 800 - 200 + 7),
    ]
    assert usage_of(committed, user_id) == (400 + 800 + 5 + 7, (405, 807))
