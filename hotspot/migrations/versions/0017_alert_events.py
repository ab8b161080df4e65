"""Alert events: each alert Prometheus sends us, once per event, for SMS and webhook notices.

Revision ID: 0017
Revises: 0016
Create Date: 2027-02-10 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("alertname", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text()),
        sa.Column("labels", postgresql.JSONB(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("notify", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("webhook", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("fingerprint", "starts_at", name=op.f("uq_alert_events_event")),
    )


def downgrade() -> None:
    op.drop_table("alert_events")
