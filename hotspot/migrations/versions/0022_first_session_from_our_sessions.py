"""Reports find a payment's first session among ours (radius_sessions), not in radacct.

Revision ID: 0022
Revises: 0021
Create Date: 2027-03-08 09:00:00.000000

Since 0002 report_payments looked up each paid payment's first session (its NAS, whether the
customer got online within 24 hours) in radacct through `radacct_username_start_idx`: an index
that took an entry on every Accounting-Start FreeRADIUS wrote, for the reports' sake alone. On a
year of 100 M sessions it cost FreeRADIUS 8-16 % of its Starts per second against the stock
schema (bench/year). The accounting sync already copies every session of our users into
radius_sessions, in batches, off FreeRADIUS's path: the lookup now reads it there by user and
start (the new index), and radacct is left with the stock indexes plus the two the sync and
Simultaneous-Use need. Same rule, same columns; a session counts once the sync (every minute)
has seen it.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_radius_sessions_user_started"
RADACCT_INDEX = "radacct_username_start_idx"

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
    # On a year of data, about a minute: radius_sessions is read whole, its writer (the sync)
    # waits.
    op.execute(f"CREATE INDEX {INDEX} ON radius_sessions (user_id, started_at) INCLUDE (nas_ip)")
    op.execute(f"CREATE OR REPLACE VIEW report_payments AS {HEAD}{FIRST_SESSION}")
    op.execute(f"DROP INDEX {RADACCT_INDEX}")


def downgrade() -> None:
    op.execute(
        f"CREATE INDEX {RADACCT_INDEX} ON radacct (username, acctstarttime) INCLUDE (nasipaddress)"
    )
    op.execute(f"CREATE OR REPLACE VIEW report_payments AS {PAYMENTS_0002}")
    op.execute(f"DROP INDEX {INDEX}")
