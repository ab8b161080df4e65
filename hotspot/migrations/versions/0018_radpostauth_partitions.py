"""radpostauth partitioned by month (hotspot/adapters/partitions.py keeps it so).

Revision ID: 0018
Revises: 0017
Create Date: 2027-02-20 09:00:00.000000

FreeRADIUS writes one row per authentication and nothing reads them back, so the table grows
without end; as monthly partitions, a month past its retention is detached and dropped without
a long DELETE. The columns, the index names and the id sequence stay as FreeRADIUS's schema has
them, so its post-auth query is unchanged; the primary key gains `authdate` (a partitioned
table's keys must hold its partition key). The existing rows are copied into partitions made
for their months, the current month and three more; a default partition takes any row outside
them.
"""

from collections.abc import Sequence

from alembic import op

from hotspot.migrations.monthly import make_partitions, oldest

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, username, pass, reply, calledstationid, callingstationid, authdate, class"


def create_radpostauth(primary_key: str, partitioning: str) -> None:
    """FreeRADIUS's columns and index names, as 0001 made them."""
    op.execute(
        f"""
        CREATE TABLE radpostauth (
            id bigint NOT NULL DEFAULT nextval('radpostauth_id_seq'::regclass),
            username text NOT NULL,
            pass text,
            reply text,
            calledstationid text,
            callingstationid text,
            authdate timestamptz NOT NULL DEFAULT now(),
            class text,
            CONSTRAINT pk_radpostauth PRIMARY KEY ({primary_key})
        ) {partitioning}
        """
    )
    op.execute("CREATE INDEX radpostauth_username_idx ON radpostauth (username)")
    op.execute("CREATE INDEX radpostauth_class_idx ON radpostauth (class)")


def set_aside(suffix: str) -> None:
    """The table and its indexes renamed, out of the new one's way."""
    op.execute(f"ALTER TABLE radpostauth RENAME TO radpostauth_{suffix}")
    op.execute(f"ALTER INDEX pk_radpostauth RENAME TO pk_radpostauth_{suffix}")
    op.execute(f"ALTER INDEX radpostauth_username_idx RENAME TO radpostauth_username_{suffix}")
    op.execute(f"ALTER INDEX radpostauth_class_idx RENAME TO radpostauth_class_{suffix}")


def take_rows(suffix: str) -> None:
    """The set-aside table's rows (and its id sequence) into the new one; the old dropped."""
    op.execute("ALTER SEQUENCE radpostauth_id_seq OWNED BY radpostauth.id")
    op.execute(f"INSERT INTO radpostauth SELECT {COLUMNS} FROM radpostauth_{suffix}")  # noqa: S608
    op.execute(f"DROP TABLE radpostauth_{suffix}")


def upgrade() -> None:
    set_aside("unpartitioned")
    create_radpostauth("id, authdate", "PARTITION BY RANGE (authdate)")
    make_partitions("radpostauth", oldest("radpostauth_unpartitioned", "authdate"))
    take_rows("unpartitioned")


def downgrade() -> None:
    set_aside("partitioned")
    create_radpostauth("id", "")
    take_rows("partitioned")
