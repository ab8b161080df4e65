"""Payment gateways: M-Pesa, ioTec Pay and CamPay behind one interface.

Revision ID: 0016
Revises: 0015
Create Date: 2027-02-01 09:00:00.000000

- `payments.gateway`: which provider collects it (every earlier payment is M-Pesa's);
  `payments.currency`: the currency it was asked in (the package's, at the time).
  `checkout_request_id` keeps its name for M-Pesa's SQL and reports but holds any provider's
  reference of the collection (M-Pesa's CheckoutRequestID, ioTec's id, CamPay's reference).
- `operators.gateways`: the gateways its portal offers, in order (NULL: HOTSPOT_GATEWAYS);
  `operators.gateway_secrets`: its own ioTec or CamPay credentials, sealed like its M-Pesa ones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GATEWAYS = ("mpesa", "iotec", "campay")
LISTED = ", ".join(f"'{name}'" for name in GATEWAYS)


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("gateway", sa.Text(), server_default="mpesa", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_payments_gateway_known"), "payments", f"gateway IN ({LISTED})"
    )
    op.add_column("payments", sa.Column("currency", sa.String(3)))
    op.add_column("operators", sa.Column("gateways", postgresql.ARRAY(sa.Text())))
    op.create_check_constraint(
        op.f("ck_operators_gateways_known"), "operators", f"gateways <@ ARRAY[{LISTED}]::text[]"
    )
    op.add_column("operators", sa.Column("gateway_secrets", sa.LargeBinary()))


def downgrade() -> None:
    # Another provider's payments would read as M-Pesa's: refused, like 0012's second operator.
    others = op.get_bind().scalar(sa.text("SELECT count(*) FROM payments WHERE gateway <> 'mpesa'"))
    if others:
        raise RuntimeError(f"{others} payments were made through ioTec or CamPay; not downgrading")
    op.drop_column("operators", "gateway_secrets")
    op.drop_constraint(op.f("ck_operators_gateways_known"), "operators")
    op.drop_column("operators", "gateways")
    op.drop_column("payments", "currency")
    op.drop_constraint(op.f("ck_payments_gateway_known"), "payments")
    op.drop_column("payments", "gateway")
