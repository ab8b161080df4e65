"""Monthly partitions (as radpostauth has them): made ahead, a stray row in the default
partition moved into its month, months past their retention archived then dropped; FreeRADIUS's
insert unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import psycopg

from hotspot.adapters import db
from hotspot.adapters.partitions import PARTITIONED, add_months, maintain, month_start
from hotspot.adapters.row_pruning import PRUNED
from hotspot.cli.database import libpq_url
from hotspot.core.settings import PARTITIONED_TABLES, PRUNED_TABLES, Settings, check_retention
from tests.support.cli import run_hotspot
from tests.support.stack import StackUnderTest

THIS_MONTH = month_start(dt.datetime.now(dt.UTC).date())
# FreeRADIUS's own post-auth query (queries.conf), its %-expansions filled in.
POST_AUTH = (
    "INSERT INTO radpostauth (username, pass, reply, authdate) "
    "VALUES (%s, 'secret', 'Access-Accept', %s)"
)


def connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(libpq_url(settings.effective_database_url), autocommit=True)


def where(conn: psycopg.Connection, username: str) -> list[str]:
    rows = conn.execute(
        "SELECT tableoid::regclass::text FROM radpostauth WHERE username = %s", (username,)
    ).fetchall()
    return [name for (name,) in rows]


def test_the_migration_made_this_month_and_three_ahead_and_maintaining_adds_nothing(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database)
    url = libpq_url(empty_database.effective_database_url)
    done = maintain(url, THIS_MONTH, {}, None)
    assert (done.created, done.dropped) == ([], [])
    with connect(empty_database) as conn:
        conn.execute(POST_AUTH, ("alice", dt.datetime.now(dt.UTC)))
        assert where(conn, "alice") == [f"radpostauth_p{THIS_MONTH:%Y%m}"]


def test_a_row_for_a_month_nobody_made_waits_in_the_default_then_moves_into_its_month(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database)
    later = add_months(THIS_MONTH, 6)
    with connect(empty_database) as conn:
        conn.execute(POST_AUTH, ("bob", dt.datetime.combine(later, dt.time(12), dt.UTC)))
        assert where(conn, "bob") == ["radpostauth_default"]
        done = maintain(libpq_url(empty_database.effective_database_url), later, {}, None)
        assert f"radpostauth_p{later:%Y%m}" in done.created
        assert where(conn, "bob") == [f"radpostauth_p{later:%Y%m}"]


def a_login_months_ago(settings: Settings, months: int, username: str) -> tuple[str, dt.date]:
    """A migrated database whose maintenance ran `months` ago, and a login of that month."""
    db.upgrade(settings)
    url = libpq_url(settings.effective_database_url)
    old = add_months(THIS_MONTH, -months)
    maintain(url, old, {}, None)  # as if it ran then: that month and three after
    with connect(settings) as conn:
        conn.execute(POST_AUTH, (username, dt.datetime.combine(old, dt.time(9), dt.UTC)))
    return url, old


def test_months_past_their_retention_are_archived_then_dropped(
    empty_database: Settings, tmp_path: Path
) -> None:
    url, old = a_login_months_ago(empty_database, 8, "carol")
    with connect(empty_database) as conn:
        conn.execute(POST_AUTH, ("dave", dt.datetime.now(dt.UTC)))

    done = maintain(url, THIS_MONTH, {"radpostauth": 6}, tmp_path)
    again = maintain(url, THIS_MONTH, {"radpostauth": 6}, tmp_path)

    expected = [f"radpostauth_p{add_months(old, n):%Y%m}" for n in range(2)]  # 8 and 7 ago
    assert done.dropped == expected
    assert (again.created, again.dropped) == ([], [])
    with connect(empty_database) as conn:
        assert where(conn, "carol") == []
        assert where(conn, "dave") == [f"radpostauth_p{THIS_MONTH:%Y%m}"]
    archived = tmp_path / "radpostauth" / f"{expected[0]}.csv.gz"
    with gzip.open(archived, "rt") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["username"], row["reply"]) for row in rows] == [("carol", "Access-Accept")]
    assert not list((tmp_path / "radpostauth").glob("*.partial"))
    assert archived.stat().st_mode & 0o777 == 0o600


def test_the_command_maintains_the_installations_database(stack: StackUnderTest) -> None:
    done = run_hotspot(stack.env(), "db", "maintain")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("partitions created: ")


def test_the_settings_and_the_maintenance_name_the_same_tables() -> None:
    assert {table.name for table in PARTITIONED} == set(PARTITIONED_TABLES)
    assert {table.name for table in PRUNED} == set(PRUNED_TABLES)
    assert check_retention("radpostauth:0,sms_messages:3") == {"radpostauth": 0, "sms_messages": 3}


def test_a_month_left_detached_by_a_run_that_stopped_is_finished_by_the_next(
    empty_database: Settings, tmp_path: Path
) -> None:
    url, old = a_login_months_ago(empty_database, 12, "erin")
    name = f"radpostauth_p{old:%Y%m}"
    with connect(empty_database) as conn:
        conn.execute(f"ALTER TABLE radpostauth DETACH PARTITION {name}")  # then it stopped

    done = maintain(url, THIS_MONTH, {"radpostauth": 6}, tmp_path)

    assert done.dropped[0] == name
    with connect(empty_database) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,)
    with gzip.open(tmp_path / "radpostauth" / f"{name}.csv.gz", "rt") as handle:
        assert [row["username"] for row in csv.DictReader(handle)] == ["erin"]


def test_a_month_others_hold_throughout_is_left_for_the_next_run(
    empty_database: Settings, tmp_path: Path
) -> None:
    """As autovacuum holds a month it is vacuuming (and yields to a waiter only after
    deadlock_timeout, longer than a detach waits): that month waits, the run goes on."""
    url, old = a_login_months_ago(empty_database, 8, "fay")
    name = f"radpostauth_p{old:%Y%m}"
    with connect(empty_database) as holder, holder.transaction():
        holder.execute(f"LOCK TABLE {name} IN SHARE UPDATE EXCLUSIVE MODE")
        done = maintain(url, THIS_MONTH, {"radpostauth": 6, "sms_messages": 1}, tmp_path)

    again = maintain(url, THIS_MONTH, {"radpostauth": 6}, tmp_path)

    assert done.busy == [name]
    assert done.dropped == [f"radpostauth_p{add_months(old, 1):%Y%m}"]  # the month after
    assert "sms_messages" in done.pruned
    assert f"busy, left for the next run: ['{name}']" in str(done)
    assert (again.dropped, again.busy) == ([name], [])


def test_the_migration_keeps_every_row_in_its_month_both_ways(empty_database: Settings) -> None:
    db.upgrade(empty_database, "0017")
    long_ago = add_months(THIS_MONTH, -14)
    with connect(empty_database) as conn:
        conn.execute(POST_AUTH, ("frank", dt.datetime.combine(long_ago, dt.time(8), dt.UTC)))
        conn.execute(POST_AUTH, ("grace", dt.datetime.now(dt.UTC)))
    db.upgrade(empty_database)
    with connect(empty_database) as conn:
        assert where(conn, "frank") == [f"radpostauth_p{long_ago:%Y%m}"]
        assert where(conn, "grace") == [f"radpostauth_p{THIS_MONTH:%Y%m}"]
        conn.execute(POST_AUTH, ("heidi", dt.datetime.now(dt.UTC)))  # ids go on
    db.downgrade(empty_database, "0017")
    with connect(empty_database) as conn:
        names = conn.execute("SELECT username FROM radpostauth ORDER BY id").fetchall()
    assert names == [("frank",), ("grace",), ("heidi",)]
