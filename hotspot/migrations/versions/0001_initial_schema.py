"""Initial schema: FreeRADIUS's stock tables and our domain tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:33:52.653877
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = (
    "user_status",
    "payment_status",
    "payment_method",
    "session_status",
    "sms_status",
    "voucher_status",
    "admin_role",
)


def upgrade() -> None:
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Enum("admin", "viewer", name="admin_role"), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_tokens_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"], unique=False)
    op.create_table(
        "nas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nasname", sa.Text(), nullable=False),
        sa.Column("shortname", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), server_default="other", nullable=False),
        sa.Column("ports", sa.Integer(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("server", sa.Text(), nullable=True),
        sa.Column("community", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("coa_port", sa.Integer(), server_default="3799", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nas")),
    )
    op.create_index("nas_nasname", "nas", ["nasname"], unique=False)
    op.create_table(
        "nasreload",
        sa.Column("nasipaddress", postgresql.INET(), nullable=False),
        sa.Column("reloadtime", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nasipaddress", name=op.f("pk_nasreload")),
    )
    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="KES", nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("data_cap_bytes", sa.BigInteger(), nullable=True),
        sa.Column("rate_limit", sa.Text(), nullable=False),
        sa.Column("devices", sa.Integer(), server_default="1", nullable=False),
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
        sa.CheckConstraint(
            "data_cap_bytes IS NULL OR data_cap_bytes > 0",
            name=op.f("ck_packages_data_cap_positive"),
        ),
        sa.CheckConstraint("devices > 0", name=op.f("ck_packages_devices_positive")),
        sa.CheckConstraint("duration_seconds > 0", name=op.f("ck_packages_duration_positive")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_packages_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("group_name", name=op.f("uq_packages_group_name")),
        sa.UniqueConstraint("name", name=op.f("uq_packages_name")),
    )
    op.create_table(
        "radacct",
        sa.Column("radacctid", sa.BigInteger(), nullable=False),
        sa.Column("acctsessionid", sa.Text(), nullable=False),
        sa.Column("acctuniqueid", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("realm", sa.Text(), nullable=True),
        sa.Column("nasipaddress", postgresql.INET(), nullable=False),
        sa.Column("nasportid", sa.Text(), nullable=True),
        sa.Column("nasporttype", sa.Text(), nullable=True),
        sa.Column("acctstarttime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acctupdatetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acctstoptime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acctinterval", sa.BigInteger(), nullable=True),
        sa.Column("acctsessiontime", sa.BigInteger(), nullable=True),
        sa.Column("acctauthentic", sa.Text(), nullable=True),
        sa.Column("connectinfo_start", sa.Text(), nullable=True),
        sa.Column("connectinfo_stop", sa.Text(), nullable=True),
        sa.Column("acctinputoctets", sa.BigInteger(), nullable=True),
        sa.Column("acctoutputoctets", sa.BigInteger(), nullable=True),
        sa.Column("calledstationid", sa.Text(), nullable=True),
        sa.Column("callingstationid", sa.Text(), nullable=True),
        sa.Column("acctterminatecause", sa.Text(), nullable=True),
        sa.Column("servicetype", sa.Text(), nullable=True),
        sa.Column("framedprotocol", sa.Text(), nullable=True),
        sa.Column("framedipaddress", postgresql.INET(), nullable=True),
        sa.Column("framedipv6address", postgresql.INET(), nullable=True),
        sa.Column("framedipv6prefix", postgresql.INET(), nullable=True),
        sa.Column("framedinterfaceid", sa.Text(), nullable=True),
        sa.Column("delegatedipv6prefix", postgresql.INET(), nullable=True),
        sa.Column("class", sa.Text(), nullable=True),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("radacctid", name=op.f("pk_radacct")),
        sa.UniqueConstraint("acctuniqueid", name=op.f("uq_radacct_acctuniqueid")),
    )
    op.create_index(
        "radacct_active_session_idx",
        "radacct",
        ["acctuniqueid"],
        unique=False,
        postgresql_where=sa.text("acctstoptime IS NULL"),
    )
    op.create_index(
        "radacct_active_user_idx",
        "radacct",
        ["username"],
        unique=False,
        postgresql_where=sa.text("acctstoptime IS NULL"),
    )
    op.create_index(
        "radacct_bulk_close",
        "radacct",
        ["nasipaddress", "acctstarttime"],
        unique=False,
        postgresql_where=sa.text("acctstoptime IS NULL"),
    )
    op.create_index("radacct_calss_idx", "radacct", ["class"], unique=False)
    op.create_index(
        "radacct_start_user_idx", "radacct", ["acctstarttime", "username"], unique=False
    )
    op.create_index("radacct_sync_seq_idx", "radacct", ["sync_seq"], unique=False)
    op.create_table(
        "radcheck",
        sa.Column("username", sa.Text(), server_default="", nullable=False),
        sa.Column("op", sa.String(length=2), server_default="==", nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radcheck")),
    )
    op.create_index("radcheck_username", "radcheck", ["username", "attribute"], unique=False)
    op.create_table(
        "radgroupcheck",
        sa.Column("groupname", sa.Text(), server_default="", nullable=False),
        sa.Column("op", sa.String(length=2), server_default="==", nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radgroupcheck")),
    )
    op.create_index(
        "radgroupcheck_groupname", "radgroupcheck", ["groupname", "attribute"], unique=False
    )
    op.create_table(
        "radgroupreply",
        sa.Column("groupname", sa.Text(), server_default="", nullable=False),
        sa.Column("op", sa.String(length=2), server_default="=", nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radgroupreply")),
    )
    op.create_index(
        "radgroupreply_groupname", "radgroupreply", ["groupname", "attribute"], unique=False
    )
    op.create_table(
        "radpostauth",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("pass", sa.Text(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("calledstationid", sa.Text(), nullable=True),
        sa.Column("callingstationid", sa.Text(), nullable=True),
        sa.Column(
            "authdate", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("class", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radpostauth")),
    )
    op.create_index("radpostauth_class_idx", "radpostauth", ["class"], unique=False)
    op.create_index("radpostauth_username_idx", "radpostauth", ["username"], unique=False)
    op.create_table(
        "radreply",
        sa.Column("username", sa.Text(), server_default="", nullable=False),
        sa.Column("op", sa.String(length=2), server_default="=", nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radreply")),
    )
    op.create_index("radreply_username", "radreply", ["username", "attribute"], unique=False)
    op.create_table(
        "radusergroup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.Text(), server_default="", nullable=False),
        sa.Column("groupname", sa.Text(), server_default="", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radusergroup")),
    )
    op.create_index("radusergroup_username", "radusergroup", ["username"], unique=False)
    op.create_table(
        "sync_watermarks",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_watermarks")),
    )
    op.create_table(
        "hotspot_users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "expired", "capped", "disabled", name="user_status"),
            server_default="active",
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credit", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False),
        sa.Column("data_used_bytes", sa.BigInteger(), server_default="0", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_hotspot_users_package_id_packages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_users")),
        sa.UniqueConstraint("username", name=op.f("uq_hotspot_users_username")),
    )
    op.create_index(
        "ix_hotspot_users_status_expires_at",
        "hotspot_users",
        ["status", "expires_at"],
        unique=False,
    )
    op.create_index(
        "uq_hotspot_users_phone",
        "hotspot_users",
        ["phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "method",
            sa.Enum("stk", "c2b", name="payment_method"),
            server_default="stk",
            nullable=False,
        ),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount_paid", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "paid", "failed", "expired", "unmatched", name="payment_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("portal_token_hash", sa.Text(), nullable=True),
        sa.Column("bill_ref_number", sa.Text(), nullable=True),
        sa.Column("checkout_request_id", sa.Text(), nullable=True),
        sa.Column("merchant_request_id", sa.Text(), nullable=True),
        sa.Column("mpesa_receipt", sa.Text(), nullable=True),
        sa.Column("result_code", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("mac", sa.Text(), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
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
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_payments_package_id_packages")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hotspot_users.id"], name=op.f("fk_payments_user_id_hotspot_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("checkout_request_id", name=op.f("uq_payments_checkout_request_id")),
        sa.UniqueConstraint("mpesa_receipt", name=op.f("uq_payments_mpesa_receipt")),
    )
    op.create_index("ix_payments_phone", "payments", ["phone"], unique=False)
    op.create_index(
        "ix_payments_status_created_at", "payments", ["status", "created_at"], unique=False
    )
    op.create_index(op.f("ix_payments_user_id"), "payments", ["user_id"], unique=False)
    op.create_table(
        "radius_sessions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "active", "closed", name="session_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("acct_unique_id", sa.Text(), nullable=True),
        sa.Column("acct_session_id", sa.Text(), nullable=True),
        sa.Column("nas_ip", postgresql.INET(), nullable=True),
        sa.Column("framed_ip", postgresql.INET(), nullable=True),
        sa.Column("mac", sa.Text(), nullable=True),
        sa.Column("nas_port_id", sa.Text(), nullable=True),
        sa.Column("terminate_cause", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_update_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("input_octets", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("output_octets", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hotspot_users.id"], name=op.f("fk_radius_sessions_user_id_hotspot_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_sessions")),
        sa.UniqueConstraint("acct_unique_id", name=op.f("uq_radius_sessions_acct_unique_id")),
    )
    op.create_index(
        "ix_radius_sessions_user_id_status", "radius_sessions", ["user_id", "status"], unique=False
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("claimed", "sent", "delivered", "failed", name="sms_status"),
            server_default="claimed",
            nullable=False,
        ),
        sa.Column("provider_status_code", sa.Integer(), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("cost", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hotspot_users.id"], name=op.f("fk_sms_messages_user_id_hotspot_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sms_messages_idempotency_key")),
    )
    op.create_index(
        op.f("ix_sms_messages_provider_message_id"),
        "sms_messages",
        ["provider_message_id"],
        unique=False,
    )
    op.create_index(op.f("ix_sms_messages_user_id"), "sms_messages", ["user_id"], unique=False)
    op.create_table(
        "vouchers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("unused", "redeemed", "revoked", name="voucher_status"),
            server_default="unused",
            nullable=False,
        ),
        sa.Column("redeemed_by", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_vouchers_package_id_packages")
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by"],
            ["hotspot_users.id"],
            name=op.f("fk_vouchers_redeemed_by_hotspot_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_vouchers_code")),
    )
    op.create_index(op.f("ix_vouchers_batch"), "vouchers", ["batch"], unique=False)
    op.create_table(
        "data_usage_logs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("input_octets_delta", sa.BigInteger(), nullable=False),
        sa.Column("output_octets_delta", sa.BigInteger(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["radius_sessions.id"],
            name=op.f("fk_data_usage_logs_session_id_radius_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hotspot_users.id"], name=op.f("fk_data_usage_logs_user_id_hotspot_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_usage_logs")),
    )
    op.create_index(
        op.f("ix_data_usage_logs_session_id"), "data_usage_logs", ["session_id"], unique=False
    )
    op.create_index(
        "ix_data_usage_logs_user_id_recorded_at",
        "data_usage_logs",
        ["user_id", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "hotspot_credentials",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_hotspot_credentials_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["hotspot_users.id"],
            name=op.f("fk_hotspot_credentials_user_id_hotspot_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_credentials")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_hotspot_credentials_payment_id")),
    )
    op.create_index(
        op.f("ix_hotspot_credentials_user_id"), "hotspot_credentials", ["user_id"], unique=False
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_index(
        "ix_payment_events_payment_id_created_at",
        "payment_events",
        ["payment_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "session_disconnections",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("error_cause", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("nas_ip", postgresql.INET(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["radius_sessions.id"],
            name=op.f("fk_session_disconnections_session_id_radius_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["hotspot_users.id"],
            name=op.f("fk_session_disconnections_user_id_hotspot_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_disconnections")),
    )
    op.create_index(
        op.f("ix_session_disconnections_session_id"),
        "session_disconnections",
        ["session_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_session_disconnections_user_id"),
        "session_disconnections",
        ["user_id"],
        unique=False,
    )
    # Every radacct insert/update gets the next sync_seq: the accounting sync's watermark.
    op.execute("CREATE SEQUENCE radacct_sync_seq")
    op.execute(
        """
        CREATE FUNCTION radacct_stamp_sync_seq() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.sync_seq := nextval('radacct_sync_seq');
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER radacct_sync_seq BEFORE INSERT OR UPDATE ON radacct "
        "FOR EACH ROW EXECUTE FUNCTION radacct_stamp_sync_seq()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER radacct_sync_seq ON radacct")
    op.execute("DROP FUNCTION radacct_stamp_sync_seq()")
    op.execute("DROP SEQUENCE radacct_sync_seq")
    op.drop_index(op.f("ix_session_disconnections_user_id"), table_name="session_disconnections")
    op.drop_index(op.f("ix_session_disconnections_session_id"), table_name="session_disconnections")
    op.drop_table("session_disconnections")
    op.drop_index("ix_payment_events_payment_id_created_at", table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index(op.f("ix_hotspot_credentials_user_id"), table_name="hotspot_credentials")
    op.drop_table("hotspot_credentials")
    op.drop_index("ix_data_usage_logs_user_id_recorded_at", table_name="data_usage_logs")
    op.drop_index(op.f("ix_data_usage_logs_session_id"), table_name="data_usage_logs")
    op.drop_table("data_usage_logs")
    op.drop_index(op.f("ix_vouchers_batch"), table_name="vouchers")
    op.drop_table("vouchers")
    op.drop_index(op.f("ix_sms_messages_user_id"), table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_provider_message_id"), table_name="sms_messages")
    op.drop_table("sms_messages")
    op.drop_index("ix_radius_sessions_user_id_status", table_name="radius_sessions")
    op.drop_table("radius_sessions")
    op.drop_index(op.f("ix_payments_user_id"), table_name="payments")
    op.drop_index("ix_payments_status_created_at", table_name="payments")
    op.drop_index("ix_payments_phone", table_name="payments")
    op.drop_table("payments")
    op.drop_index(
        "uq_hotspot_users_phone",
        table_name="hotspot_users",
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.drop_index("ix_hotspot_users_status_expires_at", table_name="hotspot_users")
    op.drop_table("hotspot_users")
    op.drop_table("sync_watermarks")
    op.drop_index("radusergroup_username", table_name="radusergroup")
    op.drop_table("radusergroup")
    op.drop_index("radreply_username", table_name="radreply")
    op.drop_table("radreply")
    op.drop_index("radpostauth_username_idx", table_name="radpostauth")
    op.drop_index("radpostauth_class_idx", table_name="radpostauth")
    op.drop_table("radpostauth")
    op.drop_index("radgroupreply_groupname", table_name="radgroupreply")
    op.drop_table("radgroupreply")
    op.drop_index("radgroupcheck_groupname", table_name="radgroupcheck")
    op.drop_table("radgroupcheck")
    op.drop_index("radcheck_username", table_name="radcheck")
    op.drop_table("radcheck")
    op.drop_index("radacct_sync_seq_idx", table_name="radacct")
    op.drop_index("radacct_start_user_idx", table_name="radacct")
    op.drop_index("radacct_calss_idx", table_name="radacct")
    op.drop_index(
        "radacct_bulk_close", table_name="radacct", postgresql_where=sa.text("acctstoptime IS NULL")
    )
    op.drop_index(
        "radacct_active_user_idx",
        table_name="radacct",
        postgresql_where=sa.text("acctstoptime IS NULL"),
    )
    op.drop_index(
        "radacct_active_session_idx",
        table_name="radacct",
        postgresql_where=sa.text("acctstoptime IS NULL"),
    )
    op.drop_table("radacct")
    op.drop_table("packages")
    op.drop_table("nasreload")
    op.drop_index("nas_nasname", table_name="nas")
    op.drop_table("nas")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("admin_tokens")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
