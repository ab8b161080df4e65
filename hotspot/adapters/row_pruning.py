"""Retention for tables that cannot be partitioned by time (a unique key without the time):
their rows past the retention go in batches, each written to the archive before it is
deleted, in one transaction. What a stopped run left is archived again under the same name
by the next run (the same rows make the same batch), so the archive never misses a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from hotspot.adapters.archive import write_archive

BATCH_ROWS = 10_000  # rows a transaction deletes: its locks and WAL stay small


@dataclass(frozen=True)
class PrunedTable:
    name: str
    key: str  # the table's ever-growing bigint key
    column: str  # the timestamptz the retention counts from
    done: str  # SQL: rows that may go (a row still in use stays, however old)


# settings.PRUNED_TABLES, in the order they are pruned.
PRUNED = (
    # FreeRADIUS's queries find a session by its unique id alone (ON CONFLICT (AcctUniqueId)),
    # which a table partitioned by time could not keep unique. Its sessions that started before
    # the retention (found through radacct_start_user_idx), closed and synced, go.
    PrunedTable(
        "radacct",
        "radacctid",
        "acctstarttime",
        "acctstoptime IS NOT NULL "
        "AND sync_seq <= (SELECT position FROM sync_watermarks WHERE name = 'radacct')",
    ),
    # Our copy of radacct's sessions, and the Disconnect/CoA-Requests sent for them: a session
    # goes once closed and no attempt still names it (the attempts' retention may be longer).
    PrunedTable("session_disconnections", "id", "created_at", "true"),
    PrunedTable(
        "radius_sessions",
        "id",
        "created_at",
        "status = 'closed' AND NOT EXISTS "
        "(SELECT 1 FROM session_disconnections d WHERE d.session_id = radius_sessions.id)",
    ),
    # A message still `claimed` (its outcome unknown) waits for an operator.
    PrunedTable("sms_messages", "id", "created_at", "status IN ('sent', 'delivered', 'failed')"),
)


def prune(
    conn: psycopg.Connection, table: PrunedTable, cutoff: dt.datetime, archive: Path | None
) -> int:
    """Deletes the table's finished rows from before `cutoff`, archived first when `archive`
    is set (`<archive>/<table>/<table>-<first id>-<last id>.csv.gz`). Returns how many."""
    ids = {
        "table": sql.Identifier(table.name),
        "key": sql.Identifier(table.key),
        "column": sql.Identifier(table.column),
    }
    due = sql.SQL("{column} < {cutoff} AND ({done})").format(
        **ids,
        cutoff=sql.Literal(cutoff),
        done=sql.SQL(table.done),
    )
    deleted = 0
    while True:
        with conn.transaction():
            first, last, count = conn.execute(
                sql.SQL(
                    "SELECT min({key}), max({key}), count(*) FROM (SELECT {key} FROM {table} "
                    "WHERE {due} ORDER BY {key} LIMIT {limit} FOR UPDATE) batch"
                ).format(**ids, due=due, limit=sql.Literal(BATCH_ROWS))
            ).fetchone() or (None, None, 0)
            if not count:
                return deleted
            delete = sql.SQL(
                "DELETE FROM {table} WHERE {key} BETWEEN {first} AND {last} AND {due} RETURNING *"
            ).format(**ids, first=sql.Literal(first), last=sql.Literal(last), due=due)
            if archive is None:
                conn.execute(delete)
            else:
                stem = archive / table.name / f"{table.name}-{first}-{last}"
                write_archive(
                    conn,
                    sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(delete),
                    stem,
                )
            deleted += count
