"""Operators' wallets: an append-only, balanced ledger.

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-21 09:00:00.000000

- `ledger`: one row per business event (a payment, a payout), unique per payment, with what it
  moved on each account; a CHECK makes every row balance (its accounts sum to zero) and a
  trigger refuses any UPDATE or DELETE (hotspot/billing/ledger.sql).
- `payments.purpose`: what the money is for (access, a subscription, SMS credits, an operator's
  wallet), which decides its posting.
- A trigger on `payments` posts each payment when it becomes paid, by whatever path. Payments
  already paid before this migration are posted by it, without commission (none was agreed).
"""

from collections.abc import Sequence
from importlib.resources import files

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNTS = ("received", "wallet", "commission", "payouts", "sms_sales")


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("purpose", sa.Text(), server_default="access", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_payments_purpose_known"),
        "payments",
        "purpose IN ('access', 'subscription', 'sms_credits', 'wallet')",
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        *(
            sa.Column(account, sa.Numeric(14, 2), server_default="0", nullable=False)
            for account in ACCOUNTS
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('payment', 'payout')", name=op.f("ck_ledger_kind_known")),
        sa.CheckConstraint(
            "received + wallet + commission + payouts + sms_sales = 0",
            name=op.f("ck_ledger_balanced"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_ledger_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_ledger_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_ledger_payment_id")),
    )
    op.create_index(op.f("ix_ledger_operator_id"), "ledger", ["operator_id"])
    op.execute(files("hotspot.billing").joinpath("ledger.sql").read_text())
    op.execute(
        """
        CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION hotspot_ledger_append_only();
        CREATE TRIGGER payments_posted_on_insert AFTER INSERT ON payments
        FOR EACH ROW WHEN (NEW.status = 'paid') EXECUTE FUNCTION hotspot_post_payment();
        CREATE TRIGGER payments_posted_on_update AFTER UPDATE OF status ON payments
        FOR EACH ROW WHEN (NEW.status = 'paid' AND OLD.status <> 'paid')
        EXECUTE FUNCTION hotspot_post_payment();
        """
    )
    # What was paid before wallets existed: posted once, at no commission.
    op.execute(
        """
        INSERT INTO ledger (operator_id, kind, payment_id, received, wallet, created_at)
        SELECT operator_id, 'payment', id, -coalesce(amount_paid, amount),
               coalesce(amount_paid, amount), coalesce(paid_at, created_at)
          FROM payments WHERE status = 'paid'
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER payments_posted_on_update ON payments")
    op.execute("DROP TRIGGER payments_posted_on_insert ON payments")
    op.drop_table("ledger")
    op.execute("DROP FUNCTION hotspot_post_payment()")
    op.execute("DROP FUNCTION hotspot_ledger_append_only()")
    op.drop_column("payments", "purpose")
