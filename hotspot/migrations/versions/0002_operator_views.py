"""Operator views (`report_*`) and the indexes that keep them fast on a year of data.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00.000000

Every `day` is a calendar day in UTC. The views are documented in docs/reports.md; the indexes
on tables are declared on the models too (hotspot/models.py), so the schema comparison holds.

Revenue, the funnel and usage read three rollups (materialized views) for the days that can no
longer change, and compute the days since their last refresh live, so they are right whenever
they were refreshed and fast when that was recently (`hotspot report refresh`, hourly or nightly).
Live, a month is a million radacct rows and a hundred thousand first-session lookups: seconds.

The indexes are built with CREATE INDEX CONCURRENTLY, outside the migration's transaction, so
upgrading a live database never blocks FreeRADIUS's accounting writes (a plain CREATE INDEX on
10 M radacct rows would hold them for a minute). A build that fails leaves an INVALID index of
that name: drop it and run the upgrade again.
"""

# ruff: noqa: S608 - the SQL here is assembled only from this file's constants

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, columns or expressions, INCLUDE columns, partial-index predicate
INDEXES: tuple[tuple[str, str, list[str], list[str], str | None], ...] = (
    # The first session of a user after a payment (revenue per NAS, the funnel's "online"):
    # one index probe per payment, index-only.
    (
        "radacct_username_start_idx",
        "radacct",
        ["username", "acctstarttime"],
        ["nasipaddress"],
        None,
    ),
    # Usage per user and day: an index-only scan of the days asked for, already grouped.
    (
        "radacct_start_day_idx",
        "radacct",
        ["((acctstarttime AT TIME ZONE 'UTC')::date)", "username"],
        ["acctstarttime", "acctsessiontime", "acctinputoctets", "acctoutputoctets"],
        None,
    ),
    # Revenue per day: the paid payments of the days asked for.
    (
        "ix_payments_paid_day",
        "payments",
        ["((paid_at AT TIME ZONE 'UTC')::date)"],
        [],
        "status = 'paid'",
    ),
    # The funnel per day: every payment initiated on the days asked for.
    ("ix_payments_created_day", "payments", ["((created_at AT TIME ZONE 'UTC')::date)"], [], None),
    # Failures are a few per cent of the rows; their indexes hold only them.
    (
        "ix_sms_messages_failures_day",
        "sms_messages",
        ["((created_at AT TIME ZONE 'UTC')::date)"],
        [],
        "status = 'failed' OR (status = 'claimed' AND error IS NOT NULL)",
    ),
    (
        "ix_session_disconnections_failed_day",
        "session_disconnections",
        ["((created_at AT TIME ZONE 'UTC')::date)"],
        [],
        "result <> 'ack'",
    ),
)

# NAS names by address (the stock `nas` table does not make nasname unique: the first one wins).
NAS_NAMES = "(SELECT DISTINCT ON (nasname) nasname, shortname FROM nas ORDER BY nasname, id)"

# RFC 5176 Error-Cause values, for people reading failed Disconnect-Requests.
ERROR_CAUSES = {
    201: "Residual Session Context Removed",
    202: "Invalid EAP Packet (Ignored)",
    401: "Unsupported Attribute",
    402: "Missing Attribute",
    403: "NAS Identification Mismatch",
    404: "Invalid Request",
    405: "Unsupported Service",
    406: "Unsupported Extension",
    407: "Invalid Attribute Value",
    501: "Administratively Prohibited",
    502: "Request Not Routable (Proxy)",
    503: "Session Context Not Found",
    504: "Session Context Not Removable",
    505: "Other Proxy Processing Error",
    506: "Resources Unavailable",
    507: "Request Initiated",
    508: "Multiple Session Selection Unsupported",
}
ERROR_CAUSE_NAME = (
    "CASE d.error_cause "
    + " ".join(f"WHEN {code} THEN '{name}'" for code, name in ERROR_CAUSES.items())
    + " END"
)

