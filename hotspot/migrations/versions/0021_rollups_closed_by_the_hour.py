"""The report rollups hold every row before the hour of their refresh, not only closed days.

Revision ID: 0021
Revises: 0020
Create Date: 2027-03-06 09:00:00.000000

Since 0002 the rollups held the days before yesterday (a day "closed" once its payments had 24
hours to get online) and the views computed yesterday and today live: every payment of those
two days with a lookup of its first session, every session of them read from radacct. That live
part grows with the daily volume: on a year of 100 M sessions (bench/year) it took 0.7-1.8 s.

Now a refresh (hourly) rolls up every row from before the start of its hour (UTC), grouped by
day as before, and the views add only the rows since: at most about two hours of payments and
sessions. A day's row is the rollup's part plus the live part. What a row's last hour before a
refresh says is as of that refresh, until the next one: a payment's first session (its NAS,
whether it got online) or its status, a session's totals. Before, that was true of closed days
only; the columns and their meaning are the same. `closed_before` becomes `closed_at`, the
instant the rollups hold everything before. Usage leaves out sessions without a user name
(FreeRADIUS always sends one): nobody's usage, and a key its merge could not match.
"""

# ruff: noqa: S608 - the SQL here is assembled only from this file's constants

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSED_AT = "(SELECT date_trunc('hour', now(), 'UTC') AS closed_at) c"

ROLLUPS: tuple[tuple[str, str, str], ...] = (
    (
        "report_revenue_closed",
        f"""
        SELECT rp.paid_day AS day,
               rp.package_id,
               rp.nas_ip,
               count(*) AS payments,
               sum(rp.amount_paid) AS amount,
               c.closed_at
          FROM report_payments rp, {CLOSED_AT}
         WHERE rp.status = 'paid' AND rp.paid_at < c.closed_at
         GROUP BY rp.paid_day, rp.package_id, rp.nas_ip, c.closed_at
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
               c.closed_at
          FROM report_payments rp, {CLOSED_AT}
         WHERE rp.created_at < c.closed_at
         GROUP BY rp.created_day, rp.method, c.closed_at
        """,
        "day, method",
    ),
    (
        # Sessions count on the day (UTC) they started, with their totals as of the refresh;
        # a session without a user name (FreeRADIUS always sends one) is nobody's usage.
        "report_usage_closed",
        f"""
        SELECT (r.acctstarttime AT TIME ZONE 'UTC')::date AS day,
               r.username,
               count(*) AS sessions,
               COALESCE(sum(r.acctsessiontime), 0)::bigint AS session_seconds,
               COALESCE(sum(r.acctinputoctets), 0)::bigint AS input_bytes,
               COALESCE(sum(r.acctoutputoctets), 0)::bigint AS output_bytes,
               c.closed_at
          FROM radacct r, {CLOSED_AT}
         WHERE r.acctstarttime < c.closed_at AND r.username IS NOT NULL
         GROUP BY (r.acctstarttime AT TIME ZONE 'UTC')::date, r.username, c.closed_at
        """,
        "day, username",
    ),
)


def closed_at(rollup: str) -> str:
    """The instant the rollup holds every row before (-infinity when it holds none)."""
    return f"COALESCE((SELECT closed_at FROM {rollup} LIMIT 1), '-infinity'::timestamptz)"


def closed_day(rollup: str) -> str:
    """closed_at's UTC day: the one day that can have rows both in the rollup and live."""
    return f"(({closed_at(rollup)}) AT TIME ZONE 'UTC')::date"


def since(rollup: str, column: str, day: str) -> str:
    """The live rows of a rollup: `column` (a timestamptz) from its closed_at on (every row when
    it holds none). `day` is the column's UTC day, indexed: a range on it with both ends (the
    lower one unknown when planned) makes the planner read that index from the right day, not
    the whole table (see 0004)."""
    return (
        f"{day} >= {closed_day(rollup)} AND {day} <= 'infinity'::date "
        f"AND {column} >= {closed_at(rollup)}"
    )


USAGE_CLOSED_DAY = closed_day("report_usage_closed")


