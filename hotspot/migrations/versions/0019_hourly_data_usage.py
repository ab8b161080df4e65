"""data_usage_logs: one row per user per hour, partitioned by month.

Revision ID: 0019
Revises: 0018
Create Date: 2027-02-27 09:00:00.000000

The accounting sync wrote a row per changed session per sync: at 10 k customers online and a
sync a minute, about 29 M rows a day, read only to count a user's bytes since local midnight
(daily-data packages, hotspot/access/quotas.sql). It now adds each sync's bytes to the user's row
of the hour (UTC) it ran in, so a user online all day makes 24 rows. The hour's start is the row's
`recorded_at`, so quotas.sql reads it unchanged: a day that starts on a whole hour (every zone
of East Africa) counts exactly as before; in a zone half an hour off UTC, the hour that holds
local midnight counts in the day it began in. The months are partitions, dropped past their
retention (HOTSPOT_RETENTION_MONTHS) by `hotspot db maintain`.

The existing rows are summed into their hours. The downgrade gives each hour back as one row of
the user's latest session that started before the hour ended (the per-session split is gone).
"""

from collections.abc import Sequence

from alembic import op

from hotspot.migrations.monthly import make_partitions, oldest

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def set_aside() -> None:
    op.execute("ALTER TABLE data_usage_logs RENAME TO data_usage_logs_old")
    op.execute("ALTER INDEX pk_data_usage_logs RENAME TO pk_data_usage_logs_old")


def upgrade() -> None:
    set_aside()
    op.execute(
        """
        CREATE TABLE data_usage_logs (
            user_id bigint NOT NULL,
            recorded_at timestamptz NOT NULL,
            input_octets_delta bigint NOT NULL,
            output_octets_delta bigint NOT NULL,
            CONSTRAINT pk_data_usage_logs PRIMARY KEY (user_id, recorded_at),
            CONSTRAINT fk_data_usage_logs_user_id_hotspot_users
                FOREIGN KEY (user_id) REFERENCES hotspot_users (id)
        ) PARTITION BY RANGE (recorded_at)
        """
    )
    make_partitions("data_usage_logs", oldest("data_usage_logs_old", "recorded_at"))
    op.execute(
        """
        INSERT INTO data_usage_logs
        SELECT user_id, date_trunc('hour', recorded_at, 'UTC'),
               sum(input_octets_delta), sum(output_octets_delta)
          FROM data_usage_logs_old
         GROUP BY 1, 2
        """
    )
    op.execute("DROP TABLE data_usage_logs_old")


def downgrade() -> None:
    set_aside()
    op.execute(
        """
        CREATE TABLE data_usage_logs (
            id bigserial NOT NULL,
            session_id bigint NOT NULL,
            user_id bigint NOT NULL,
            input_octets_delta bigint NOT NULL,
            output_octets_delta bigint NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_data_usage_logs PRIMARY KEY (id),
            CONSTRAINT fk_data_usage_logs_session_id_radius_sessions
                FOREIGN KEY (session_id) REFERENCES radius_sessions (id),
            CONSTRAINT fk_data_usage_logs_user_id_hotspot_users
                FOREIGN KEY (user_id) REFERENCES hotspot_users (id)
        )
        """
    )
    op.execute("CREATE INDEX ix_data_usage_logs_session_id ON data_usage_logs (session_id)")
    op.execute(
        "CREATE INDEX ix_data_usage_logs_user_id_recorded_at "
        "ON data_usage_logs (user_id, recorded_at)"
    )
    op.execute(
        """
        INSERT INTO data_usage_logs
            (session_id, user_id, input_octets_delta, output_octets_delta, recorded_at)
        SELECT s.id, o.user_id, o.input_octets_delta, o.output_octets_delta, o.recorded_at
          FROM data_usage_logs_old o
          CROSS JOIN LATERAL (
                SELECT id FROM radius_sessions
                 WHERE user_id = o.user_id
                   AND COALESCE(started_at, created_at) < o.recorded_at + interval '1 hour'
                 ORDER BY COALESCE(started_at, created_at) DESC LIMIT 1
          ) s
         ORDER BY o.recorded_at, o.user_id
        """
    )
    op.execute("DROP TABLE data_usage_logs_old")