# A day is closed once every payment of it has had its 24 hours to get online: the rollups hold
# the closed days (as of their last refresh), the views add the days since, computed live.
CLOSED_BEFORE = (
    "(SELECT ((now() AT TIME ZONE 'UTC') - interval '1 day 15 minutes')::date AS closed_before) c"
)

# name, query: plain views, in creation order
VIEWS: tuple[tuple[str, str], ...] = (
    (
        "report_active_sessions",
        f"""
        SELECT r.radacctid,
               r.acctuniqueid,
               r.acctsessionid,
               r.username,
               u.id AS user_id,
               u.phone,
               u.package_id,
               pk.name AS package,
               r.nasipaddress AS nas_ip,
               n.shortname AS nas,
               r.framedipaddress AS ip,
               r.callingstationid AS mac,
               r.acctstarttime AS started_at,
               r.acctupdatetime AS last_update_at,
               date_trunc('second', now() - r.acctstarttime) AS duration,
               floor(extract(epoch FROM now() - r.acctstarttime))::bigint AS duration_seconds,
               COALESCE(r.acctinputoctets, 0) AS input_bytes,
               COALESCE(r.acctoutputoctets, 0) AS output_bytes,
               COALESCE(r.acctinputoctets, 0) + COALESCE(r.acctoutputoctets, 0) AS total_bytes
          FROM radacct r
          LEFT JOIN hotspot_users u ON u.username = r.username
          LEFT JOIN packages pk ON pk.id = u.package_id
          LEFT JOIN {NAS_NAMES} n ON n.nasname = host(r.nasipaddress)
         WHERE r.acctstoptime IS NULL
        """,
    ),
    (
        # One row per payment with the first session its user started after it was paid: from
        # 5 minutes before paid_at (NAS clocks drift) to 24 hours after. That session's NAS is
        # the payment's NAS; without one the payment has no NAS and did not get online.
        # Unmatched C2B money has no user, so no session (and is not revenue).
        "report_payments",
        """
        SELECT p.id AS payment_id,
               (p.created_at AT TIME ZONE 'UTC')::date AS created_day,
               (p.paid_at AT TIME ZONE 'UTC')::date AS paid_day,
               p.created_at,
               p.paid_at,
               p.method,
               p.status,
               p.package_id,
               p.user_id,
               u.username,
               p.phone,
               p.mac,
               p.amount,
               CASE WHEN p.status = 'paid' THEN COALESCE(p.amount_paid, p.amount) END
                   AS amount_paid,
               s.nasipaddress AS nas_ip,
               s.acctstarttime AS first_session_at
          FROM payments p
          LEFT JOIN hotspot_users u ON u.id = p.user_id
          LEFT JOIN LATERAL (
                SELECT r.nasipaddress, r.acctstarttime
                  FROM radacct r
                 WHERE p.status = 'paid'
                   AND r.username = u.username
                   AND r.acctstarttime >= p.paid_at - interval '5 minutes'
                   AND r.acctstarttime < p.paid_at + interval '24 hours'
                 ORDER BY r.acctstarttime
                 LIMIT 1
          ) s ON true
        """,
    ),
)

