"""SMS credits, notifications and reports per operator.

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-23 09:00:00.000000

- `operators.sms_credits`: credits left; NULL is unmetered (the installation's own operator, which
  pays its SMS provider itself). New operators start at 0 and buy credits by paybill.
- `sms_messages.credits`: what the message cost (its parts).
- `operators.contact_phone`: the operator's phone for its notifications.
- Reports of one operator (hotspot/reports/operators.py): `report_operator_revenue_daily`,
  `report_subscribers_due` (and `report_arrears`, those past their due date) and
  `report_wallet_statement`; `ix_payments_operator_paid` keeps one operator's revenue among
  many an index range.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


VIEWS = (
    (
        "report_operator_revenue_daily",
        """
        SELECT operator_id, (paid_at AT TIME ZONE 'UTC')::date AS day, purpose,
               count(*) AS payments, sum(coalesce(amount_paid, amount)) AS amount
          FROM payments
         WHERE status = 'paid'
         GROUP BY operator_id, 2, purpose
        """,
    ),
    (
        "report_subscribers_due",
        """
        SELECT s.operator_id, s.account_number, s.username, s.phone, p.name AS plan, p.price,
               s.due_date, p.grace_days, s.status::text AS status, s.credit,
               greatest((now() AT TIME ZONE 'UTC')::date - s.due_date, 0) AS days_overdue,
               greatest(p.price - s.credit, 0) AS to_pay
          FROM subscribers s JOIN plans p ON p.id = s.plan_id
        """,
    ),
    (
        "report_arrears",
        "SELECT * FROM report_subscribers_due WHERE days_overdue > 0",
    ),
    (
        "report_wallet_statement",
        """
        SELECT operator_id, id AS posting_id, created_at, kind, wallet AS amount, payment_id,
               reference,
               sum(wallet) OVER (PARTITION BY operator_id ORDER BY id) AS balance
          FROM ledger
         WHERE wallet <> 0
        """,
    ),
)


def upgrade() -> None:
    op.create_index(
        "ix_payments_operator_paid",
        "payments",
        ["operator_id", "paid_at"],
        postgresql_where=sa.text("status = 'paid'"),
    )
    for name, query in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {query}")
    op.add_column("operators", sa.Column("sms_credits", sa.Integer(), nullable=True))
    op.add_column("operators", sa.Column("contact_phone", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_operators_sms_credits_not_negative"), "operators", "sms_credits >= 0"
    )
    op.add_column(
        "sms_messages", sa.Column("credits", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_index("ix_payments_operator_paid", "payments")
    op.drop_column("sms_messages", "credits")
    op.drop_column("operators", "contact_phone")
    op.drop_column("operators", "sms_credits")
