"""radacct's index by user and start goes: reports read a payment's first session from
radius_sessions, time quotas read closed sessions through a partial index by user and stop.

Revision ID: 0022
Revises: 0021
Create Date: 2027-03-08 09:00:00.000000

`radacct_username_start_idx` (0002) took an entry on every Accounting-Start FreeRADIUS wrote; on
a year of 100 M sessions it cost 8-16 % of FreeRADIUS's Starts per second against the stock
schema (bench/year). Its two readers now read elsewhere:

- report_payments' first session of a payment (its NAS, whether it got online) comes from
  radius_sessions, the accounting sync's copy of radacct, by user and start (a new index there,
  off FreeRADIUS's path). Same rule, same columns; a session counts once the sync (every
  minute) has seen it.
- hotspot_time_left (quotas.sql, loaded again here), at every login on a time-quota package,
  reads the user's open sessions through `radacct_active_user_idx` and those that closed after
  the usage began through `radacct_username_stop_idx`, on (username, acctstoptime) of closed
  rows only: a Start or an Interim-Update adds no entry to it, and a Stop, which moves the row
  out of the open-session indexes, rewrites every index entry anyway. Before, it read every
  session the user ever had.

The indexes are built and dropped CONCURRENTLY, outside the migration's transaction, so a live
database keeps taking accounting and sync writes; a build that fails leaves an INVALID index of
that name: drop it and run the upgrade again.
"""

import importlib
from collections.abc import Sequence
from importlib.resources import files

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_radius_sessions_user_started"
RADACCT_INDEX = "radacct_username_start_idx"
STOP_INDEX = "radacct_username_stop_idx"

# 0002's report_payments up to its lookup; the same columns, so CREATE OR REPLACE keeps the
# views and rollups over it.
PAYMENTS_0002 = dict(
    importlib.import_module("hotspot.migrations.versions.0002_operator_views").VIEWS
)["report_payments"]
HEAD = PAYMENTS_0002.split("LEFT JOIN LATERAL")[0]
# Named as radacct's columns, which 0002's select list reads.
FIRST_SESSION = """LEFT JOIN LATERAL (
        SELECT rs.nas_ip AS nasipaddress, rs.started_at AS acctstarttime
          FROM radius_sessions rs
         WHERE p.status = 'paid'
           AND rs.user_id = p.user_id
           AND rs.started_at >= p.paid_at - interval '5 minutes'
           AND rs.started_at < p.paid_at + interval '24 hours'
         ORDER BY rs.started_at
         LIMIT 1
  ) s ON true
"""


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            f"CREATE INDEX CONCURRENTLY {INDEX} ON radius_sessions (user_id, started_at) "
            "INCLUDE (nas_ip)"
        )
        op.execute(
            f"CREATE INDEX CONCURRENTLY {STOP_INDEX} ON radacct (username, acctstoptime) "
            "WHERE acctstoptime IS NOT NULL"
        )
    op.execute(f"CREATE OR REPLACE VIEW report_payments AS {HEAD}{FIRST_SESSION}")
    op.execute(files("hotspot.access").joinpath("quotas.sql").read_text())
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY {RADACCT_INDEX}")


def downgrade() -> None:
    """0021's indexes and view; hotspot_time_left as it is (it reads the same rows either way,
    through the username-led index when the stop index is gone)."""
    with op.get_context().autocommit_block():
        op.execute(
            f"CREATE INDEX CONCURRENTLY {RADACCT_INDEX} ON radacct (username, acctstarttime) "
            "INCLUDE (nasipaddress)"
        )
    op.execute(f"CREATE OR REPLACE VIEW report_payments AS {PAYMENTS_0002}")
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY {STOP_INDEX}")
        op.execute(f"DROP INDEX CONCURRENTLY {INDEX}")
