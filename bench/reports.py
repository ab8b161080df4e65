"""bench/reports: the operator views (`report_*`) on a year of data.

Starts a private PostgreSQL (no Redis, no FreeRADIUS), migrates it, and generates twelve months
ending now: a few thousand users on five NASes, 1 M payments (growing over the year, 92 % STK and
8 % C2B; 80 % of STK pushes paid) and 10 M radacct sessions (ten per payment, starting after it
within the package's validity; 93 % of paid payments get online within minutes), one credentials
SMS per paid payment (2.5 % failed) and 300 k Disconnect-Requests (4 % not ACKed). Rows are made
by INSERT … SELECT generate_series on two connections, with the secondary indexes dropped and
rebuilt afterwards; then everything is VACUUM ANALYZEd (what autovacuum does in production) and the
rollups are refreshed (`hotspot report refresh`, what the hourly job does).

It then times each view's typical query (best of 3) against the 500 ms target, and, for the three
views that read rollups, the same question computed entirely live (as before the first refresh):

    .venv/bin/python -m bench.reports [--scale 1.0] [--keep]

`--scale 0.1` makes a tenth of the rows (a quick run); `--keep` leaves PostgreSQL running for a
look with psql until Ctrl-C (or `kill PID`). PostgreSQL runs with its default settings except
fsync (off: the load is faster; the timed queries only read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import time
from dataclasses import dataclass
from types import FrameType

import psycopg

from bench import private_stack
from bench.reports_data import (
    NASES,
    PAYMENTS,
    SPAN_DAYS,
    USERS,
    Connection,
    Plan,
    load,
    scalar,
)
from hotspot.adapters import db
from hotspot.core.settings import Settings
from hotspot.reports import queries

TARGET_MS = 500.0


@dataclass(frozen=True)
class Query:
    view: str
    what: str
    sql: str  # %(month)s: the first of the last 30 days (UTC); %(week)s: of the last 7; %(today)s
    target: bool = True


TYPICAL_QUERIES = (
    Query(
        "report_active_sessions",
        "every open session, newest first",
        "SELECT * FROM report_active_sessions ORDER BY started_at DESC",
    ),
    Query(
        "report_active_sessions",
        "open sessions per NAS (dashboard)",
        "SELECT nas, count(*) FROM report_active_sessions GROUP BY nas",
    ),
    Query(
        "report_revenue_daily",
        "30 days by day, package, NAS",
        "SELECT * FROM report_revenue_daily WHERE day >= %(month)s ORDER BY day, package, nas",
    ),
    Query(
        "report_revenue_daily",
        "30 days by day and package (dashb.)",
        "SELECT day, package, sum(amount) FROM report_revenue_daily WHERE day >= %(month)s "
        "GROUP BY day, package ORDER BY day, package",
    ),
    Query(
        "report_payment_funnel",
        "30 days",
        "SELECT * FROM report_payment_funnel WHERE day >= %(month)s ORDER BY day, method",
    ),
    Query(
        "report_usage_totals",
        "top 20 users over 30 days",
        "SELECT * FROM report_usage_totals(%(month)s, %(today)s) "
        "ORDER BY total_bytes DESC, username LIMIT 20",
    ),
    Query(  # the same from the per-day view: every day's row sorted by user
        "report_usage_per_user",
        "top 20 users over 30 days, summed",
        "SELECT username, phone, sum(total_bytes) AS bytes, sum(sessions) AS sessions "
        "FROM report_usage_per_user WHERE day >= %(month)s GROUP BY username, phone "
        "ORDER BY bytes DESC LIMIT 20",
        target=False,
    ),
    Query(
        "report_usage_per_user",
        "7 days, every user and day",
        "SELECT * FROM report_usage_per_user WHERE day >= %(week)s ORDER BY day, username",
    ),
    Query(
        "report_sms_failures",
        "30 days",
        "SELECT * FROM report_sms_failures WHERE day >= %(month)s ORDER BY created_at DESC",
    ),
    Query(
        "report_failed_disconnects",
        "30 days",
        "SELECT * FROM report_failed_disconnects WHERE day >= %(month)s ORDER BY created_at DESC",
    ),
)

# What the three rolled-up views cost when their rollups were never refreshed (all live).
LIVE_QUERIES = (
    Query(
        "(revenue, all live)",
        "30 days by day, package, NAS",
        "SELECT paid_day, package_id, nas_ip, count(*), sum(amount_paid) FROM report_payments "
        "WHERE status = 'paid' AND paid_day >= %(month)s GROUP BY 1, 2, 3",
        target=False,
    ),
    Query(
        "(funnel, all live)",
        "30 days",
        "SELECT created_day, method, count(*), count(*) FILTER (WHERE status = 'paid'), "
        "count(first_session_at) FROM report_payments WHERE created_day >= %(month)s "
        "GROUP BY 1, 2",
        target=False,
    ),
    Query(  # radacct read as report_usage_per_user's live part reads it with an empty rollup
        "(usage, all live)",
        "top 20 users over 30 days",
        "SELECT username, sum(acctinputoctets + acctoutputoctets) AS bytes, count(*) "
        "FROM radacct WHERE acctstarttime >= (SELECT '-infinity'::timestamptz) "
        "AND acctstarttime <= 'infinity'::timestamptz "
        "AND (acctstarttime AT TIME ZONE 'UTC')::date >= %(month)s "
        "GROUP BY username ORDER BY bytes DESC LIMIT 20",
        target=False,
    ),
)


def time_query(conn: Connection, query: Query, today: dt.date, runs: int = 3) -> tuple[float, int]:
    params = {
        "today": today,
        "month": today - dt.timedelta(days=29),
        "week": today - dt.timedelta(days=6),
    }
    best = math.inf
    rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = len(conn.execute(query.sql.encode(), params).fetchall())
        best = min(best, time.perf_counter() - started)
    return best, rows


DASHBOARD = Query("(all three charts)", "GET /admin/dashboard/data.json, 30 d", "")


def time_dashboard(settings: Settings, today: dt.date, runs: int = 3) -> tuple[float, int]:
    """What the dashboard's data request costs: hotspot.reports.dashboard over 30 days."""
    engine = db.make_engine(settings.effective_database_url)
    days = queries.Days.ending(today, 30)
    best = math.inf
    try:
        for _ in range(runs):
            started = time.perf_counter()
            with db.transaction(db.session_factory(engine)) as session:
                data = queries.dashboard(session, days)
            best = min(best, time.perf_counter() - started)
    finally:
        engine.dispose()
    return best, len(data["days"])


