"""radacct: sync_seq stamped on inserts and closes only; Interim-Updates leave it alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 09:00:00.000000

0001 stamped every insert and update of radacct with nextval('radacct_sync_seq') from a PL/pgSQL
row trigger, so every Interim-Update called the trigger and changed an indexed column
(`radacct_sync_seq_idx`). Now:

- an inserted row takes the next sync_seq from the column's DEFAULT (the stock queries never
  list sync_seq): no trigger call;
- an update that leaves the row closed (a Stop, Accounting-On/Off, the stale sweep, a late Stop
  rewriting a closed row) is stamped by the same function, through a trigger whose WHEN clause
  is false for open rows, so an Interim-Update never calls it and never changes sync_seq.

The accounting sync reads the open rows' interim changes by comparing them with our sessions
(hotspot/accounting.py). What Interim-Updates still cost more than on the stock schema comes from
0002's radacct_start_day_idx, which covers the counters they write (bench/accounting).

Nothing is rewritten, but the ALTER TABLE and the triggers hold locks that stop FreeRADIUS's
accounting writes, and they wait behind any open transaction that reads radacct (a long report):
rather than stall accounting behind one, the upgrade gives up after a few seconds (lock_timeout)
and can simply be run again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "5s"


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute("DROP TRIGGER radacct_sync_seq ON radacct")
    op.execute("ALTER TABLE radacct ALTER COLUMN sync_seq SET DEFAULT nextval('radacct_sync_seq')")
    op.execute(
        "CREATE TRIGGER radacct_sync_seq_closed BEFORE UPDATE ON radacct "
        "FOR EACH ROW WHEN (NEW.acctstoptime IS NOT NULL) "
        "EXECUTE FUNCTION radacct_stamp_sync_seq()"
    )
    op.execute("SET LOCAL lock_timeout TO DEFAULT")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute("DROP TRIGGER radacct_sync_seq_closed ON radacct")
    op.execute("ALTER TABLE radacct ALTER COLUMN sync_seq DROP DEFAULT")
    op.execute(
        "CREATE TRIGGER radacct_sync_seq BEFORE INSERT OR UPDATE ON radacct "
        "FOR EACH ROW EXECUTE FUNCTION radacct_stamp_sync_seq()"
    )
    op.execute("SET LOCAL lock_timeout TO DEFAULT")
