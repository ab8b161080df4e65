"""Usage-time and daily-data quotas, and returning devices.

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-13 09:00:00.000000

- `packages.time_quota_seconds`: hours of use a purchase gives (spread over the validity), and
  `packages.daily_data_bytes`: data a day, back at local midnight; both optional.
- `hotspot_users.usage_since`: when the current purchase's usage began (NULL: since the account
  was made); `hotspot_renew_user` (hotspot/access/renew_user.sql, loaded again) sets it.
- `hotspot_time_left`, `hotspot_data_left_today`, `hotspot_day_start`
  (hotspot/access/quotas.sql): what is left, for FreeRADIUS and the accounting sync alike.
- `hotspot_devices`: the account each device (MAC) last logged in to, kept by the accounting
  sync, and `hotspot_device_account` (hotspot/access/devices.sql) for FreeRADIUS's MAC logins.

Downgrading drops them and restores the renewal as 0009 loaded it.
"""

from collections.abc import Sequence
from importlib.resources import files

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# hotspot_renew_user as migration 0009 loaded it, restored by the downgrade.
RENEW_USER_0009 = """
-- A renewal, the one definition every writer runs (the general path's extend_user and the
-- one-call settlement of a paid callback): a valid user gets the time added to its expiry, a
-- lapsed one restarts from now; the package's group, a fresh data allowance and a fresh password
-- (sessions online stay; a password sniffed or handed on before stops at the next purchase). A
-- capped or expired account is active again; one an operator disabled stays blocked. Returns the
-- new end of validity, to the second. The caller holds the user's row lock. Loaded by migration
-- 0010; change it only with a migration that loads it again.
CREATE OR REPLACE FUNCTION hotspot_renew_user(
    p_user_id bigint, p_package_id int, p_seconds int, p_password text, p_now timestamptz
) RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    u hotspot_users%ROWTYPE;
    pkg packages%ROWTYPE;
    ends timestamptz;
BEGIN
    SELECT * INTO STRICT u FROM hotspot_users WHERE id = p_user_id;
    SELECT * INTO STRICT pkg FROM packages WHERE id = p_package_id;
    ends := date_trunc('second',
        CASE WHEN u.status <> 'expired' AND u.expires_at > p_now THEN u.expires_at ELSE p_now END
        + make_interval(secs => p_seconds));
    UPDATE hotspot_users
       SET expires_at = ends, package_id = pkg.id, data_used_bytes = 0, updated_at = p_now,
           status = CASE WHEN status IN ('expired', 'capped') THEN 'active'::user_status
                         ELSE status END
     WHERE id = u.id;
    DELETE FROM radcheck WHERE username = u.username;
    DELETE FROM radusergroup WHERE username = u.username;
    INSERT INTO radcheck (username, attribute, op, value)
    SELECT u.username, c.attribute, ':=', c.value
      FROM hotspot_radius_checks(p_password, ends, pkg.devices) c;
    INSERT INTO radusergroup (username, groupname, priority) VALUES (u.username, pkg.group_name, 1);
    IF u.status = 'disabled' THEN
        INSERT INTO radcheck (username, attribute, op, value)
        VALUES (u.username, 'Auth-Type', ':=', 'Reject');
    END IF;
    RETURN ends;
END
$$;
"""


def upgrade() -> None:
    op.add_column("packages", sa.Column("time_quota_seconds", sa.Integer(), nullable=True))
    op.add_column("packages", sa.Column("daily_data_bytes", sa.BigInteger(), nullable=True))
    op.create_check_constraint(
        op.f("ck_packages_time_quota_positive"),
        "packages",
        "time_quota_seconds IS NULL OR time_quota_seconds > 0",
    )
    op.create_check_constraint(
        op.f("ck_packages_daily_data_positive"),
        "packages",
        "daily_data_bytes IS NULL OR daily_data_bytes > 0",
    )
    op.add_column(
        "hotspot_users", sa.Column("usage_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "hotspot_devices",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("mac", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "last_login_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["hotspot_users.id"],
            name=op.f("fk_hotspot_devices_user_id_hotspot_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_devices")),
        sa.UniqueConstraint("mac", name=op.f("uq_hotspot_devices_mac")),
    )
    op.create_index(op.f("ix_hotspot_devices_user_id"), "hotspot_devices", ["user_id"])
    op.execute(files("hotspot.access").joinpath("quotas.sql").read_text())
    op.execute(files("hotspot.access").joinpath("devices.sql").read_text())
    op.execute(files("hotspot.access").joinpath("renew_user.sql").read_text())


def downgrade() -> None:
    op.execute(RENEW_USER_0009)
    op.execute("DROP FUNCTION hotspot_device_account(text)")
    op.drop_table("hotspot_devices")
    op.execute("DROP FUNCTION hotspot_data_left_today(text, text, timestamptz)")
    op.execute("DROP FUNCTION hotspot_time_left(text, timestamptz)")
    op.execute("DROP FUNCTION hotspot_day_start(timestamptz, text)")
    op.drop_column("hotspot_users", "usage_since")
    op.drop_constraint("ck_packages_daily_data_positive", "packages")
    op.drop_constraint("ck_packages_time_quota_positive", "packages")
    op.drop_column("packages", "daily_data_bytes")
    op.drop_column("packages", "time_quota_seconds")
