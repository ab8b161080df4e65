"""The operator views on a small known data set, `hotspot report …` in each format, 0002 and 0004.

The data set lives in a database of its own (made and dropped by this module), so the totals are
exactly the ones below, whatever other tests commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from hotspot.adapters import db
from hotspot.cli.reports import report_command
from hotspot.core.settings import Settings
from hotspot.models import (
    HotspotUser,
    Nas,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RadAcct,
    SessionDisconnection,
    SmsMessage,
    SmsStatus,
)
from hotspot.operators.tenants import default_operator_id
from hotspot.reports import queries
from hotspot.reports.queries import Days
from tests.support.factories import synced_session
from tests.support.stack import StackUnderTest

D1 = dt.date(2001, 2, 3)
FORGED_REASON = "@SUM(1+1)*cmd|' /C calc'!A0"  # as a delivery report could carry it
D2 = dt.date(2001, 2, 4)
BOTH = Days(D1, D2)
VIEWS = {
    "report_active_sessions",
    "report_payments",
    "report_revenue_daily",
    "report_payment_funnel",
    "report_usage_per_user",
    "report_sms_failures",
    "report_failed_disconnects",
}
# Migration 0015: one operator's reports.
OPERATOR_VIEWS = {
    "report_operator_revenue_daily",
    "report_subscribers_due",
    "report_arrears",
    "report_wallet_statement",
}
ROLLUPS = set(queries.ROLLUPS)
DAY_INDEXES = {
    "ix_payments_paid_day",
    "ix_payments_created_day",
    "ix_sms_messages_failures_day",
    "ix_session_disconnections_failed_day",
}
USAGE_INDEX = "radacct_start_day_idx"  # 0002 made it, 0004 dropped it
FIRST_SESSION_INDEX = "radacct_username_start_idx"  # 0002 made it, 0022 dropped it
INDEXES_0002 = DAY_INDEXES | {USAGE_INDEX, FIRST_SESSION_INDEX}
INDEXES_0004 = DAY_INDEXES | {FIRST_SESSION_INDEX}
INDEXES = DAY_INDEXES | {"ix_radius_sessions_user_started", "radacct_username_stop_idx"}  # 0022


def at(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), dt.UTC)


@dataclass(frozen=True)
class Known:
    u1: str
    u2: str
    u3: str
    hour: str  # package names
    day: str
    north: str  # NAS names
    south: str
    north_ip: str
    south_ip: str


def insert_known_data(session: Session) -> Known:
    """Two days of payments, sessions, SMS and Disconnect-Requests (see each comment)."""
    tag = secrets.token_hex(3)
    op = default_operator_id(session)
    hour = Package(
        operator_id=op,
        name=f"Hour {tag}",
        group_name=f"hour_{tag}",
        price=Decimal(20),
        duration_seconds=3600,
        rate_limit="2M/5M",
    )
    day = Package(
        operator_id=op,
        name=f'=HYPERLINK("http://evil.example/","Day {tag}")',  # a CSV must not run it
        group_name=f"day_{tag}",
        price=Decimal(50),
        duration_seconds=86400,
        rate_limit="5M/10M",
    )
    north = Nas(operator_id=op, nasname="192.0.2.11", shortname=f"north-{tag}", secret="x")
    south = Nas(operator_id=op, nasname="192.0.2.12", shortname=f"south-{tag}", secret="x")
    session.add_all([hour, day, north, south])
    session.flush()
    users = [
        HotspotUser(
            operator_id=op,
            username=f"rep{n}{tag}",
            phone=f"+2547{secrets.randbelow(10**8):08d}",
            package_id=package.id,
            expires_at=at(D2, "23:00"),
        )
        for n, package in ((1, hour), (2, day), (3, hour))
    ]
    session.add_all(users)
    session.flush()
    u1, u2, u3 = users

    def payment(
        user: HotspotUser | None,
        package: Package | None,
        status: PaymentStatus,
        created: dt.datetime,
        paid: dt.datetime | None = None,
        *,
        method: PaymentMethod = PaymentMethod.STK,
    ) -> Payment:
        price = package.price if package else Decimal(100)
        return Payment(
            operator_id=op,
            method=method,
            package_id=package.id if package else None,
            user_id=user.id if user else None,
            phone=user.phone if user else None,
            amount=price,
            amount_paid=price if paid else None,
            status=status,
            created_at=created,
            updated_at=paid or created,
            paid_at=paid,
        )

    paid, failed, expired = PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.EXPIRED
    session.add_all(
        [
            # u1 pays, logs in a minute later on north.
            payment(u1, hour, paid, at(D1, "10:00:00"), at(D1, "10:00:20")),
            # u2 pays across midnight: the funnel counts it on D1, revenue on D2 (south).
            payment(u2, day, paid, at(D1, "23:59:50"), at(D2, "00:00:10")),
            # u3 fails, lets one expire, then pays but is not seen within 24 hours: no NAS.
            payment(u3, hour, failed, at(D1, "12:00:00")),
            payment(u3, hour, expired, at(D1, "13:00:00")),
            payment(u3, hour, paid, at(D1, "14:00:00"), at(D1, "14:00:30")),
            # u1's C2B renewal while its session (on south) began 3 minutes earlier: that one.
            payment(
                u1, hour, paid, at(D1, "18:00:00"), at(D1, "18:00:00"), method=PaymentMethod.C2B
            ),
            # Money for nobody: not revenue, an unmatched C2B payment in the funnel.
            Payment(
                operator_id=op,
                method=PaymentMethod.C2B,
                amount=Decimal(100),
                amount_paid=Decimal(100),
                status=PaymentStatus.UNMATCHED,
                created_at=at(D1, "19:00:00"),
                updated_at=at(D1, "19:00:00"),
                paid_at=at(D1, "19:00:00"),
            ),
            # u2's push on D2 still pending.
            payment(u2, day, PaymentStatus.PENDING, at(D2, "09:00:00")),
        ]
    )

    def acct(
        user: HotspotUser,
        nas: Nas,
        start: dt.datetime,
        usage: tuple[int, int, int],
        *,
        open_: bool = False,
    ) -> RadAcct:
        seconds, up, down = usage
        return RadAcct(
            acctsessionid=secrets.token_hex(4),
            acctuniqueid=secrets.token_hex(16),
            username=user.username,
            nasipaddress=nas.nasname,
            acctstarttime=start,
            acctupdatetime=start + dt.timedelta(seconds=seconds),
            acctstoptime=None if open_ else start + dt.timedelta(seconds=seconds),
            acctsessiontime=seconds,
            acctinputoctets=up,
            acctoutputoctets=down,
            callingstationid="AA:BB:CC:00:00:0" + user.username[3],
            framedipaddress="10.5.50.7",
        )

    sessions = [
        (u1, acct(u1, north, at(D1, "10:01:00"), (1800, 1000, 5000))),
        (u2, acct(u2, south, at(D2, "00:00:40"), (3600, 2000, 8000))),
        (u3, acct(u3, north, at(D2 + dt.timedelta(days=1), "15:00:00"), (600, 100, 300))),
        (u1, acct(u1, south, at(D1, "17:57:00"), (1800, 3000, 7000))),
        (u2, acct(u2, north, at(D2, "08:00:00"), (300, 400, 600), open_=True)),
    ]
    session.add_all([row for _, row in sessions])
    session.add_all([synced_session(row, user.id) for user, row in sessions])

    def sms(status: SmsStatus, created: dt.datetime, error: str | None) -> SmsMessage:
        return SmsMessage(
            operator_id=op,
            idempotency_key=secrets.token_hex(8),
            user_id=u1.id,
            phone=u1.phone or "",
            purpose="credentials",
            body="hello",
            status=status,
            error=error,
            created_at=created,
        )

    session.add_all(
        [
            sms(SmsStatus.FAILED, at(D1, "10:00:30"), FORGED_REASON),
            sms(SmsStatus.CLAIMED, at(D1, "11:00:00"), "outcome unknown: read timed out"),
            sms(SmsStatus.CLAIMED, at(D2, "11:00:00"), "retrying: 500 Internal Server Error"),
            sms(SmsStatus.DELIVERED, at(D1, "12:00:00"), None),
            sms(SmsStatus.CLAIMED, at(D1, "13:00:00"), None),  # being sent right now
            sms(SmsStatus.SENT, at(D2, "12:00:00"), None),
        ]
    )

    def disconnect(
        result: str, cause: int | None, attempt: int, created: dt.datetime
    ) -> SessionDisconnection:
        return SessionDisconnection(
            user_id=u2.id,
            reason="expired",
            result=result,
            error_cause=cause,
            attempt=attempt,
            nas_ip=north.nasname,
            detail=f"{u2.username} abc",
            created_at=created,
        )

    session.add_all(
        [
            disconnect("ack", None, 1, at(D1, "20:00:00")),
            disconnect("timeout", None, 1, at(D1, "20:01:00")),
            disconnect("nak", 503, 1, at(D1, "20:02:00")),
            disconnect("failed", 506, 4, at(D2, "20:03:00")),
            disconnect("nak", 404, 2, at(D2, "20:04:00")),
        ]
    )
    session.flush()
    return Known(
        u1.username,
        u2.username,
        u3.username,
        hour.name,
        day.name,
        north.shortname,
        south.shortname,
        north.nasname,
        south.nasname,
    )


@dataclass
class ReportsDatabase:
    settings: Settings
    engine: Engine
    known: Known

    def session(self) -> Session:
        return Session(self.engine)


@pytest.fixture(scope="module")
def reports_db(stack: StackUnderTest) -> Iterator[ReportsDatabase]:
    name = f"reports_{secrets.token_hex(4)}"
    settings = stack.settings.with_changes(database_url=stack.server.create_database(name))
    engine = db.make_engine(settings.effective_database_url)
    try:
        db.upgrade(settings)
        with Session(engine) as session, session.begin():
            known = insert_known_data(session)
        yield ReportsDatabase(settings, engine, known)
    finally:
        engine.dispose()
        stack.server.drop_database(name)


# --- the views -----------------------------------------------------------------------------------


def revenue(rdb: ReportsDatabase) -> list[tuple[Any, ...]]:
    with rdb.session() as session:
        return [
            (r.day, r.package, r.nas, r.payments, r.amount, r.currency)
            for r in queries.revenue_daily(session, BOTH)
        ]


def expected_revenue(k: Known) -> list[tuple[Any, ...]]:
    return [
        (D1, k.hour, k.north, 1, Decimal("20.00"), "KES"),
        (D1, k.hour, k.south, 1, Decimal("20.00"), "KES"),  # the C2B renewal
        (D1, k.hour, None, 1, Decimal("20.00"), "KES"),  # u3: not online within 24 h
        (D2, k.day, k.south, 1, Decimal("50.00"), "KES"),  # paid after midnight
    ]


def funnel(rdb: ReportsDatabase) -> list[tuple[Any, ...]]:
    with rdb.session() as session:
        return [
            (
                r.day,
                r.method,
                r.initiated,
                r.paid,
                r.online,
                r.failed,
                r.expired,
                r.pending,
                r.unmatched,
                r.paid_rate,
                r.online_rate,
                r.amount_paid,
            )
            for r in queries.payment_funnel(session, BOTH)
        ]


EXPECTED_FUNNEL = [
    (D1, "c2b", 2, 1, 1, 0, 0, 0, 1, Decimal("0.5000"), Decimal("1.0000"), Decimal("20.00")),
    (D1, "stk", 5, 3, 2, 1, 1, 0, 0, Decimal("0.6000"), Decimal("0.6667"), Decimal("90.00")),
    (D2, "stk", 1, 0, 0, 0, 0, 1, 0, Decimal("0.0000"), None, Decimal(0)),
]


def usage(rdb: ReportsDatabase) -> list[tuple[Any, ...]]:
    with rdb.session() as session:
        return [
            (r.username, r.days_online, r.sessions, r.session_seconds, r.input_bytes, r.total_bytes)
            for r in queries.usage_per_user(session, BOTH)
        ]


def expected_usage(k: Known) -> list[tuple[Any, ...]]:
    return [
        (k.u1, 1, 2, 3600, 4000, 16000),
        (k.u2, 1, 2, 3900, 2400, 11000),  # u3's only session is the day after
    ]


def test_revenue_per_day_package_and_nas(reports_db: ReportsDatabase) -> None:
    assert revenue(reports_db) == expected_revenue(reports_db.known)


def test_the_funnel_counts_each_payment_on_the_day_it_began(reports_db: ReportsDatabase) -> None:
    assert funnel(reports_db) == EXPECTED_FUNNEL


def test_usage_per_user_counts_sessions_on_the_day_they_started(
    reports_db: ReportsDatabase,
) -> None:
    assert usage(reports_db) == expected_usage(reports_db.known)
    with reports_db.session() as session:
        top = queries.usage_per_user(session, BOTH, limit=1)
    assert [row.username for row in top] == [reports_db.known.u1]


def test_active_sessions_are_the_open_rows(reports_db: ReportsDatabase) -> None:
    k = reports_db.known
    with reports_db.session() as session:
        rows = queries.active_sessions(session)
        assert queries.active_sessions(session, Days(D1, D1)) == []
        assert len(queries.active_sessions(session, Days(D2, D2))) == 1
    assert len(rows) == 1
    row = rows[0]
    assert (row.username, row.package, row.nas, row.nas_ip) == (k.u2, k.day, k.north, k.north_ip)
    assert (row.input_bytes, row.output_bytes, row.total_bytes) == (400, 600, 1000)
    assert row.started_at == at(D2, "08:00:00")
    assert row.ip == "10.5.50.7"
    assert row.mac == "AA:BB:CC:00:00:02"
    assert row.duration_seconds is not None
    assert row.duration_seconds > 20 * 365 * 86400


def test_sms_failures_and_failed_disconnects(reports_db: ReportsDatabase) -> None:
    k = reports_db.known
    with reports_db.session() as session:
        sms = queries.sms_failures(session, BOTH)
        assert queries.sms_failures(session, Days(D2, D2))[0].state == "retrying"
        disconnects = queries.failed_disconnects(session, BOTH)
    assert [(m.day, m.state, m.username) for m in sms] == [
        (D2, "retrying", k.u1),
        (D1, "outcome_unknown", k.u1),
        (D1, "failed", k.u1),
    ]
    assert [
        (d.outcome, d.result, d.error_cause, d.error_cause_name, d.nas) for d in disconnects
    ] == [
        ("retried", "nak", 404, "Invalid Request", k.north),
        ("gave_up", "failed", 506, "Resources Unavailable", k.north),
        ("session_gone", "nak", 503, "Session Context Not Found", k.north),
        ("retried", "timeout", None, None, k.north),
    ]
    assert {d.username for d in disconnects} == {k.u2}


def test_the_rollups_give_the_same_numbers_as_live(reports_db: ReportsDatabase) -> None:
    """Before the first refresh every day is live; after it the closed days come from the
    rollups, with the same answers."""
    k = reports_db.known
    with reports_db.session() as session, session.begin():
        closed = queries.refresh_rollups(session)
    assert set(closed) == ROLLUPS
    assert all(moment is not None and moment.date() > D2 for moment in closed.values())
    with reports_db.session() as session:
        held = session.scalar(
            text("SELECT count(*) FROM report_revenue_closed WHERE day <= :d2"), {"d2": D2}
        )
    assert held == 4
    assert revenue(reports_db) == expected_revenue(k)
    assert funnel(reports_db) == EXPECTED_FUNNEL
    assert usage(reports_db) == expected_usage(k)


def test_the_dashboard_data(reports_db: ReportsDatabase) -> None:
    with reports_db.session() as session:
        data = queries.dashboard(session, BOTH)
    k = reports_db.known
    assert data["days"] == [D1.isoformat(), D2.isoformat()]
    assert data["currency"] == "KES"
    assert data["revenue"]["packages"] == [
        {"package": k.hour, "amounts": ["60.00", "0"]},
        {"package": k.day, "amounts": ["0", "50.00"]},
    ]
    assert data["revenue"]["total"] == "110.00"
    assert data["active_sessions"] == {"total": 1, "by_nas": [{"nas": k.north, "sessions": 1}]}
    assert data["stk"]["initiated"] == [5, 1]
    assert data["stk"]["success_rate"] == [0.6, 0.0]
    assert data["stk"]["online_rate"] == [0.6667, None]
    assert data["stk"]["overall_success_rate"] == 0.5


# --- hotspot report ------------------------------------------------------------------------------


def report(rdb: ReportsDatabase, *args: str) -> str:
    env = {
        "HOTSPOT_DATABASE_URL": rdb.settings.effective_database_url,
        "HOTSPOT_STATE_DIR": str(rdb.settings.state_dir),
    }
    result = CliRunner().invoke(report_command, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


RANGE = ("--from", D1.isoformat(), "--to", D2.isoformat())


def test_report_revenue_as_a_table_csv_and_json(reports_db: ReportsDatabase) -> None:
    k = reports_db.known
    table = report(reports_db, "revenue", *RANGE).splitlines()
    assert table[0].split() == [
        "day", "package_id", "package", "nas_ip", "nas", "payments", "amount", "currency",
    ]  # fmt: skip
    assert table[1].startswith("----------")
    assert len(table) == 2 + 4
    assert k.north in table[2]
    assert "20.00" in table[2]

    rows = list(
        csv.DictReader(io.StringIO(report(reports_db, "revenue", *RANGE, "--format", "csv")))
    )
    assert [(r["day"], r["package"], r["nas"], r["amount"]) for r in rows] == [
        ("2001-02-03", k.hour, k.north, "20.00"),
        ("2001-02-03", k.hour, k.south, "20.00"),
        ("2001-02-03", k.hour, "", "20.00"),
        ("2001-02-04", "'" + k.day, k.south, "50.00"),  # text, not a formula, in a spreadsheet
    ]

    data = json.loads(report(reports_db, "revenue", *RANGE, "--format", "json"))
    assert data[3] == {
        "day": "2001-02-04",
        "package_id": data[3]["package_id"],
        "package": k.day,
        "nas_ip": k.south_ip,
        "nas": k.south,
        "payments": 1,
        "amount": "50.00",
        "currency": "KES",
    }


def test_report_payments_usage_sessions_sms_and_disconnects(reports_db: ReportsDatabase) -> None:
    k = reports_db.known
    funnel_rows = json.loads(report(reports_db, "payments", *RANGE, "--format", "json"))
    assert [(r["day"], r["method"], r["initiated"], r["paid_rate"]) for r in funnel_rows] == [
        ("2001-02-03", "c2b", 2, "0.5000"),
        ("2001-02-03", "stk", 5, "0.6000"),
        ("2001-02-04", "stk", 1, "0.0000"),
    ]
    usage_csv = report(reports_db, "usage", *RANGE, "--format", "csv", "--limit", "1")
    assert next(csv.DictReader(io.StringIO(usage_csv)))["total_bytes"] == "16000"
    usage_table = report(reports_db, "usage", *RANGE)
    assert "15.6 KiB" in usage_table  # 16000 bytes, for reading
    assert "1:00:00" in usage_table  # session seconds as h:mm:ss

    sessions = json.loads(report(reports_db, "sessions", "--format", "json"))
    assert [(s["username"], s["nas"], s["total_bytes"]) for s in sessions] == [
        (k.u2, k.north, 1000)
    ]
    assert report(reports_db, "sessions", "--from", "2001-02-03", "--to", "2001-02-03") == (
        "no open sessions\n"
    )

    sms = list(csv.DictReader(io.StringIO(report(reports_db, "sms", *RANGE, "--format", "csv"))))
    assert [m["state"] for m in sms] == ["retrying", "outcome_unknown", "failed"]
    assert sms[2]["error"] == "'" + FORGED_REASON
    assert sms[2]["phone"].startswith("+2547")  # a signed number cannot be a formula: kept
    disconnects = report(reports_db, "disconnects", *RANGE)
    assert "gave_up" in disconnects
    assert "Resources Unavailable" in disconnects


def test_report_defaults_to_the_last_30_days_and_checks_its_range(
    reports_db: ReportsDatabase,
) -> None:
    assert report(reports_db, "revenue").startswith("no payments from ")
    env = {"HOTSPOT_DATABASE_URL": reports_db.settings.effective_database_url}
    bad = CliRunner().invoke(
        report_command, ["revenue", "--from", "2001-02-05", "--to", "2001-02-04"], env=env
    )
    assert bad.exit_code == 2
    assert "--from 2001-02-05 is after --to 2001-02-04" in bad.output
    wrong = CliRunner().invoke(report_command, ["revenue", "--format", "xml"], env=env)
    assert wrong.exit_code == 2


def test_report_refresh(reports_db: ReportsDatabase) -> None:
    out = report(reports_db, "refresh")
    assert out.startswith("rollups refreshed in ")
    assert "they hold every row before " in out


# --- migration 0002 ------------------------------------------------------------------------------


def schema(settings: Settings) -> tuple[set[str], set[str], set[str]]:
    """(views, materialized views, our indexes) in the database."""
    engine = db.make_engine(settings.effective_database_url)
    try:
        inspector = inspect(engine)
        views = set(inspector.get_view_names())
        materialized = set(inspector.get_materialized_view_names())
        indexes = {
            str(index["name"])
            for table in (
                "radacct",
                "payments",
                "sms_messages",
                "session_disconnections",
                "radius_sessions",
            )
            for index in inspector.get_indexes(table)
        }
        return views, materialized, indexes & (INDEXES_0002 | INDEXES)
    finally:
        engine.dispose()


def test_migration_0002_goes_up_and_down(empty_database: Settings) -> None:
    db.upgrade(empty_database, "0001")
    assert schema(empty_database) == (set(), set(), set())
    db.upgrade(empty_database, "0002")
    assert schema(empty_database) == (VIEWS, ROLLUPS, INDEXES_0002)
    engine = db.make_engine(empty_database.effective_database_url)
    try:
        with engine.connect() as conn:  # an empty database: every view answers, with nothing
            for view in VIEWS | ROLLUPS:
                assert conn.execute(text(f"SELECT count(*) FROM {view}")).scalar() == 0
    finally:
        engine.dispose()
    db.downgrade(empty_database, "0001")
    assert schema(empty_database) == (set(), set(), set())
    assert db.current_revision(empty_database) == "0001"
    db.upgrade(empty_database)
    assert schema(empty_database) == (VIEWS | OPERATOR_VIEWS, ROLLUPS, INDEXES)


# --- migrations 0004 and 0021 --------------------------------------------------------------------


@pytest.mark.parametrize("revision", ["0020", "0003"])
def test_usage_counts_a_session_on_its_utc_day_from_the_rollup_or_live(
    empty_database: Settings, revision: str
) -> None:
    """Closed days come from the rollup, the days since its closed_before from radacct (0004: a
    range on acctstarttime from that day's midnight UTC; before it, the day of each row through
    0002's index, which 0004's downgrade brings back): a session at 23:59:59 UTC counts on that
    day and one at 00:00:00 on the next, once each, whatever the session's TimeZone."""
    db.upgrade(empty_database)
    db.downgrade(empty_database, revision)
    assert schema(empty_database) == (
        VIEWS | OPERATOR_VIEWS if revision == "0020" else VIEWS,
        ROLLUPS,
        INDEXES_0004 if revision == "0020" else INDEXES_0002,
    )
    engine = db.make_engine(empty_database.effective_database_url)
    try:
        # One transaction: now(), hence the closed_before of every refresh, stays the same.
        with Session(engine) as session, session.begin():
            session.execute(text("SET LOCAL TimeZone = 'Africa/Nairobi'"))  # UTC+3
            first_live = session.scalar(
                text("SELECT ((now() AT TIME ZONE 'UTC') - interval '1 day 15 minutes')::date")
            )
            assert isinstance(first_live, dt.date)
            last_closed = first_live - dt.timedelta(days=1)

            def start(day: dt.date, clock: str, username: str, input_bytes: int) -> None:
                session.execute(
                    text(
                        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, "
                        "nasipaddress, acctstarttime, acctinputoctets) "
                        "VALUES (:id, :id, :username, '192.0.2.11', :start, :bytes)"
                    ),
                    {
                        "id": secrets.token_hex(8),
                        "username": username,
                        "start": at(day, clock),
                        "bytes": input_bytes,
                    },
                )

            def usage_rows() -> list[tuple[Any, ...]]:
                return [
                    tuple(row)
                    for row in session.execute(
                        text(
                            "SELECT day, username, sessions, input_bytes "
                            "FROM report_usage_per_user ORDER BY day, username"
                        )
                    )
                ]

            start(last_closed, "23:59:59", "u1", 1)
            start(first_live, "00:00:00", "u1", 10)
            start(last_closed, "20:59:59", "u2", 2)  # 23:59:59 in Nairobi
            start(last_closed, "21:00:00", "u2", 20)  # the next day's 00:00 in Nairobi
            expected = [
                (last_closed, "u1", 1, 1),
                (last_closed, "u2", 2, 22),
                (first_live, "u1", 1, 10),
            ]
            assert usage_rows() == expected  # never refreshed: every day live

            def refresh() -> dict[str, dt.date | None]:
                """As the rollups' owner (0007's function is not there before it)."""
                for name in queries.ROLLUPS:
                    session.execute(text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}"))
                return {
                    name: session.scalar(text(f"SELECT closed_before FROM {name} LIMIT 1"))
                    for name in queries.ROLLUPS
                }

            closed = refresh()
            assert closed["report_usage_closed"] == first_live
            assert usage_rows() == expected  # the last closed day from the rollup, once

            # Rows written after the refresh: the closed day shows them after the next one.
            start(last_closed, "23:59:59", "u1", 100)
            start(first_live, "00:00:00", "u1", 1000)
            assert usage_rows() == [
                (last_closed, "u1", 1, 1),
                (last_closed, "u2", 2, 22),
                (first_live, "u1", 2, 1010),
            ]
            refresh()
            assert usage_rows() == [
                (last_closed, "u1", 2, 101),
                (last_closed, "u2", 2, 22),
                (first_live, "u1", 2, 1010),
            ]
    finally:
        engine.dispose()


