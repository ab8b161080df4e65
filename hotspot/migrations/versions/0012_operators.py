"""Operators: several ISPs on one installation.

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-20 09:00:00.000000

- `operators`: one row per ISP, its settings (empty ones fall back to the installation's), its
  M-Pesa secrets sealed with AES-GCM, and the platform's commission on its payments.
- The installation's data gets one operator, `DEFAULT`, owning everything: `operator_id` on
  `nas`, `packages`, `hotspot_users`, `payments`, `vouchers` and `sms_messages` (NOT NULL), and
  on `admin_tokens` (NULL: a platform token; every existing token becomes DEFAULT's). The columns
  are added with a constant default, which PostgreSQL stores without rewriting the table, and
  the default is dropped after: from now on every writer names the operator.
- Package names are unique per operator; a customer's, payment's or voucher's package is its own
  operator's (composite foreign keys); one phone, one account per operator.
- `hotspot_new_user` takes the operator from the package; `hotspot_settle_paid_callback`
  (hotspot/billing/settle_paid_callback.sql, loaded again) finds the payer's account among its
  operator's; `hotspot_same_operator` (hotspot/access/operators.sql) lets FreeRADIUS refuse a
  login on another operator's router.

Downgrading is refused while another operator than DEFAULT exists; platform tokens are deleted.
"""

from collections.abc import Sequence
from importlib.resources import files

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED_NOT_NULL = ("nas", "packages", "hotspot_users", "payments", "vouchers", "sms_messages")
PACKAGE_OF_OPERATOR = ("hotspot_users", "payments", "vouchers")

NEW_USER = """
CREATE OR REPLACE FUNCTION hotspot_new_user(
    p_usernames text[], p_password text, p_phone text, p_package_id int,
    p_expires_at timestamptz, p_credit numeric, p_devices int, p_groupname text
) RETURNS TABLE (user_id bigint, username text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    candidate text;
    new_id bigint;
    owner int := (SELECT operator_id FROM packages WHERE id = p_package_id);
BEGIN
    FOREACH candidate IN ARRAY p_usernames LOOP
        INSERT INTO hotspot_users (operator_id, username, phone, package_id, expires_at, credit)
        VALUES (owner, candidate, p_phone, p_package_id, p_expires_at, p_credit)
        ON CONFLICT DO NOTHING
        RETURNING id INTO new_id;
        IF new_id IS NOT NULL THEN
            INSERT INTO radcheck (username, attribute, op, value)
            SELECT candidate, c.attribute, ':=', c.value
              FROM hotspot_radius_checks(p_password, p_expires_at, p_devices) c;
            INSERT INTO radusergroup (username, groupname, priority)
            VALUES (candidate, p_groupname, 1);
            RETURN QUERY SELECT new_id, candidate;
            RETURN;
        END IF;
        -- Taken: the username (draw the next), or the phone (it has its account).
        EXIT WHEN EXISTS (
            SELECT 1 FROM hotspot_users u WHERE u.phone = p_phone AND u.operator_id = owner
        );
    END LOOP;
END
$$
"""

