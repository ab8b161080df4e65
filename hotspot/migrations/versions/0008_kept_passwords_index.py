"""An index of the credentials rows that still hold a password, by age.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-11 09:00:00.000000

`ix_hotspot_credentials_kept_created_at` on `hotspot_credentials (created_at) WHERE password <>
''`: the rows whose password `HOTSPOT_CLEARTEXT_RETENTION` has not yet blanked (a day's
purchases), by age. Two periodic jobs read them: `jobs.retention.forget_old_passwords` (the kept
passwords older than the retention) and `jobs.recovery.recover_lost_work` (the kept ones between
a minute and the retention old whose SMS was never sent). Without it both read the whole table,
every purchase ever made. Both queries write the predicate as the literal `password <> ''`, so
that the planner can prove it implies the index's even in a generic plan.

Pending payments by age, which `recover_lost_work` also reads, need nothing new:
`ix_payments_status_created_at (status, created_at)` serves them.

Built and dropped CONCURRENTLY, outside the migration's transaction: purchases go on meanwhile.
A build that fails leaves an INVALID index of that name: drop it and run the upgrade again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_hotspot_credentials_kept_created_at"
TABLE = "hotspot_credentials"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            INDEX,
            TABLE,
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("password <> ''"),
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name=TABLE, postgresql_concurrently=True)
