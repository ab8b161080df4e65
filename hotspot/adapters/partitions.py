"""Monthly range partitions of the tables that grow without end, made ahead and dropped when
their retention ends (the table's rows archived first, when an archive folder is set).

A partitioned table has one partition a month, `<table>_pYYYYMM`, holding [1st of the month,
1st of the next) in UTC, and a default partition, `<table>_default`, so that a write never
fails for want of a partition (a month nobody made ahead). `maintain` makes the coming months,
moving any rows the default partition holds for one of them into it first; and for a table with
a retention, detaches each month that ended before it (holding the parent's lock for a moment,
never longer than LOCK_TIMEOUT_MS), copies it to `<archive>/<table>/<partition>.csv.gz`, and
drops it. It also prunes the tables that keep their rows another way (hotspot.adapters.row_pruning).

Only these functions name partitions; `is_partition` tells the schema checks to pass over them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from hotspot.adapters.archive import write_archive
from hotspot.adapters.row_pruning import PRUNED, prune

MONTHS_AHEAD = 3
LOCK_TIMEOUT_MS = 200  # the longest a writer waits behind a detach
DETACH_ATTEMPTS = 5
NAME = re.compile(r"^(?P<table>\w+)_(?:p(?P<year>\d{4})(?P<month>\d{2})|default)$")


@dataclass(frozen=True)
class PartitionedTable:
    name: str
    column: str  # the timestamptz it is partitioned by


PARTITIONED = (  # settings.PARTITIONED_TABLES
    PartitionedTable("radpostauth", "authdate"),
    PartitionedTable("data_usage_logs", "recorded_at"),
    PartitionedTable("payment_events", "created_at"),
)


def is_partition(table_name: str) -> bool:
    match = NAME.match(table_name)
    return match is not None and any(t.name == match["table"] for t in PARTITIONED)


def not_a_partition(name: str | None, kind: str, _: object) -> bool:
    """Alembic's `include_name`: the schema checks compare the models with the parents only."""
    return not (kind == "table" and is_partition(name or ""))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def bounds(month: dt.date) -> tuple[str, str]:
    return f"{month:%Y-%m-%d} 00:00:00+00", f"{add_months(month, 1):%Y-%m-%d} 00:00:00+00"


def months_named(rows: list[tuple[str]], table: str) -> list[dt.date]:
    """The months of the table's month partitions among these relation names, oldest first."""
    months = []
    for (name,) in rows:
        match = NAME.match(name)
        if match and match["table"] == table and match["year"]:
            months.append(dt.date(int(match["year"]), int(match["month"]), 1))
    return sorted(months)


