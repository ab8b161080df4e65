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

- `hotspot_settle_new_customer` (the one-call settlement of a new customer's success callback)
  reads those terms: the price to cover and the time to give are the payment's, the package's
  only for payments made before this.
- `callback_token_generations`: which generations of the M-Pesa callback URL token are valid.
  The tokens themselves are derived from `HOTSPOT_MPESA_CALLBACK_TOKEN` (HMAC), so no token is
  stored anywhere; rotating adds a generation and gives the others a grace period.
- The STK push requests kept in `payment_events` lose their `CallBackURL` (it held the token that
  lets anyone forge callbacks). The upgrade rewrites those rows once.

The new columns have constant defaults: no table is rewritten.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SETTLE_NEW_CUSTOMER = """
    CREATE OR REPLACE FUNCTION hotspot_settle_new_customer(
        p_checkout_request_id text, p_receipt text, p_amount numeric, p_raw jsonb,
        p_usernames text[], p_password text, p_now timestamptz
    ) RETURNS TABLE (payment_id bigint, user_id bigint, username text, expires_at timestamptz)
    LANGUAGE plpgsql AS $$
    DECLARE
        pay payments%ROWTYPE;
        pkg packages%ROWTYPE;
        price numeric;
        ends timestamptz;
        candidate text;
        new_id bigint;
    BEGIN
        SELECT * INTO pay FROM payments p
         WHERE p.checkout_request_id = p_checkout_request_id
           FOR UPDATE;
        IF NOT FOUND OR pay.status = 'paid' OR pay.user_id IS NOT NULL OR pay.phone IS NULL
           OR p_amount < pay.amount THEN
            RETURN;
        END IF;
        SELECT * INTO pkg FROM packages WHERE id = pay.package_id;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        price := coalesce(pay.package_price, pkg.price);
        IF p_amount < price
           OR EXISTS (SELECT 1 FROM hotspot_users u WHERE u.phone = pay.phone) THEN
            RETURN;
        END IF;
        ends := date_trunc('second', p_now + make_interval(
            secs => coalesce(pay.package_duration_seconds, pkg.duration_seconds)));
        -- None when every username drawn was taken, or the phone was (a payment of it just made
        -- its account: the general path renews that).
        SELECT n.user_id, n.username INTO new_id, candidate
          FROM hotspot_new_user(p_usernames, p_password, pay.phone, pkg.id, ends,
                                p_amount - price, pkg.devices, pkg.group_name) n;
        IF new_id IS NULL THEN
            RETURN;
        END IF;
        PERFORM hotspot_record_purchase(new_id, pay.id, candidate, p_password, ends);
        UPDATE payments
           SET status = 'paid', result_code = '0', failure_reason = NULL,
               mpesa_receipt = p_receipt, amount_paid = p_amount, paid_at = p_now,
               updated_at = p_now, user_id = new_id
         WHERE id = pay.id;
        INSERT INTO payment_events (payment_id, kind, detail)
        VALUES (pay.id, 'callback', jsonb_build_object('raw', p_raw)),
               (pay.id, 'provisioned', jsonb_build_object(
                    'source', 'callback', 'receipt', p_receipt, 'username', candidate,
                    'expires_at', to_char(ends AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00:00')));
        RETURN QUERY SELECT pay.id, new_id, candidate, ends;
    END
    $$
"""


def _0005_settle_new_customer() -> str:
    path = Path(__file__).with_name("0005_provisioning_functions.py")
    spec = importlib.util.spec_from_file_location("revision_0005", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original: str = module.FUNCTIONS[3]
    return original.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


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
    op.execute(SETTLE_NEW_CUSTOMER)


def downgrade() -> None:
    op.execute(_0005_settle_new_customer())
    op.drop_table("callback_token_generations")
    op.drop_column("payments", "package_duration_seconds")
    op.drop_column("payments", "package_price")
    op.drop_column("nas", "hotspot_address")
    op.drop_column("nas", "require_message_authenticator")
