"""Operators' wallets: an append-only, balanced ledger.

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-21 09:00:00.000000

- `ledger_postings`: one per business event (a payment, a payout), unique per payment.
- `ledger_entries`: its entries; every INSERT statement's postings must sum to zero, and no
  entry is ever updated or deleted (triggers, hotspot/billing/ledger.sql).
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
    op.execute("CREATE SEQUENCE ledger_postings_seq")
    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text("nextval('ledger_postings_seq')"),
            nullable=False,
        ),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('payment', 'payout')", name=op.f("ck_ledger_postings_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_ledger_postings_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_ledger_postings_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_ledger_postings_payment_id")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("posting_id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint(
            "account IN ('received', 'wallet', 'commission', 'payouts', 'sms_sales')",
            name=op.f("ck_ledger_entries_account_known"),
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_ledger_entries_posting_id_ledger_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_ledger_entries_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_posting_id"), "ledger_entries", ["posting_id"])
    op.create_index(
        "ix_ledger_entries_operator_id_account", "ledger_entries", ["operator_id", "account"]
    )
    op.execute(files("hotspot.billing").joinpath("ledger.sql").read_text())
    op.execute(
        """
        CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS new_entries
        FOR EACH STATEMENT EXECUTE FUNCTION hotspot_ledger_balanced();
        CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION hotspot_ledger_append_only();
        CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
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
        WITH paid AS (
            SELECT id, operator_id, coalesce(amount_paid, amount) AS amount,
                   nextval('ledger_postings_seq') AS posting_id
              FROM payments WHERE status = 'paid'
        ), postings AS (
            INSERT INTO ledger_postings (id, operator_id, kind, payment_id, created_at)
            SELECT p.posting_id, p.operator_id, 'payment', p.id, coalesce(x.paid_at, x.created_at)
              FROM paid p JOIN payments x ON x.id = p.id
        )
        INSERT INTO ledger_entries (posting_id, operator_id, account, amount)
        SELECT posting_id, operator_id, e.account, e.amount
          FROM paid CROSS JOIN LATERAL (VALUES ('received', -amount), ('wallet', amount)) e(account, amount)
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER payments_posted_on_update ON payments")
    op.execute("DROP TRIGGER payments_posted_on_insert ON payments")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_postings")
    op.execute("DROP FUNCTION hotspot_post_payment()")
    op.execute("DROP FUNCTION hotspot_ledger_append_only()")
    op.execute("DROP FUNCTION hotspot_ledger_balanced()")
    op.execute("DROP SEQUENCE ledger_postings_seq")
    op.drop_column("payments", "purpose")