def months_of(conn: psycopg.Connection, table: str) -> list[dt.date]:
    """The months that have a partition now."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table,),
    ).fetchall()
    return months_named(rows, table)


def create_month(conn: psycopg.Connection, table: PartitionedTable, month: dt.date) -> None:
    """The month's partition, with any rows of it the default partition held moved in: made as
    a table of its own and attached, in one transaction (the default partition is locked for
    the moment it is checked; it holds nothing in the usual case)."""
    start, end = bounds(month)
    ids = {
        **identifiers(table, month),
        "default": sql.Identifier(f"{table.name}_default"),
        "column": sql.Identifier(table.column),
    }
    with conn.transaction():
        conn.execute(
            sql.SQL("CREATE TABLE {part} (LIKE {parent} INCLUDING DEFAULTS)").format(**ids)
        )
        conn.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {default} WHERE {column} >= %s AND {column} < %s "
                "RETURNING *) INSERT INTO {part} SELECT * FROM moved"
            ).format(**ids),
            (start, end),
        )
        conn.execute(
            sql.SQL(
                "ALTER TABLE {parent} ATTACH PARTITION {part} FOR VALUES FROM ({start}) TO ({end})"
            ).format(**ids, start=sql.Literal(start), end=sql.Literal(end))
        )


def first_kept(today: dt.date, keep_months: int) -> dt.date:
    """The oldest month a retention of `keep_months` keeps: with 6, on any day of July, February
    (what is older goes, partitions and pruned rows alike)."""
    return add_months(month_start(today), -keep_months)


def expired(months: list[dt.date], today: dt.date, keep_months: int) -> Iterator[dt.date]:
    """Months that ended before the retention."""
    return (month for month in months if month < first_kept(today, keep_months))


def detach(conn: psycopg.Connection, ids: dict[str, sql.Identifier]) -> bool:
    """Takes the parent's lock for a moment only: PostgreSQL refuses CONCURRENTLY beside a
    default partition, so the wait is bounded instead (LOCK_TIMEOUT); a writer queues behind
    it for at most that long. Tried again a few times when others hold the table; False when
    they held it throughout (autovacuum, which yields to a waiter only after deadlock_timeout,
    or a long report): the month waits for the next run."""
    statement = sql.SQL("ALTER TABLE {parent} DETACH PARTITION {part}").format(**ids)
    for attempt in range(DETACH_ATTEMPTS):
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
                conn.execute(statement)
            return True
        except psycopg.errors.LockNotAvailable:
            if attempt < DETACH_ATTEMPTS - 1:
                time.sleep(0.5 * (attempt + 1))
    return False


def drop_month(
    conn: psycopg.Connection, table: PartitionedTable, month: dt.date, archive: Path | None
) -> bool:
    """Detached (a moment's lock), then archived and dropped as a table nobody writes; False
    when it could not be detached now."""
    if not detach(conn, identifiers(table, month)):
        return False
    archive_and_drop(conn, table, month, archive)
    return True


def identifiers(table: PartitionedTable, month: dt.date) -> dict[str, sql.Identifier]:
    return {
        "parent": sql.Identifier(table.name),
        "part": sql.Identifier(partition_name(table.name, month)),
    }


def archive_and_drop(
    conn: psycopg.Connection, table: PartitionedTable, month: dt.date, archive: Path | None
) -> None:
    """A detached month: its rows copied to the archive (written whole, then renamed), then
    dropped. A run that stopped between detaching and dropping is finished by the next."""
    ids = identifiers(table, month)
    if archive is not None:
        copy_out = sql.SQL("COPY {part} TO STDOUT WITH (FORMAT csv, HEADER)").format(**ids)
        write_archive(conn, copy_out, archive / table.name / partition_name(table.name, month))
    conn.execute(sql.SQL("DROP TABLE {part}").format(**ids))


def detached_months(conn: psycopg.Connection, table: str) -> list[dt.date]:
    """Months of the table detached and not yet dropped (a run that stopped half-way)."""
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = 'public'::regnamespace AND relname LIKE %s",
        (f"{table}\\_p%",),
    ).fetchall()
    return months_named(rows, table)


@dataclass(frozen=True)
class Maintained:
    created: list[str]
    dropped: list[str]
    pruned: dict[str, int]
    busy: list[str] = field(default_factory=list)  # expired, held by others: the next run's

    def __str__(self) -> str:
        pruned = ", ".join(f"{table} {count}" for table, count in self.pruned.items())
        busy = f"; busy, left for the next run: {self.busy}" if self.busy else ""
        return (
            f"partitions created: {self.created or 'none'}; dropped: {self.dropped or 'none'}; "
            f"rows pruned: {pruned or 'none'}{busy}"
        )


def maintain(
    database_url: str,
    today: dt.date,
    retention: dict[str, int],
    archive: Path | None,
) -> Maintained:
    """Every partitioned table's coming months made, its expired ones (retention in months; 0
    keeps all) archived and dropped; the pruned tables' expired rows archived and deleted. Safe
    to run again: what exists is left as it is."""
    done = Maintained([], [], {})
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in PARTITIONED:
            keep_partitions(
                conn, table, today, keep=retention.get(table.name, 0), archive=archive, done=done
            )
        for pruned in PRUNED:
            keep = retention.get(pruned.name, 0)
            if keep > 0:
                cutoff = dt.datetime.combine(first_kept(today, keep), dt.time(), dt.UTC)
                done.pruned[pruned.name] = prune(conn, pruned, cutoff, archive)
    return done


def keep_partitions(
    conn: psycopg.Connection,
    table: PartitionedTable,
    today: dt.date,
    *,
    keep: int,
    archive: Path | None,
    done: Maintained,
) -> None:
    """The table's coming months made; with a retention (`keep` months), the ones before it
    dropped, a month a stopped run left detached first."""
    have = set(months_of(conn, table.name))
    for ahead in range(MONTHS_AHEAD + 1):
        month = add_months(month_start(today), ahead)
        if month not in have:
            create_month(conn, table, month)
            done.created.append(partition_name(table.name, month))
    if keep > 0:
        for month in detached_months(conn, table.name):
            archive_and_drop(conn, table, month, archive)
            done.dropped.append(partition_name(table.name, month))
        for month in expired(months_of(conn, table.name), today, keep):
            name = partition_name(table.name, month)
            (done.dropped if drop_month(conn, table, month, archive) else done.busy).append(name)