# name, query, unique index columns: the rollups of closed days (REFRESH … CONCURRENTLY needs
# the unique index; it also serves the day ranges).
ROLLUPS: tuple[tuple[str, str, str], ...] = (
    (
        "report_revenue_closed",
        f"""
        SELECT rp.paid_day AS day,
               rp.package_id,
               rp.nas_ip,
               count(*) AS payments,
               sum(rp.amount_paid) AS amount,
               c.closed_before
          FROM report_payments rp, {CLOSED_BEFORE}
         WHERE rp.status = 'paid' AND rp.paid_day < c.closed_before
         GROUP BY rp.paid_day, rp.package_id, rp.nas_ip, c.closed_before
        """,
        "day, package_id, nas_ip",
    ),
    (
        "report_funnel_closed",
        f"""
        SELECT rp.created_day AS day,
               rp.method,
               count(*) AS initiated,
               count(*) FILTER (WHERE rp.status = 'paid') AS paid,
               count(*) FILTER (WHERE rp.first_session_at IS NOT NULL) AS online,
               count(*) FILTER (WHERE rp.status = 'failed') AS failed,
               count(*) FILTER (WHERE rp.status = 'expired') AS expired,
               count(*) FILTER (WHERE rp.status = 'pending') AS pending,
               count(*) FILTER (WHERE rp.status = 'unmatched') AS unmatched,
               COALESCE(sum(rp.amount_paid), 0) AS amount_paid,
               c.closed_before
          FROM report_payments rp, {CLOSED_BEFORE}
         WHERE rp.created_day < c.closed_before
         GROUP BY rp.created_day, rp.method, c.closed_before
        """,
        "day, method",
    ),
    (
        # Sessions count on the day (UTC) they started, with their totals as of the refresh.
        "report_usage_closed",
        f"""
        SELECT (r.acctstarttime AT TIME ZONE 'UTC')::date AS day,
               r.username,
               count(*) AS sessions,
               COALESCE(sum(r.acctsessiontime), 0)::bigint AS session_seconds,
               COALESCE(sum(r.acctinputoctets), 0)::bigint AS input_bytes,
               COALESCE(sum(r.acctoutputoctets), 0)::bigint AS output_bytes,
               c.closed_before
          FROM radacct r, {CLOSED_BEFORE}
         WHERE (r.acctstarttime AT TIME ZONE 'UTC')::date < c.closed_before
         GROUP BY (r.acctstarttime AT TIME ZONE 'UTC')::date, r.username, c.closed_before
        """,
        "day, username",
    ),
)


def since_closed(rollup: str) -> str:
    """The first day a rollup does not hold (every day when it holds none)."""
    return f"COALESCE((SELECT closed_before FROM {rollup} LIMIT 1), '-infinity'::date)"


