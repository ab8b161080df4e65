"""Security (issue 11): what a router must send, where the portal may post, the terms a payment
asked for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-28 09:00:00.000000

- `nas.require_message_authenticator`: FreeRADIUS rejects an Access-Request from this router that
  carries no Message-Authenticator (BlastRADIUS, CVE-2024-3596). On by default; off only for a
  router that cannot send it (RouterOS before 7.15).
- `nas.hotspot_address`: the host (and port) of the router's hotspot login page. The captive
  portal posts a customer's credentials only to a login URL on a registered hotspot address.
- `payments.package_price` / `payments.package_duration_seconds`: the package's terms when the
  STK push was asked for. A payment settles at the price it asked, whatever an operator changes
  while the customer types the PIN. Empty for C2B money and payments made before this.

- `callback_token_generations`: which generations of the M-Pesa callback URL token are valid.
  The tokens themselves are derived from `HOTSPOT_MPESA_CALLBACK_TOKEN` (HMAC), so no token is
  stored anywhere; rotating adds a generation and gives the others a grace period.
- The STK push requests kept in `payment_events` lose their `CallBackURL` (it held the token that
  lets anyone forge callbacks). The upgrade rewrites those rows once.

The new columns have constant defaults: no table is rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "nas",
        sa.Column(
            "require_message_authenticator",
            sa.Boolean(),
            server_default=sa.text("true"),
            nullable=False,
        ),
    )
    op.add_column("nas", sa.Column("hotspot_address", sa.Text(), nullable=True))
    op.add_column("payments", sa.Column("package_price", sa.Numeric(12, 2), nullable=True))
    op.add_column("payments", sa.Column("package_duration_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "callback_token_generations",
        sa.Column("generation", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("INSERT INTO callback_token_generations (generation) VALUES (1)")
    op.execute(
        "UPDATE payment_events SET detail = jsonb_set(detail, '{request,CallBackURL}', "
        "'\"***\"') WHERE kind = 'stk_push' AND detail->'request' ? 'CallBackURL'"
    )


def downgrade() -> None:
    op.drop_table("callback_token_generations")
    op.drop_column("payments", "package_duration_seconds")
    op.drop_column("payments", "package_price")
    op.drop_column("nas", "hotspot_address")
    op.drop_column("nas", "require_message_authenticator")
