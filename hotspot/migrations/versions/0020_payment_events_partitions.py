"""payment_events partitioned by month; SMS, sessions and disconnections indexed by creation.

Revision ID: 0020
Revises: 0019
Create Date: 2027-02-27 10:00:00.000000

Both grow with every purchase and are read by recent rows only (a payment's events, a day's
failed SMS). payment_events, written once and never updated, becomes monthly partitions that
`hotspot db maintain` archives and drops past their retention (HOTSPOT_RETENTION_MONTHS; kept
for ever unless set: they are the record of money). Its columns, index and id sequence stay; the
primary key gains `created_at`. sms_messages cannot be partitioned by time (its unique
idempotency key does not hold the time), so its settled messages past their retention are
archived and deleted in batches, found through the new index on `created_at`; so are closed
radius_sessions and their session_disconnections (hotspot/adapters/row_pruning.py).
"""

from collections.abc import Sequence

from alembic import op

from hotspot.migrations.monthly import make_partitions, oldest

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, payment_id, kind, detail, created_at"
CREATED_INDEXES = ("sms_messages", "radius_sessions", "session_disconnections")


def create_payment_events(primary_key: str, partitioning: str) -> None:
    """The columns, constraint and index names 0001 made."""
    op.execute(
        f"""
        CREATE TABLE payment_events (
            id bigint NOT NULL DEFAULT nextval('payment_events_id_seq'::regclass),
            payment_id bigint,
            kind text NOT NULL,
            detail jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_payment_events PRIMARY KEY ({primary_key}),
            CONSTRAINT fk_payment_events_payment_id_payments
                FOREIGN KEY (payment_id) REFERENCES payments (id)
        ) {partitioning}
        """
    )
    op.execute(
        "CREATE INDEX ix_payment_events_payment_id_created_at "
        "ON payment_events (payment_id, created_at)"
    )


def set_aside(suffix: str) -> None:
    op.execute(f"ALTER TABLE payment_events RENAME TO payment_events_{suffix}")
    op.execute(f"ALTER INDEX pk_payment_events RENAME TO pk_payment_events_{suffix}")
    op.execute(
        "ALTER INDEX ix_payment_events_payment_id_created_at "
        f"RENAME TO ix_payment_events_payment_{suffix}"
    )


def take_rows(suffix: str) -> None:
    op.execute("ALTER SEQUENCE payment_events_id_seq OWNED BY payment_events.id")
    op.execute(
        f"INSERT INTO payment_events SELECT {COLUMNS} FROM payment_events_{suffix}"  # noqa: S608
    )
    op.execute(f"DROP TABLE payment_events_{suffix}")


def upgrade() -> None:
    set_aside("unpartitioned")
    create_payment_events("id, created_at", "PARTITION BY RANGE (created_at)")
    make_partitions("payment_events", oldest("payment_events_unpartitioned", "created_at"))
    take_rows("unpartitioned")
    for table in CREATED_INDEXES:
        op.create_index(f"ix_{table}_created_at", table, ["created_at"])


def downgrade() -> None:
    for table in CREATED_INDEXES:
        op.drop_index(f"ix_{table}_created_at", table_name=table)
    set_aside("partitioned")
    create_payment_events("id", "")
    take_rows("partitioned")
