"""PPPoE home subscribers: monthly plans, subscribers with a due date, their payments.

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-22 09:00:00.000000

- `plans`: a monthly price, speed, optional pool and grace days; one RADIUS group each.
- `subscribers`: an operator's home customers, their paybill account number, PPPoE username,
  optional static address, due date, billing day and credit; blocked past due date and grace.
- `payments.subscriber_id`: a payment that went to a subscriber.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("rate_limit", sa.Text(), nullable=False),
        sa.Column("pool", sa.Text(), nullable=True),
        sa.Column("grace_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("price > 0", name=op.f("ck_plans_price_positive")),
        sa.CheckConstraint(
            "grace_days >= 0 AND grace_days <= 31", name=op.f("ck_plans_grace_range")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_plans_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("group_name", name=op.f("uq_plans_group_name")),
        sa.UniqueConstraint("id", "operator_id", name="uq_plans_id_operator_id"),
        sa.UniqueConstraint("operator_id", "name", name="uq_plans_operator_id_name"),
    )
    op.create_index(op.f("ix_plans_operator_id"), "plans", ["operator_id"])
    status = postgresql.ENUM("active", "blocked", name="subscriber_status")
    op.create_table(
        "subscribers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("account_number", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("static_ip", postgresql.INET(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("billing_day", sa.SmallInteger(), nullable=False),
        sa.Column("credit", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False),
        sa.Column("status", status, server_default="active", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "billing_day BETWEEN 1 AND 31", name=op.f("ck_subscribers_billing_day_range")
        ),
        sa.CheckConstraint("credit >= 0", name=op.f("ck_subscribers_credit_not_negative")),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_subscribers_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id", "operator_id"],
            ["plans.id", "plans.operator_id"],
            name="fk_subscribers_plan_of_operator",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("account_number", name=op.f("uq_subscribers_account_number")),
        sa.UniqueConstraint("username", name=op.f("uq_subscribers_username")),
    )
    op.create_index(op.f("ix_subscribers_operator_id"), "subscribers", ["operator_id"])
    op.create_index(op.f("ix_subscribers_plan_id"), "subscribers", ["plan_id"])
    op.add_column("payments", sa.Column("subscriber_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_payments_subscriber_id_subscribers"),
        "payments",
        "subscribers",
        ["subscriber_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_column("payments", "subscriber_id")
    op.drop_table("subscribers")
    op.execute("DROP TYPE subscriber_status")
    op.drop_table("plans")
