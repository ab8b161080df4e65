"""Usage-time and daily-data quotas.

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-13 09:00:00.000000

- `packages.time_quota_seconds`: hours of use a purchase gives (spread over the validity), and
  `packages.daily_data_bytes`: data a day, back at local midnight; both optional.
- `hotspot_users.usage_since`: when the current purchase's usage began (NULL: since the account
  was made); `hotspot_renew_user` (hotspot/access/renew_user.sql, loaded again) sets it.
- `hotspot_time_left`, `hotspot_data_left_today`, `hotspot_day_start`
  (hotspot/access/quotas.sql): what is left, for FreeRADIUS and the accounting sync alike.

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
    op.execute(files("hotspot.access").joinpath("quotas.sql").read_text())
    op.execute(files("hotspot.access").joinpath("renew_user.sql").read_text())


def downgrade() -> None:
    op.execute(RENEW_USER_0009)
    op.execute("DROP FUNCTION hotspot_data_left_today(text, text, timestamptz)")
    op.execute("DROP FUNCTION hotspot_time_left(text, timestamptz)")
    op.execute("DROP FUNCTION hotspot_day_start(timestamptz, text)")
    op.drop_column("hotspot_users", "usage_since")
    op.drop_constraint("ck_packages_daily_data_positive", "packages")
    op.drop_constraint("ck_packages_time_quota_positive", "packages")
    op.drop_column("packages", "daily_data_bytes")
    op.drop_column("packages", "time_quota_seconds")