# What 0012 changed in the settlement file, put back by the downgrade.
SETTLE_ACCOUNT_0012 = (
    "\n     WHERE u.phone = pay.phone AND u.operator_id = pay.operator_id FOR UPDATE"
)
SETTLE_ACCOUNT_0011 = " WHERE u.phone = pay.phone FOR UPDATE"


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("phone_region", sa.String(length=2), nullable=True),
        sa.Column("sms_sender_id", sa.Text(), nullable=True),
        sa.Column("portal_name", sa.Text(), nullable=True),
        sa.Column(
            "portal_colors",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("mpesa_shortcode", sa.Text(), nullable=True),
        sa.Column("mpesa_secrets", sa.LargeBinary(), nullable=True),
        sa.Column(
            "commission_rate", sa.Numeric(precision=5, scale=4), server_default="0", nullable=False
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint("code ~ '^[A-Z0-9]{2,12}$'", name=op.f("ck_operators_code_format")),
        sa.CheckConstraint(
            "commission_rate >= 0 AND commission_rate < 1",
            name=op.f("ck_operators_commission_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("code", name=op.f("uq_operators_code")),
    )
    default = op.get_bind().scalar(
        sa.text("INSERT INTO operators (code, name) VALUES ('DEFAULT', 'Default') RETURNING id")
    )
    for table in OWNED_NOT_NULL:
        op.add_column(
            table,
            sa.Column("operator_id", sa.Integer(), server_default=str(default), nullable=False),
        )
        op.alter_column(table, "operator_id", server_default=None)
        op.create_foreign_key(
            op.f(f"fk_{table}_operator_id_operators"), table, "operators", ["operator_id"], ["id"]
        )
        if table != "payments":  # each index of payments is a write in every settlement
            op.create_index(op.f(f"ix_{table}_operator_id"), table, ["operator_id"])
    op.add_column("admin_tokens", sa.Column("operator_id", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE admin_tokens SET operator_id = :id").bindparams(id=default))
    op.create_foreign_key(
        op.f("fk_admin_tokens_operator_id_operators"),
        "admin_tokens",
        "operators",
        ["operator_id"],
        ["id"],
    )
    op.add_column("audit_log", sa.Column("operator_id", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE audit_log SET operator_id = :id").bindparams(id=default))
    op.create_foreign_key(
        op.f("fk_audit_log_operator_id_operators"),
        "audit_log",
        "operators",
        ["operator_id"],
        ["id"],
    )
    op.create_index(op.f("ix_audit_log_operator_id"), "audit_log", ["operator_id"])
    op.drop_constraint("uq_packages_name", "packages")
    op.create_unique_constraint("uq_packages_operator_id_name", "packages", ["operator_id", "name"])
    op.create_unique_constraint("uq_packages_id_operator_id", "packages", ["id", "operator_id"])
    for table in PACKAGE_OF_OPERATOR:
        op.create_foreign_key(
            f"fk_{table}_package_of_operator",
            table,
            "packages",
            ["package_id", "operator_id"],
            ["id", "operator_id"],
        )
    op.drop_index("uq_hotspot_users_phone", "hotspot_users")
    op.create_index(
        "uq_hotspot_users_operator_id_phone",
        "hotspot_users",
        ["operator_id", "phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.execute(NEW_USER)
    op.execute(files("hotspot.billing").joinpath("settle_paid_callback.sql").read_text())
    op.execute(files("hotspot.access").joinpath("operators.sql").read_text())


def downgrade() -> None:
    op.execute("DROP FUNCTION hotspot_same_operator(text, text)")
    settle = files("hotspot.billing").joinpath("settle_paid_callback.sql").read_text()
    op.execute(settle.replace(SETTLE_ACCOUNT_0012, SETTLE_ACCOUNT_0011))
    op.execute(
        NEW_USER.replace(
            "owner int := (SELECT operator_id FROM packages WHERE id = p_package_id);", ""
        )
        .replace("(operator_id, username,", "(username,")
        .replace("VALUES (owner, candidate,", "VALUES (candidate,")
        .replace(" AND u.operator_id = owner", "")
    )
    others = op.get_bind().scalar(sa.text("SELECT count(*) FROM operators WHERE code <> 'DEFAULT'"))
    if others:
        raise RuntimeError(
            f"{others} operator(s) besides DEFAULT: a schema without operators cannot keep "
            "their data apart; move or delete them first"
        )
    op.execute("DELETE FROM admin_tokens WHERE operator_id IS NULL")  # platform tokens
    op.drop_index("uq_hotspot_users_operator_id_phone", "hotspot_users")
    op.create_index(
        "uq_hotspot_users_phone",
        "hotspot_users",
        ["phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    for table in PACKAGE_OF_OPERATOR:
        op.drop_constraint(f"fk_{table}_package_of_operator", table)
    op.drop_constraint("uq_packages_id_operator_id", "packages")
    op.drop_constraint("uq_packages_operator_id_name", "packages")
    op.create_unique_constraint("uq_packages_name", "packages", ["name"])
    op.drop_column("admin_tokens", "operator_id")
    op.drop_column("audit_log", "operator_id")
    for table in OWNED_NOT_NULL:
        op.drop_column(table, "operator_id")
    op.drop_table("operators")
