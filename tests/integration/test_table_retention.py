"""The tables that grow with every sync, payment and SMS kept for their retention: hourly usage
and payment events in monthly partitions, settled SMS pruned in archived batches; the
migrations that made them so keep every row (and byte) both ways."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hotspot.adapters import db, row_pruning
from hotspot.adapters.partitions import PARTITIONED, add_months, maintain, month_start, months_of
from hotspot.cli.database import libpq_url
from hotspot.core.settings import Settings
from hotspot.models import DataUsageLog, PaymentEvent, SmsMessage, SmsStatus
from hotspot.operators.tenants import default_operator_id
from tests.support.factories import make_user

THIS_MONTH = month_start(dt.datetime.now(dt.UTC).date())
NOW = dt.datetime.now(dt.UTC)


@contextmanager
def session_of(settings: Settings) -> Iterator[Session]:
    with db.one_off_transaction(settings.effective_database_url) as session:
        yield session


def user_id_of(session: Session) -> int:
    user_id = make_user(session).user_id
    assert user_id is not None
    return user_id


def test_every_partitioned_table_starts_with_this_month_and_three_ahead(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database)
    with session_of(empty_database) as session:
        conn = session.connection().connection.driver_connection
        assert conn is not None
        for table in PARTITIONED:
            assert months_of(conn, table.name) == [add_months(THIS_MONTH, n) for n in range(4)]


def test_old_months_of_hourly_usage_and_payment_events_are_archived_then_dropped(
    empty_database: Settings, tmp_path: Path
) -> None:
    db.upgrade(empty_database)
    url = libpq_url(empty_database.effective_database_url)
    old = add_months(THIS_MONTH, -8)
    maintain(url, old, {}, None)  # as if it ran then
    long_ago = dt.datetime.combine(old, dt.time(10), dt.UTC)
    with session_of(empty_database) as session:
        user_id = user_id_of(session)
        for when, octets in ((long_ago, 111), (NOW, 222)):
            session.add(
                DataUsageLog(
                    user_id=user_id,
                    recorded_at=when,
                    input_octets_delta=octets,
                    output_octets_delta=0,
                )
            )
            session.add(PaymentEvent(kind=f"test {octets}", created_at=when))

    retention = {"data_usage_logs": 6, "payment_events": 6}
    done = maintain(url, THIS_MONTH, retention, tmp_path)

    assert f"data_usage_logs_p{old:%Y%m}" in done.dropped
    assert f"payment_events_p{old:%Y%m}" in done.dropped
    with session_of(empty_database) as session:
        assert session.scalars(select(DataUsageLog.input_octets_delta)).all() == [222]
        assert session.scalars(select(PaymentEvent.kind)).all() == ["test 222"]
    with gzip.open(tmp_path / "payment_events" / f"payment_events_p{old:%Y%m}.csv.gz", "rt") as f:
        assert [row["kind"] for row in csv.DictReader(f)] == ["test 111"]


def add_sms(session: Session, status: SmsStatus, created_at: dt.datetime) -> int:
    message = SmsMessage(
        operator_id=default_operator_id(session),
        idempotency_key=secrets.token_hex(8),
        phone="254700000001",
        purpose="test",
        body=f"{status} at {created_at:%Y-%m}",
        status=status,
        created_at=created_at,
    )
    session.add(message)
    session.flush()
    return message.id


def test_settled_sms_past_their_retention_go_in_archived_batches_and_unknown_ones_stay(
    empty_database: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(row_pruning, "BATCH_ROWS", 1)
    db.upgrade(empty_database)
    long_ago = dt.datetime.combine(add_months(THIS_MONTH, -13), dt.time(9), dt.UTC)
    with session_of(empty_database) as session:
        sent = add_sms(session, SmsStatus.SENT, long_ago)
        failed = add_sms(session, SmsStatus.FAILED, long_ago)
        unknown = add_sms(session, SmsStatus.CLAIMED, long_ago)
        recent = add_sms(session, SmsStatus.DELIVERED, NOW)
    url = libpq_url(empty_database.effective_database_url)

    done = maintain(url, THIS_MONTH, {"sms_messages": 12}, tmp_path)
    again = maintain(url, THIS_MONTH, {"sms_messages": 12}, tmp_path)

    assert (done.pruned, again.pruned) == ({"sms_messages": 2}, {"sms_messages": 0})
    with session_of(empty_database) as session:
        assert sorted(session.scalars(select(SmsMessage.id))) == [unknown, recent]
    files = sorted((tmp_path / "sms_messages").iterdir())
    assert [f.name for f in files] == [
        f"sms_messages-{sent}-{sent}.csv.gz",
        f"sms_messages-{failed}-{failed}.csv.gz",
    ]
    with gzip.open(files[1], "rt") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["status"], row["phone"]) == ("failed", "254700000001")
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)


def add_session(session: Session, started: dt.datetime, *, closed: bool = True) -> str:
    """A radacct row as FreeRADIUS's start and stop queries leave it (stamped by the trigger)."""
    unique_id = secrets.token_hex(8)
    session.execute(
        text(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
            "acctstarttime, acctstoptime) VALUES ('s', :u, 'alice', '10.0.0.1', :start, :stop)"
        ),
        {
            "u": unique_id,
            "start": started,
            "stop": started + dt.timedelta(hours=1) if closed else None,
        },
    )
    return unique_id


def synced_up_to_here(session: Session) -> None:
    session.execute(
        text(
            "INSERT INTO sync_watermarks (name, position) "
            "SELECT 'radacct', max(sync_seq) FROM radacct ON CONFLICT (name) "
            "DO UPDATE SET position = EXCLUDED.position"
        )
    )