Timed = tuple[Query, float, int]  # the query, its best time (s), its rows


def timed_reports(
    conn: Connection, settings: Settings, today: dt.date, *, live: bool = True
) -> list[Timed]:
    """Every typical query, the dashboard's data, and (`live`) the all-live queries, best of 3."""
    results = [(query, *time_query(conn, query, today)) for query in TYPICAL_QUERIES]
    results.append((DASHBOARD, *time_dashboard(settings, today)))
    if live:
        results += [(query, *time_query(conn, query, today)) for query in LIVE_QUERIES]
    return results


def print_reports(results: list[Timed]) -> None:
    print(f"| {'view':<26} | {'typical query':<36} | {'rows':>6} | {'best of 3':>9} | target |")
    print(f"|{'-' * 28}|{'-' * 38}|{'-' * 8}|{'-' * 11}|--------|")
    for query, best, rows in results:
        verdict = ("ok" if best * 1000 <= TARGET_MS else "SLOW") if query.target else "-"
        print(
            f"| {query.view:<26} | {query.what:<36} | {rows:>6} | "
            f"{best * 1000:>6.0f} ms | {verdict:>6} |"
        )


def setting(conn: Connection, name: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
    return str(row[0]) if row is not None else "?"


def sizes(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c "
        "WHERE c.relname IN ('radacct', 'payments', 'ix_radius_sessions_user_started', "
        "'ix_payments_paid_day', 'ix_payments_created_day', "
        "'ix_sms_messages_failures_day', 'ix_session_disconnections_failed_day') "
        "ORDER BY pg_relation_size(c.oid) DESC"
    ).fetchall()
    return [(str(name), str(size)) for name, size in rows]


def stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1 M payments, 10 M sessions")
    parser.add_argument("--keep", action="store_true", help="leave PostgreSQL up until Ctrl-C")
    args = parser.parse_args()
    # `kill PID` stops the private PostgreSQL too, as Ctrl-C does (through the `finally`).
    signal.signal(signal.SIGTERM, stop_on_signal)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    plan = Plan(
        payments=max(1000, round(PAYMENTS * args.scale)),
        users=max(100, round(USERS * min(1.0, args.scale) ** 0.5)),
        now=now,
    )
    began = time.perf_counter()
    # A private PostgreSQL, always: ten million rows never go into a configured database.
    with private_stack("hotspot-bench-reports-", fast=True, postgres_only=True) as (
        settings,
        stack,
    ):
        phases = load(settings, stack, plan)
        url = settings.effective_database_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(url, autocommit=True) as conn:
            counts = {
                table: scalar(conn, f"SELECT count(*) FROM {table}")  # noqa: S608
                for table in ("radacct", "payments", "hotspot_users", "sms_messages")
            }
            open_rows = scalar(conn, "SELECT count(*) FROM radacct WHERE acctstoptime IS NULL")
            config = ", ".join(
                f"{name} {setting(conn, name)}" for name in ("shared_buffers", "work_mem", "jit")
            )
            load_before = os.getloadavg()[0]
            results = timed_reports(conn, settings, now.date())
            stored = sizes(conn)
        total = time.perf_counter() - began
        print(
            f"\nbench/reports: {counts['radacct']:,} radacct rows ({open_rows:,} open), "
            f"{counts['payments']:,} payments, {counts['hotspot_users']:,} users, "
            f"{counts['sms_messages']:,} SMS, "
            f"{len(NASES)} NASes over {SPAN_DAYS} days; PostgreSQL {config}; "
            f"{os.cpu_count()} cores, load average {load_before:.1f} before timing\n"
        )
        print_reports(results)
        print("\nsetup: " + ", ".join(f"{name} {secs:.0f} s" for name, secs in phases.items()))
        print("sizes: " + ", ".join(f"{name} {size}" for name, size in stored))
        print(f"total {total:.0f} s")
        if args.keep:
            print(f"\nPostgreSQL stays up: psql '{url}'  (Ctrl-C stops it)")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