NAS_NAMES = "(SELECT DISTINCT ON (nasname) nasname, shortname FROM nas ORDER BY nasname, id)"

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
                SELECT day, package_id, nas_ip, sum(payments)::bigint AS payments,
                       sum(amount) AS amount
                  FROM (
                        SELECT day, package_id, nas_ip, payments, amount
                          FROM report_revenue_closed
                         UNION ALL
                        SELECT paid_day, package_id, nas_ip, count(*), sum(amount_paid)
                          FROM report_payments
                         WHERE status = 'paid'
                           AND {since("report_revenue_closed", "paid_at", "paid_day")}
                         GROUP BY paid_day, package_id, nas_ip
                  ) parts
                 GROUP BY day, package_id, nas_ip
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
                SELECT day, method, sum(initiated)::bigint AS initiated, sum(paid)::bigint AS paid,
                       sum(online)::bigint AS online, sum(failed)::bigint AS failed,
                       sum(expired)::bigint AS expired, sum(pending)::bigint AS pending,
                       sum(unmatched)::bigint AS unmatched, sum(amount_paid) AS amount_paid
                  FROM (
                        SELECT day, method, initiated, paid, online, failed, expired, pending,
                               unmatched, amount_paid
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
                         WHERE {since("report_funnel_closed", "created_at", "created_day")}
                         GROUP BY created_day, method
                  ) parts
                 GROUP BY day, method
          ) t
        """,
    ),
    (
        # Only the day of closed_at can have rows on both sides: the days before come from the
        # rollup as they are, that day's rollup rows are merged with the live rows by key.
        # (Summing both sides per day and user would hold every rollup row asked for, 300 k
        # for 30 days of 10 k users, in one aggregate; it spilled to disk.) The ranges have
        # both ends so that, with the lower one unknown when planned, an index is read.
        "report_usage_per_user",
        f"""
        WITH live AS (
                SELECT (r.acctstarttime AT TIME ZONE 'UTC')::date AS day,
                       r.username,
                       count(*) AS sessions,
                       COALESCE(sum(r.acctsessiontime), 0)::bigint AS session_seconds,
                       COALESCE(sum(r.acctinputoctets), 0)::bigint AS input_bytes,
                       COALESCE(sum(r.acctoutputoctets), 0)::bigint AS output_bytes
                  FROM radacct r
                 WHERE r.acctstarttime >= {closed_at("report_usage_closed")}
                   AND r.acctstarttime <= 'infinity'::timestamptz
                   AND r.username IS NOT NULL
                 GROUP BY (r.acctstarttime AT TIME ZONE 'UTC')::date, r.username
        ), last_day AS (
                SELECT * FROM report_usage_closed
                 WHERE day >= {USAGE_CLOSED_DAY} AND day <= 'infinity'::date
        ), t AS (
                SELECT day, username, sessions, session_seconds, input_bytes, output_bytes
                  FROM report_usage_closed
                 WHERE day < {USAGE_CLOSED_DAY}
                 UNION ALL
                SELECT COALESCE(l.day, o.day),
                       COALESCE(l.username, o.username),
                       COALESCE(l.sessions, 0) + COALESCE(o.sessions, 0),
                       COALESCE(l.session_seconds, 0) + COALESCE(o.session_seconds, 0),
                       COALESCE(l.input_bytes, 0) + COALESCE(o.input_bytes, 0),
                       COALESCE(l.output_bytes, 0) + COALESCE(o.output_bytes, 0)
                  FROM live l
                  FULL JOIN last_day o ON o.day = l.day AND o.username = l.username
        )
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
          FROM t
          LEFT JOIN hotspot_users u ON u.username = t.username
          LEFT JOIN packages pk ON pk.id = u.package_id
        """,
    ),
)


# Per user over a range of days: the rollup's days before closed_at's day summed straight from
# the rollup (a table: the planner knows its users and hashes them; over the view's UNION it
# would sort every row), the others read from report_usage_per_user. An inlined SQL function,
# so the days are constants when planned. Its days come out as report_usage_per_user's would
# (tests/integration/test_reports.py holds both to it).
USAGE_TOTALS = f"""
CREATE FUNCTION report_usage_totals(first_day date, last_day date)
RETURNS TABLE (username text, user_id bigint, phone text, package text, days_online bigint,
               sessions bigint, session_seconds bigint, input_bytes bigint,
               output_bytes bigint, total_bytes bigint)
LANGUAGE sql STABLE AS $$
    WITH parts AS (
        SELECT c.username, count(*) AS days_online, sum(c.sessions) AS sessions,
               sum(c.session_seconds) AS session_seconds, sum(c.input_bytes) AS input_bytes,
               sum(c.output_bytes) AS output_bytes
          FROM report_usage_closed c
         WHERE c.day BETWEEN first_day AND last_day AND c.day < {USAGE_CLOSED_DAY}
         GROUP BY c.username
         UNION ALL
        SELECT v.username, count(*), sum(v.sessions), sum(v.session_seconds),
               sum(v.input_bytes), sum(v.output_bytes)
          FROM report_usage_per_user v
         WHERE v.day BETWEEN first_day AND last_day AND v.day >= {USAGE_CLOSED_DAY}
         GROUP BY v.username
    )
    SELECT p.username, u.id, u.phone, pk.name, sum(p.days_online)::bigint,
           sum(p.sessions)::bigint, sum(p.session_seconds)::bigint,
           sum(p.input_bytes)::bigint, sum(p.output_bytes)::bigint,
           (sum(p.input_bytes) + sum(p.output_bytes))::bigint
      FROM parts p
      LEFT JOIN hotspot_users u ON u.username = p.username
      LEFT JOIN packages pk ON pk.id = u.package_id
     GROUP BY p.username, u.id, u.phone, pk.name
$$
"""


def replace(rollups: Sequence[tuple[str, str, str]], reports: Sequence[tuple[str, str]]) -> None:
    """The three report views and their rollups dropped and made again from these queries, the
    rollups computed as they are made (on a year of data, minutes: they read radacct and
    payments whole, as a refresh does, without blocking their writers)."""
    for name, _ in REPORTS:
        op.execute(f"DROP VIEW {name}")
    for name, _, _ in ROLLUPS:
        op.execute(f"DROP MATERIALIZED VIEW {name}")
    for name, query, key in rollups:
        op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX {name}_key ON {name} ({key})")
    for name, query in reports:
        op.execute(f"CREATE VIEW {name} AS {query}")


def upgrade() -> None:
    replace(ROLLUPS, REPORTS)
    op.execute(USAGE_TOTALS)


def downgrade() -> None:
    """0002's rollups and views, with 0004's usage view."""
    op.execute("DROP FUNCTION report_usage_totals(date, date)")
    before = importlib.import_module("hotspot.migrations.versions.0002_operator_views")
    usage = importlib.import_module("hotspot.migrations.versions.0004_radacct_drop_usage_day_index")
    reports = [
        (name, usage.usage_per_user(usage.LIVE_ROWS) if name == "report_usage_per_user" else query)
        for name, query in before.REPORTS
        if name in {n for n, _ in REPORTS}
    ]
    replace(before.ROLLUPS, reports)