def test_a_days_row_is_the_rollups_hours_plus_the_rows_since_its_refresh(
    empty_database: Settings,
) -> None:
    """0021: a refresh rolls up every row before its hour (UTC); the views add the rows since,
    live, into the same day's row. A row written after the refresh for an hour before it shows
    at the next refresh."""
    db.upgrade(empty_database)
    engine = db.make_engine(empty_database.effective_database_url)
    try:
        with Session(engine) as session, session.begin():  # one now() for every refresh
            hour = session.scalar(text("SELECT date_trunc('hour', now(), 'UTC')"))
            assert isinstance(hour, dt.datetime)

            def start(moment: dt.datetime, input_bytes: int, username: str | None = "u1") -> None:
                session.execute(
                    text(
                        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, "
                        "nasipaddress, acctstarttime, acctinputoctets) "
                        "VALUES (:id, :id, :username, '192.0.2.11', :start, :bytes)"
                    ),
                    {
                        "id": secrets.token_hex(8),
                        "username": username,
                        "start": moment,
                        "bytes": input_bytes,
                    },
                )

            def usage_rows() -> list[tuple[Any, ...]]:
                rows = session.execute(
                    text(
                        "SELECT day, sessions, input_bytes FROM report_usage_per_user "
                        "WHERE username = 'u1' ORDER BY day"
                    )
                )
                return [tuple(row) for row in rows]

            before, since = hour - dt.timedelta(minutes=1), hour
            start(before, 1)
            start(since, 10)
            start(before, 2, "u2")  # only in the rollup
            start(hour - dt.timedelta(days=2), 7, "u2")  # a day wholly in the rollup
            start(before, 4, None)  # nobody's usage
            closed = queries.refresh_rollups(session)
            assert closed["report_usage_closed"] == hour  # (no payments: the others hold none)
            held = session.scalar(text("SELECT sum(input_bytes) FROM report_usage_closed"))
            assert held == 1 + 2 + 7  # the row of the hour started is live
            start(since, 3, "u3")  # only live
            summed = session.execute(
                text(
                    "SELECT username, count(*), sum(sessions), sum(input_bytes), "
                    "sum(total_bytes) FROM report_usage_per_user "
                    "GROUP BY username ORDER BY username"
                )
            ).all()
            assert [(name, b) for name, _, _, b, _ in summed] == [
                ("u1", 11),
                ("u2", 9),
                ("u3", 3),
            ]
            # The totals per user read the rollup's whole days from it: the same sums.
            totals = session.execute(
                text(
                    "SELECT username, days_online, sessions, input_bytes, total_bytes "
                    "FROM report_usage_totals(:first, :last) ORDER BY username"
                ),
                {
                    "first": hour.date() - dt.timedelta(days=3),
                    "last": hour.date() + dt.timedelta(days=1),
                },
            ).all()
            assert [tuple(row) for row in totals] == [tuple(row) for row in summed]

            def day(moment: dt.datetime) -> dt.date:
                return moment.astimezone(dt.UTC).date()

            expected = [(day(before), 1, 1)] if day(before) != day(since) else []
            today = [(day(since), 1, 10)] if expected else [(day(since), 2, 11)]
            assert usage_rows() == expected + today

            start(since, 100)  # live: counted at once
            start(before, 1000)  # an hour rolled up: counted at the next refresh
            grown = [(d, n + 1, b + 100) for d, n, b in today]
            assert usage_rows() == expected + grown
            queries.refresh_rollups(session)
            assert sum(b for _, _, b in usage_rows()) == 1111
    finally:
        engine.dispose()