# name, query: the views operators read, over the rollups and the live rows since
REPORTS: tuple[tuple[str, str], ...] = (
    (
        "report_revenue_daily",
        f"""
        SELECT t.day,
               t.package_id,
               pk.name AS package,
               t.nas_ip,
               n.shortname AS nas,
               t.payments,
               t.amount,
               pk.currency
          FROM (
                SELECT day, package_id, nas_ip, payments, amount
                  FROM report_revenue_closed
                 UNION ALL
                SELECT paid_day, package_id, nas_ip, count(*), sum(amount_paid)
                  FROM report_payments
                 WHERE status = 'paid' AND paid_day >= {since_closed("report_revenue_closed")}
                 GROUP BY paid_day, package_id, nas_ip
          ) t
          LEFT JOIN packages pk ON pk.id = t.package_id
          LEFT JOIN {NAS_NAMES} n ON n.nasname = host(t.nas_ip)
        """,
    ),
    (
        "report_payment_funnel",
        f"""
        SELECT t.day,
               t.method,
               t.initiated,
               t.paid,
               t.online,
               t.failed,
               t.expired,
               t.pending,
               t.unmatched,
               round(t.paid::numeric / t.initiated, 4) AS paid_rate,
               round(t.online::numeric / NULLIF(t.paid, 0), 4) AS online_rate,
               t.amount_paid
          FROM (
                SELECT day, method, initiated, paid, online, failed, expired, pending, unmatched,
                       amount_paid
                  FROM report_funnel_closed
                 UNION ALL
                SELECT created_day,
                       method,
                       count(*),
                       count(*) FILTER (WHERE status = 'paid'),
                       count(*) FILTER (WHERE first_session_at IS NOT NULL),
                       count(*) FILTER (WHERE status = 'failed'),
                       count(*) FILTER (WHERE status = 'expired'),
                       count(*) FILTER (WHERE status = 'pending'),
                       count(*) FILTER (WHERE status = 'unmatched'),
                       COALESCE(sum(amount_paid), 0)
                  FROM report_payments
                 WHERE created_day >= {since_closed("report_funnel_closed")}
                 GROUP BY created_day, method
          ) t
        """,
    ),
    (
        "report_usage_per_user",
        f"""
        SELECT t.day,
               t.username,
               u.id AS user_id,
               u.phone,
               pk.name AS package,
               t.sessions,
               t.session_seconds,
               t.input_bytes,
               t.output_bytes,
               t.input_bytes + t.output_bytes AS total_bytes
          FROM (
                SELECT day, username, sessions, session_seconds, input_bytes, output_bytes
                  FROM report_usage_closed
                 UNION ALL
                SELECT (r.acctstarttime AT TIME ZONE 'UTC')::date,
                       r.username,
                       count(*),
                       COALESCE(sum(r.acctsessiontime), 0)::bigint,
                       COALESCE(sum(r.acctinputoctets), 0)::bigint,
                       COALESCE(sum(r.acctoutputoctets), 0)::bigint
                  FROM radacct r
                 WHERE (r.acctstarttime AT TIME ZONE 'UTC')::date
                       >= {since_closed("report_usage_closed")}
                 GROUP BY (r.acctstarttime AT TIME ZONE 'UTC')::date, r.username
          ) t
          LEFT JOIN hotspot_users u ON u.username = t.username
          LEFT JOIN packages pk ON pk.id = u.package_id
        """,
    ),
    (
        "report_sms_failures",
        """
        SELECT m.id,
               (m.created_at AT TIME ZONE 'UTC')::date AS day,
               m.created_at,
               CASE
                   WHEN m.status = 'failed' THEN 'failed'
                   WHEN m.error LIKE 'outcome unknown:%' THEN 'outcome_unknown'
                   ELSE 'retrying'
               END AS state,
               m.purpose,
               m.phone,
               m.user_id,
               u.username,
               m.provider_status_code,
               m.provider_message_id,
               m.error,
               m.sent_at
          FROM sms_messages m
          LEFT JOIN hotspot_users u ON u.id = m.user_id
         WHERE m.status = 'failed' OR (m.status = 'claimed' AND m.error IS NOT NULL)
        """,
    ),
    (
        "report_failed_disconnects",
        f"""
        SELECT d.id,
               (d.created_at AT TIME ZONE 'UTC')::date AS day,
               d.created_at,
               CASE
                   WHEN d.result = 'failed' THEN 'gave_up'
                   WHEN d.result = 'nak' AND d.error_cause = 503 THEN 'session_gone'
                   ELSE 'retried'
               END AS outcome,
               d.reason,
               d.result,
               d.attempt,
               d.error_cause,
               {ERROR_CAUSE_NAME} AS error_cause_name,
               d.user_id,
               u.username,
               d.session_id,
               d.nas_ip,
               n.shortname AS nas,
               d.detail
          FROM session_disconnections d
          LEFT JOIN hotspot_users u ON u.id = d.user_id
          LEFT JOIN {NAS_NAMES} n ON n.nasname = host(d.nas_ip)
         WHERE d.result <> 'ack'
        """,
    ),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, columns, include, where in INDEXES:
            op.create_index(
                name,
                table,
                [sa.text(c) if c.startswith("(") else c for c in columns],
                unique=False,
                postgresql_include=include,
                postgresql_where=sa.text(where) if where else None,
                postgresql_concurrently=True,
            )
    for name, query in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {query}")
    for name, query, key in ROLLUPS:
        op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX {name}_key ON {name} ({key})")
    for name, query in REPORTS:
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name, _ in reversed(REPORTS):
        op.execute(f"DROP VIEW {name}")
    for name, *_ in reversed(ROLLUPS):
        op.execute(f"DROP MATERIALIZED VIEW {name}")
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    for name, table, *_ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
