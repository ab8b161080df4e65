"""bench/operators: one operator's reports among 1,000 operators (issue 15, point 9).

Starts a private PostgreSQL, migrates it and generates a year for 1,000 operators: three
packages, a PPPoE plan, 100 hotspot customers and 100 subscribers each (a quarter of them past
their due date), and 1 M payments shared as real ISPs share a market (a few big, many small:
the biggest operator gets about 1 in 40), 85 % paid, every paid one posted to the ledger by the
migration's trigger as in production. Then it times each report of the biggest operator (best
of 3) against the 500 ms target:

    .venv/bin/python -m bench.operators [--payments 1000000] [--operators 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg

from bench import private_stack
from hotspot.adapters import db
from hotspot.core.settings import Settings
from hotspot.reports import operators as reports
from hotspot.reports import queries
from hotspot.reports.queries import Days

TARGET_MS = 500.0


def load(url: str, operators: int, payments: int, now: dt.datetime) -> dict[str, float]:
    """The rows, by INSERT … SELECT; returns each phase's seconds."""
    phases: dict[str, float] = {}
    statements = {
        "operators": f"""
            INSERT INTO operators (code, name, commission_rate, sms_credits)
            SELECT 'OP' || lpad(i::text, 5, '0'), 'ISP ' || i, 0.05, 1000
              FROM generate_series(1, {operators}) i""",  # noqa: S608 - our own numbers
        "packages and plans": """
            INSERT INTO packages (operator_id, name, group_name, price, duration_seconds,
                                  rate_limit)
            SELECT o.id, p.name, lower(o.code) || '-' || p.slug, p.price, p.secs, '5M/5M'
              FROM operators o,
                   (VALUES ('1 Hour', '1-hour', 20, 3600), ('1 Day', '1-day', 50, 86400),
                           ('1 Week', '1-week', 300, 604800)) p(name, slug, price, secs)
             WHERE o.code <> 'DEFAULT';
            INSERT INTO plans (operator_id, name, group_name, price, rate_limit, grace_days)
            SELECT id, 'Home', lower(code) || '-pppoe-home', 1500, '10M/10M', 2
              FROM operators WHERE code <> 'DEFAULT'""",
        "customers and subscribers": """
            INSERT INTO hotspot_users (operator_id, username, phone, package_id, expires_at)
            SELECT o.id, 'u' || o.id || '-' || n, '+2547' || lpad((o.id * 100 + n)::text, 8, '0'),
                   (SELECT min(id) FROM packages WHERE operator_id = o.id), %(now)s
              FROM operators o, generate_series(1, 100) n WHERE o.code <> 'DEFAULT';
            INSERT INTO subscribers (operator_id, plan_id, account_number, username, due_date,
                                     billing_day, status)
            SELECT p.operator_id, p.id, 'A' || p.operator_id || 'N' || n,
                   'home-' || p.operator_id || '-' || n, d, extract(day FROM d),
                   CASE WHEN d < %(today)s::date - 2 THEN 'blocked' ELSE 'active' END
                                     ::subscriber_status
              FROM plans p, generate_series(1, 100) n,
                   LATERAL (SELECT %(today)s::date - 7 + (n * 37 + p.id) %% 31 AS d) due""",
        "payments (and their postings)": f"""
            CREATE FUNCTION pg_temp.u(k bigint, salt int) RETURNS float8 LANGUAGE sql STABLE AS
              $$ SELECT ((hashint8extended(k, salt) >> 11) & 4503599627370495)::float8
                        / 4503599627370496.0 $$;
            INSERT INTO payments (operator_id, package_id, user_id, phone, amount, amount_paid,
                                  status, method, created_at, updated_at, paid_at)
            SELECT k.op, pk.id, u.id, u.phone, pk.price,
                   CASE WHEN k.paid THEN pk.price END,
                   CASE WHEN k.paid THEN 'paid' ELSE 'failed' END::payment_status, 'stk',
                   k.at, k.at, CASE WHEN k.paid THEN k.at + interval '20 seconds' END
              FROM (SELECT g,
                           (SELECT min(id) FROM operators WHERE code <> 'DEFAULT')
                             + floor({operators} * power(pg_temp.u(g, 1), 2.2))::int AS op,
                           pg_temp.u(g, 2) < 0.85 AS paid,
                           %(now)s::timestamptz - make_interval(secs => 31536000 * pg_temp.u(g, 3))
                             AS at,
                           floor(3 * pg_temp.u(g, 4))::int AS pick,
                           1 + floor(100 * pg_temp.u(g, 5))::int AS n
                      FROM generate_series(1, {payments}) g OFFSET 0) k
              JOIN LATERAL (SELECT id, price FROM packages WHERE operator_id = k.op
                             ORDER BY id OFFSET k.pick LIMIT 1) pk ON true
              JOIN hotspot_users u ON u.username = 'u' || k.op || '-' || k.n""",  # noqa: S608
        "analyze": "VACUUM ANALYZE",
    }
    params = {"now": now, "today": now.date()}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, sql in statements.items():
            started = time.perf_counter()
            for statement in sql.split(";\n"):
                conn.execute(statement.encode(), params if "%(" in statement else None)
            phases[name] = time.perf_counter() - started
    return phases


