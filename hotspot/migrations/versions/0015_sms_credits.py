"""SMS credits and notifications: what an operator's customer SMS cost it, whom it tells.

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-23 09:00:00.000000

- `operators.sms_credits`: credits left; NULL is unmetered (the installation's own operator, which
  pays its SMS provider itself). New operators start at 0 and buy credits by paybill.
- `sms_messages.credits`: what the message cost (its parts).
- `operators.contact_phone`: the operator's phone for its notifications.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("operators", sa.Column("sms_credits", sa.Integer(), nullable=True))
    op.add_column("operators", sa.Column("contact_phone", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_operators_sms_credits_not_negative"), "operators", "sms_credits >= 0"
    )
    op.add_column(
        "sms_messages", sa.Column("credits", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("sms_messages", "credits")
    op.drop_column("operators", "contact_phone")
    op.drop_column("operators", "sms_credits")