def test_radacct_sessions_past_the_retention_go_once_closed_and_synced(
    empty_database: Settings, tmp_path: Path
) -> None:
    db.upgrade(empty_database)
    long_ago = dt.datetime.combine(add_months(THIS_MONTH, -14), dt.time(9), dt.UTC)
    with session_of(empty_database) as session:
        gone = add_session(session, long_ago)
        still_open = add_session(session, long_ago, closed=False)
        recent = add_session(session, NOW - dt.timedelta(days=300))
        synced_up_to_here(session)
        not_synced = add_session(session, long_ago)  # the sync has yet to read it
    url = libpq_url(empty_database.effective_database_url)

    done = maintain(url, THIS_MONTH, {"radacct": 13}, tmp_path)

    assert done.pruned == {"radacct": 1}
    with session_of(empty_database) as session:
        left = set(session.scalars(text("SELECT acctuniqueid FROM radacct")))
    assert left == {still_open, recent, not_synced}
    [archived] = (tmp_path / "radacct").iterdir()
    with gzip.open(archived, "rt") as handle:
        assert [row["acctuniqueid"] for row in csv.DictReader(handle)] == [gone]


def test_closed_sessions_go_with_their_disconnections_and_not_before_them(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database)
    long_ago = dt.datetime.combine(add_months(THIS_MONTH, -14), dt.time(9), dt.UTC)
    with session_of(empty_database) as session:
        user_id = user_id_of(session)
        insert = text(
            "INSERT INTO radius_sessions (user_id, status, acct_unique_id, created_at) "
            "VALUES (:u, :s, :a, :at) RETURNING id"
        )
        closed, asked, online = (
            session.scalar(
                insert, {"u": user_id, "s": s, "a": secrets.token_hex(8), "at": long_ago}
            )
            for s in ("closed", "closed", "active")
        )
        session.execute(
            text(
                "INSERT INTO session_disconnections (session_id, user_id, reason, result, "
                "created_at) VALUES (:s, :u, 'expired', 'ack', :at)"
            ),
            {"s": asked, "u": user_id, "at": NOW - dt.timedelta(days=20)},
        )
    url = libpq_url(empty_database.effective_database_url)

    retention = {"radius_sessions": 13, "session_disconnections": 13}
    done = maintain(url, THIS_MONTH, retention, None)

    assert done.pruned == {"session_disconnections": 0, "radius_sessions": 1}
    with session_of(empty_database) as session:
        left = set(session.scalars(text("SELECT id FROM radius_sessions")))
    assert closed not in left
    assert {asked, online} <= left  # the attempt still names one; the other is online


def test_the_hourly_usage_migration_sums_each_users_hours_and_gives_them_back(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database, "0018")
    hour = dt.datetime(2026, 11, 3, 14, tzinfo=dt.UTC)
    with session_of(empty_database) as session:
        user_id = user_id_of(session)
        first, second = (
            session.scalar(
                text(
                    "INSERT INTO radius_sessions (user_id, acct_unique_id, started_at) "
                    "VALUES (:u, :a, :s) RETURNING id"
                ),
                {"u": user_id, "a": secrets.token_hex(8), "s": hour + dt.timedelta(minutes=m)},
            )
            for m in (-30, 20)
        )
        for session_id, minutes, octets in ((first, 5, 10), (second, 40, 20), (first, 70, 40)):
            session.execute(
                text(
                    "INSERT INTO data_usage_logs (session_id, user_id, input_octets_delta, "
                    "output_octets_delta, recorded_at) VALUES (:s, :u, :o, 1, :at)"
                ),
                {
                    "s": session_id,
                    "u": user_id,
                    "o": octets,
                    "at": hour + dt.timedelta(minutes=minutes),
                },
            )

    db.upgrade(empty_database, "0019")
    with session_of(empty_database) as session:
        rows = session.execute(
            select(
                DataUsageLog.recorded_at,
                DataUsageLog.input_octets_delta,
                DataUsageLog.output_octets_delta,
            ).order_by(DataUsageLog.recorded_at)
        ).all()
    next_hour = hour + dt.timedelta(hours=1)
    assert [tuple(r) for r in rows] == [(hour, 30, 2), (next_hour, 40, 1)]

    db.downgrade(empty_database, "0018")
    with session_of(empty_database) as session:
        back = session.execute(
            text(
                "SELECT session_id, input_octets_delta, recorded_at "
                "FROM data_usage_logs ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in back] == [(second, 30, hour), (second, 40, next_hour)]


def test_the_payment_events_migration_keeps_every_event_and_its_id_both_ways(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database, "0019")
    long_ago = dt.datetime.combine(add_months(THIS_MONTH, -14), dt.time(8), dt.UTC)
    insert = text("INSERT INTO payment_events (kind, created_at) VALUES (:k, :at) RETURNING id")
    with session_of(empty_database) as session:
        ids = [
            session.scalar(insert, {"k": k, "at": at})
            for k, at in (("old", long_ago), ("new", NOW))
        ]
    db.upgrade(empty_database)
    with session_of(empty_database) as session:
        where = session.execute(
            text("SELECT kind, tableoid::regclass::text FROM payment_events ORDER BY id")
        ).all()
        ids.append(session.scalar(insert, {"k": "later", "at": NOW}))
    assert [tuple(r) for r in where] == [
        ("old", f"payment_events_p{long_ago:%Y%m}"),
        ("new", f"payment_events_p{THIS_MONTH:%Y%m}"),
    ]
    db.downgrade(empty_database, "0019")
    with session_of(empty_database) as session:
        kept = session.execute(text("SELECT id, kind FROM payment_events ORDER BY id")).all()
    assert [tuple(r) for r in kept] == list(zip(ids, ["old", "new", "later"], strict=True))