def best_of(runs: int, settings: Settings, report: Callable[[Any], Any]) -> tuple[float, int]:
    engine = db.make_engine(settings.effective_database_url)
    best, rows = math.inf, 0
    try:
        for _ in range(runs):
            with db.transaction(db.session_factory(engine)) as session:
                started = time.perf_counter()
                found = report(session)
                best = min(best, time.perf_counter() - started)
                rows = len(found["days"]) if isinstance(found, dict) else len(found)
    finally:
        engine.dispose()
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--operators", type=int, default=1000)
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    began = time.perf_counter()
    with private_stack("hotspot-bench-operators-", fast=True, postgres_only=True) as (
        settings,
        _,
    ):
        url = settings.effective_database_url.replace("postgresql+psycopg", "postgresql")
        phases = load(url, args.operators, args.payments, now)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT operator_id, count(*) FROM payments GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
            ).fetchone()
            assert row is not None
            biggest, its_payments = int(row[0]), int(row[1])
            entries = conn.execute("SELECT count(*) FROM ledger").fetchone()
        month, year = Days.ending(now.date(), 30), Days.ending(now.date(), 365)
        timed = {
            "revenue, 30 days": lambda s: reports.operator_revenue(s, biggest, month),
            "revenue, 365 days": lambda s: reports.operator_revenue(s, biggest, year),
            "subscribers due within 7 days": lambda s: reports.subscribers_due(s, biggest, 7),
            "arrears": lambda s: reports.arrears(s, biggest),
            "wallet statement, 30 days": lambda s: reports.wallet_statement(s, biggest, month),
            "dashboard data, 30 days": lambda s: queries.dashboard(s, month, biggest),
        }
        results = [(name, *best_of(3, settings, report)) for name, report in timed.items()]
    print(
        f"\nbench/operators: {args.operators:,} operators, {args.payments:,} payments "
        f"({its_payments:,} of the biggest operator), {entries[0] if entries else 0:,} ledger "
        f"postings; {os.cpu_count()} cores\n"
    )
    print(f"| {'report of the biggest operator':<32} | {'rows':>6} | {'best of 3':>9} | target |")
    print(f"|{'-' * 34}|{'-' * 8}|{'-' * 11}|--------|")
    for name, best, rows in results:
        verdict = "ok" if best * 1000 <= TARGET_MS else "SLOW"
        print(f"| {name:<32} | {rows:>6} | {best * 1000:>6.0f} ms | {verdict:>6} |")
    print("\nsetup: " + ", ".join(f"{name} {secs:.0f} s" for name, secs in phases.items()))
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
