"""radacct: no usage-report index on the counters; the usage view reads live days by start time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14 09:00:00.000000

0002's `radacct_start_day_idx` on `((acctstarttime AT TIME ZONE 'UTC')::date), username)
INCLUDE (acctstarttime, acctsessiontime, acctinputoctets, acctoutputoctets)` made usage per day an
index-only scan, but it holds the counters every Interim-Update writes: no Interim-Update could be
a HOT update, and each one added an entry to that index and to every other index of radacct.
FreeRADIUS took Interim-Updates 18-19 % slower than on the stock schema, and Starts 6-9 % slower
(bench/accounting); the budget is 10 %. This drops it.

What read it was the live part of `report_usage_per_user` (the days since the rollup
`report_usage_closed` was refreshed). Its rows are now chosen by a plain range on acctstarttime,
from midnight UTC of the rollup's `closed_before` (or from -infinity when the rollup holds
nothing), which the stock index `radacct_start_user_idx (acctstarttime, username)` serves (see
LIVE_ROWS for how the planner is told): a day or two of rows, read from the heap. The top 20 users
of 30 days of a year's data take 0.16-0.21 s, were 0.11-0.13 s (bench/reports). The view's
columns and answers are the same: a session counts on the UTC day it started, and
`(t AT TIME ZONE 'UTC')::date >= d` is `t >= d::timestamp AT TIME ZONE 'UTC'`, whatever the
session's TimeZone. What changes is the cost of a stale rollup: the live part reads every row
since its `closed_before`, not only those of the days asked for; with a never-refreshed rollup,
all of radacct in index order (5.5 s for a year of data, was 0.5-0.8 s). `hotspot report
refresh`, hourly, keeps it to a day or two.

DROP INDEX and CREATE OR REPLACE VIEW rewrite nothing, but DROP INDEX holds a lock that stops
FreeRADIUS's accounting writes, and it waits behind any open transaction that reads radacct (a
long report): rather than stall accounting behind one, the upgrade gives up after a few seconds
(lock_timeout) and can simply be run again.

The downgrade restores 0002's view text and rebuilds the index with CREATE INDEX CONCURRENTLY,
outside the migration's transaction, as 0002 built it (writes go on meanwhile; a build that fails
leaves an INVALID index of that name: drop it and run the downgrade again).
"""

# ruff: noqa: S608 - the SQL here is assembled only from this file's constants

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "5s"

USAGE_INDEX = "radacct_start_day_idx"
USAGE_INDEX_COLUMNS = ["((acctstarttime AT TIME ZONE 'UTC')::date)", "username"]
USAGE_INDEX_INCLUDE = ["acctstarttime", "acctsessiontime", "acctinputoctets", "acctoutputoctets"]

# The first day report_usage_closed does not hold (every day when it holds none).
SINCE_CLOSED = (
    "COALESCE((SELECT closed_before FROM report_usage_closed LIMIT 1), '-infinity'::date)"
)

# Which radacct rows the live part of report_usage_per_user reads: from 0004, a range on
# acctstarttime (radacct_start_user_idx); in 0002, their UTC day (radacct_start_day_idx).
#
# The upper end changes nothing (every acctstarttime is <= infinity) but makes the condition a
# range for the planner. The lower end is the rollup's closed_before, unknown when the query is
# planned: alone, `acctstarttime >= ?` is estimated to keep a third of radacct, and PostgreSQL scans
# all of it (1.2 s, not 0.2, for a year of data); a range with an unknown end is estimated at
# 0.5 %, and it reads the index from that day on.
LIVE_ROWS = (
    f"r.acctstarttime >= (({SINCE_CLOSED})::timestamp AT TIME ZONE 'UTC') "
    "AND r.acctstarttime <= 'infinity'::timestamptz"
)
LIVE_ROWS_0002 = f"(r.acctstarttime AT TIME ZONE 'UTC')::date >= {SINCE_CLOSED}"


def usage_per_user(live_rows: str) -> str:
    """report_usage_per_user: the rollup's closed days and the days since, computed live."""
    return f"""
        SELECT t.day,
               t.username,
               u.id AS user_id,
               u.phone,
               pk.name AS package,
               t.sessions,
               t.session_seconds,
               t.input_bytes,
               t.output_bytes,
               t.input_bytes + t.output_bytes AS total_bytes
          FROM (
                SELECT day, username, sessions, session_seconds, input_bytes, output_bytes
                  FROM report_usage_closed
                 UNION ALL
                SELECT (r.acctstarttime AT TIME ZONE 'UTC')::date,
                       r.username,
                       count(*),
                       COALESCE(sum(r.acctsessiontime), 0)::bigint,
                       COALESCE(sum(r.acctinputoctets), 0)::bigint,
                       COALESCE(sum(r.acctoutputoctets), 0)::bigint
                  FROM radacct r
                 WHERE {live_rows}
                 GROUP BY (r.acctstarttime AT TIME ZONE 'UTC')::date, r.username
          ) t
          LEFT JOIN hotspot_users u ON u.username = t.username
          LEFT JOIN packages pk ON pk.id = u.package_id
        """


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"CREATE OR REPLACE VIEW report_usage_per_user AS {usage_per_user(LIVE_ROWS)}")
    op.drop_index(USAGE_INDEX, table_name="radacct")
    op.execute("SET LOCAL lock_timeout TO DEFAULT")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            USAGE_INDEX,
            "radacct",
            [sa.text(USAGE_INDEX_COLUMNS[0]), USAGE_INDEX_COLUMNS[1]],
            unique=False,
            postgresql_include=USAGE_INDEX_INCLUDE,
            postgresql_concurrently=True,
        )
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"CREATE OR REPLACE VIEW report_usage_per_user AS {usage_per_user(LIVE_ROWS_0002)}")
    op.execute("SET LOCAL lock_timeout TO DEFAULT")
