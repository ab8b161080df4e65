"""bench/accounting: the accounting sync, and what our radacct schema costs FreeRADIUS.

Starts a private stack (PostgreSQL, Redis, FreeRADIUS), then:

(b) FreeRADIUS accounting throughput, `radclient -q -s -p 50 -c 1 -f FILE` with thousands of Start
    and then Interim-Update packets, against our database (as migrated; plus the optional
    stale-sweep index; and as before migration 0004, with the usage report's index on the
    counters an Interim-Update writes) and against a second database made from the stock
    schema.sql, served by a second FreeRADIUS from the same rendered config. The targets take
    turns (in a rotating order), several rounds, and the median counts.
(a) the sync (`jobs.accounting.sync_accounting_job`) with `--history` closed sessions of
    `--customers` past customers already synced (in radacct, radius_sessions, data_usage_logs):
    `--sessions` sessions start (each attached to its pending purchase), send three rounds of
    interim updates (read from the open rows), sync once more with nothing changed (the cost of
    comparing the open rows) and stop; then the watermark is rewound and the stops read again
    (nothing may change); and the stale sweep's UPDATE with and without the index it wants.

    .venv/bin/python -m bench.accounting [--part a|b|all] [--history 1000000] [--sessions 10000]
                                         [--packets 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import jobs
from bench import table
from bench.accounting_radius import (
    STOCK_LABEL,
    Connection,
    Target,
    connect,
    report_throughput,
    start_stock_freeradius,
    stock_database,
    throughput,
)
from bench.payments import bench_stack
from hotspot.core.settings import Settings
from hotspot.dev.seed import DEMO_NAS_ADDRESS
from jobs.accounting import SyncSummary, sync_accounting_job

# The index on open rows' last-heard time that the stale sweep wants
# (see hotspot.access.accounting).
STALE_INDEX = "radacct_open_last_seen_idx"
CREATE_STALE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {STALE_INDEX} ON radacct "
    "((COALESCE(acctupdatetime, acctstarttime))) WHERE acctstoptime IS NULL"
)
DROP_STALE_INDEX = f"DROP INDEX IF EXISTS {STALE_INDEX}"
# The usage report's index as migration 0002 made it (0004 dropped it): it covers the counters an
# Interim-Update writes, so no Interim-Update can be a HOT update, and each one adds an entry to
# every index of radacct.
USAGE_INDEX = "radacct_start_day_idx"
CREATE_USAGE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {USAGE_INDEX} ON radacct "
    "(((acctstarttime AT TIME ZONE 'UTC')::date), username) "
    "INCLUDE (acctstarttime, acctsessiontime, acctinputoctets, acctoutputoctets)"
)
DROP_USAGE_INDEX = f"DROP INDEX IF EXISTS {USAGE_INDEX}"
AS_MIGRATED = (DROP_STALE_INDEX, DROP_USAGE_INDEX)
TARGET_SYNC_SECONDS = 1.0


# --- (a) the sync --------------------------------------------------------------------------


@contextmanager
def job_environment(settings: Settings) -> Iterator[None]:
    """The job builds its services from the environment, as in an rq worker."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOTSPOT_STATE_DIR": str(settings.state_dir),
            "HOTSPOT_DATABASE_URL": settings.effective_database_url,
            "HOTSPOT_REDIS_URL": settings.effective_redis_url,
        }
    )
    jobs.services.cache_clear()
    try:
        yield
    finally:
        if jobs.services.cache_info().currsize:
            jobs.services().close()
        jobs.services.cache_clear()
        os.environ.clear()
        os.environ.update(saved)


def timed_sync() -> tuple[float, SyncSummary]:
    started = time.perf_counter()
    result = sync_accounting_job()
    return time.perf_counter() - started, result


def make_history(conn: Connection, rows: int, customers: int) -> float:
    """A month of closed sessions of past customers, already synced: radacct (stamped by the
    column default, as FreeRADIUS's inserts are), their radius_sessions, usage logs and the
    watermark."""
    started = time.perf_counter()
    conn.execute(
        """
        INSERT INTO hotspot_users (operator_id, username, package_id, status, expires_at)
        SELECT p.operator_id, 'hist' || g, p.id, 'expired',
               now() - interval '1 day'
        FROM generate_series(0, %s - 1) g, packages p
        WHERE p.name = '1 Hour'
        """,
        (customers,),
    )
    conn.execute(
        """
        INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, nasportid,
            acctstarttime, acctupdatetime, acctstoptime, acctsessiontime, acctinputoctets,
            acctoutputoctets, callingstationid, acctterminatecause, framedipaddress)
        SELECT to_hex(g), 'hist-' || g, 'hist' || (g %% %s), '10.0.0.1', 'bridge-hotspot',
               now() - interval '30 days' + g * interval '2 seconds',
               now() - interval '30 days' + g * interval '2 seconds' + interval '1 hour',
               now() - interval '30 days' + g * interval '2 seconds' + interval '1 hour',
               3600, g * 1000, g * 5000, 'AA:BB:CC:DD:EE:FF', 'User-Request',
               '10.5.0.0'::inet + (g %% 60000)
        FROM generate_series(1::bigint, %s) g
        """,
        (customers, rows),
    )
    conn.execute(
        """
        INSERT INTO radius_sessions (user_id, status, acct_unique_id, acct_session_id, nas_ip,
            framed_ip, mac, nas_port_id, terminate_cause, started_at, stopped_at, last_update_at,
            input_octets, output_octets)
        SELECT u.id, 'closed', r.acctuniqueid, r.acctsessionid, r.nasipaddress,
               r.framedipaddress, r.callingstationid, r.nasportid, r.acctterminatecause,
               r.acctstarttime, r.acctstoptime, r.acctupdatetime, r.acctinputoctets,
               r.acctoutputoctets
        FROM radacct r JOIN hotspot_users u ON u.username = r.username
        """
    )
    conn.execute(
        """
        INSERT INTO data_usage_logs
            (user_id, recorded_at, input_octets_delta, output_octets_delta)
        SELECT user_id, date_trunc('hour', stopped_at, 'UTC'), sum(input_octets),
               sum(output_octets)
        FROM radius_sessions GROUP BY 1, 2
        """
    )
    mark_synced(conn)
    conn.execute("VACUUM ANALYZE")
    conn.execute("CHECKPOINT")  # the load's dirty pages are not the sync's to write
    return time.perf_counter() - started


def mark_synced(conn: Connection) -> None:
    """The sync's watermark at radacct's last stamp: every row in it counts as synced."""
    conn.execute(
        """
        INSERT INTO sync_watermarks (name, position)
        SELECT 'radacct', last_value FROM radacct_sync_seq
        ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position
        """
    )


def make_users(conn: Connection, cohort: str, count: int) -> None:
    """`count` customers of the 1 Hour package, each with the pending session of a purchase."""
    conn.execute(
        """
        WITH users AS (
            INSERT INTO hotspot_users (operator_id, username, package_id, status, expires_at)
            SELECT p.operator_id, %(cohort)s || g, p.id, 'active',
                   now() + interval '1 hour'
            FROM generate_series(1, %(count)s) g, packages p
            WHERE p.name = '1 Hour'
            RETURNING id, expires_at
        )
        INSERT INTO radius_sessions (user_id, status, expected_end)
        SELECT id, 'pending', expires_at FROM users
        """,
        {"cohort": cohort, "count": count},
    )
    conn.execute("ANALYZE")  # as autovacuum would have by the time they log in


def watermark(conn: Connection) -> int:
    row = conn.execute("SELECT position FROM sync_watermarks WHERE name = 'radacct'").fetchone()
    return int(str(row[0])) if row is not None else 0


def rewind(conn: Connection, position: int) -> None:
    conn.execute("UPDATE sync_watermarks SET position = %s WHERE name = 'radacct'", (position,))


def start_sessions(conn: Connection, cohort: str, count: int) -> None:
    """`count` Starts; then ANALYZE, as autovacuum will have done by the sessions' first interim
    (the stale sweep's plan depends on knowing how many rows are open)."""
    conn.execute(
        """
        INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, nasportid,
            acctstarttime, acctupdatetime, acctsessiontime, acctinputoctets, acctoutputoctets,
            callingstationid, framedipaddress)
        SELECT to_hex(g), %(cohort)s || '-' || g, %(cohort)s || g, %(nas)s, 'bridge-hotspot',
               now(), now(), 0, 0, 0, 'AA:BB:CC:DD:EE:FF', '10.6.0.0'::inet + g
        FROM generate_series(1, %(count)s) g
        """,
        {"cohort": cohort, "nas": DEMO_NAS_ADDRESS, "count": count},
    )
    conn.execute("ANALYZE radacct")


def interim_sessions(conn: Connection, cohort: str, count: int, step: int) -> None:
    conn.execute(
        """
        UPDATE radacct r SET acctupdatetime = now(), acctsessiontime = 60 * %(step)s,
               acctinputoctets = %(step)s * (2000000 + g),
               acctoutputoctets = %(step)s * (10000000 + g)
        FROM generate_series(1, %(count)s) g
        WHERE r.acctuniqueid = %(cohort)s || '-' || g
        """,
        {"cohort": cohort, "step": step, "count": count},
    )


def stop_sessions(conn: Connection, cohort: str, count: int) -> None:
    conn.execute(
        """
        UPDATE radacct r SET acctstoptime = now(), acctupdatetime = now(),
               acctterminatecause = 'User-Request', acctinputoctets = acctinputoctets + 1
        FROM generate_series(1, %(count)s) g
        WHERE r.acctuniqueid = %(cohort)s || '-' || g
        """,
        {"cohort": cohort, "count": count},
    )


def stale_sweep_ms(conn: Connection, repeat: int = 20) -> float:
    """Server time of the stale sweep's UPDATE when nothing is stale (the usual case), median."""
    timings = []
    for _ in range(repeat):
        with conn.transaction(force_rollback=True):
            plan = conn.execute(
                """
                EXPLAIN (ANALYZE)
                UPDATE radacct SET acctstoptime = COALESCE(acctupdatetime, acctstarttime),
                       acctterminatecause = 'Stale-Session'
                WHERE acctstoptime IS NULL
                  AND COALESCE(acctupdatetime, acctstarttime) < now() - interval '1 day'
                """
            ).fetchall()
        found = re.search(r"Execution Time: ([\d.]+) ms", "\n".join(str(row[0]) for row in plan))
        if found is None:
            raise RuntimeError(f"no execution time in {plan}")
        timings.append(float(found.group(1)))
    return statistics.median(timings)


# --- report --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


Timed = tuple[float, SyncSummary]


@dataclass
class SyncFigures:
    history_s: float
    idle: Timed
    start: Timed
    interims: list[Timed]
    idle_open: Timed  # nothing changed, every session open: the cost of comparing open rows
    stop: Timed
    again: Timed  # the stops read again after rewinding the watermark
    sweep_with_index_ms: float
    sweep_without_index_ms: float


def measure_sync(ours: Connection, settings: Settings, args: argparse.Namespace) -> SyncFigures:
    """The history made, then a cohort's life synced (measure_cohort)."""
    history_s = make_history(ours, args.history, args.customers)
    return measure_cohort(ours, settings, args.sessions, history_s)


def measure_cohort(
    ours: Connection, settings: Settings, sessions: int, history_s: float
) -> SyncFigures:
    """One cohort of sessions through their life, each step synced by the job and timed."""
    make_users(ours, "bench", sessions)
    ours.execute("CHECKPOINT")  # the setup's dirty pages are not the sync's to write
    with job_environment(settings):
        timed_sync()  # warm: the job's engine and connection
        idle = timed_sync()
        start_sessions(ours, "bench", sessions)
        start = timed_sync()
        interims = []
        for step in (1, 2, 3):
            interim_sessions(ours, "bench", sessions, step)
            interims.append(timed_sync())
        idle_open = timed_sync()
        without_index_ms = stale_sweep_ms(ours)
        ours.execute(CREATE_STALE_INDEX)
        with_index_ms = stale_sweep_ms(ours)
        ours.execute(DROP_STALE_INDEX)
        before_stop = watermark(ours)
        stop_sessions(ours, "bench", sessions)
        stop = timed_sync()
        rewind(ours, before_stop)
        again = timed_sync()
    return SyncFigures(
        history_s, idle, start, interims, idle_open, stop, again, with_index_ms, without_index_ms
    )


def report_sync(figures: SyncFigures, n: int, history: str) -> None:
    """The table of a cohort of `n` sessions synced on top of `history` (what radacct held)."""
    start_s, started = figures.start
    stop_s, stopped = figures.stop
    again_s, again = figures.again
    table(
        f"(a) accounting sync (jobs.accounting.sync_accounting_job, batches of 5,000); history: "
        f"{history} (made in {figures.history_s:.0f} s); "
        f"target ≤ {TARGET_SYNC_SECONDS:.0f} s per {n:,} changed sessions",
        ("measure", "time", "note"),
        [
            ("sync with nothing changed", ms(figures.idle[0]), ""),
            (f"{n:,} sessions start", ms(start_s), f"{started['sessions_attached']:,} attached"),
            *(
                (
                    f"{n:,} interim updates, round {i + 1}",
                    ms(seconds),
                    f"{result['open_rows_read']:,} open rows read, "
                    f"+{result['bytes_added'] / 2**20:,.0f} MiB",
                )
                for i, (seconds, result) in enumerate(figures.interims)
            ),
            (
                f"sync with nothing changed, {n:,} sessions open",
                ms(figures.idle_open[0]),
                f"{figures.idle_open[1]['open_rows_read']:,} open rows read",
            ),
            (f"{n:,} sessions stop", ms(stop_s), f"{stopped['sessions_closed']:,} closed"),
            (
                f"the same {n:,} stops read again (rewound)",
                ms(again_s),
                f"+{again['bytes_added']} bytes",
            ),
            (
                f"stale sweep, {n:,} open rows, as migrated",
                f"{figures.sweep_without_index_ms:.2f} ms",
                "server time",
            ),
            (
                f"stale sweep, {n:,} open rows, + {STALE_INDEX}",
                f"{figures.sweep_with_index_ms:.2f} ms",
                "server time",
            ),
        ],
    )


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--history", type=int, default=1_000_000, help="radacct rows")
    parser.add_argument("--customers", type=int, default=50_000, help="past customers")
    parser.add_argument("--sessions", type=int, default=10_000, help="changed sessions")
    parser.add_argument("--packets", type=int, default=5000, help="per radclient run")
    parser.add_argument("--rounds", type=int, default=3, help="radclient runs per target")
    parser.add_argument("--part", choices=("a", "b", "all"), default="all")
    args = parser.parse_args()
    load_before = load()
    rates: dict[tuple[str, str], list[float]] = {}
    targets: list[Target] = []
    figures: SyncFigures | None = None
    with bench_stack() as (settings, stack):
        if not settings.private_postgres:
            raise SystemExit("bench/accounting needs the private PostgreSQL (unset DATABASE_URL)")
        ours = connect(stack)
        if args.part in ("b", "all"):
            stock_database(stack, settings)
            targets = [
                Target("ours (as migrated)", settings.radius_acct_port, AS_MIGRATED),
                Target(
                    f"ours + {STALE_INDEX}",
                    settings.radius_acct_port,
                    (*AS_MIGRATED, CREATE_STALE_INDEX),
                ),
                Target(
                    f"ours before 0004 (+ {USAGE_INDEX})",
                    settings.radius_acct_port,
                    (*AS_MIGRATED, CREATE_USAGE_INDEX),
                ),
                Target(STOCK_LABEL, start_stock_freeradius(stack, settings)),
            ]
            rates = throughput(ours, targets, args.packets, args.rounds)
            ours.execute("DELETE FROM radacct")
        if args.part in ("a", "all"):
            for statement in AS_MIGRATED:
                ours.execute(statement)
            figures = measure_sync(ours, settings, args)
        ours.close()
    print(
        f"\nbench/accounting: {os.cpu_count()} cores, load average {load_before} before and "
        f"{load()} after (other work on the machine skews every figure)"
    )
    if figures is not None:
        history = (
            f"{args.history:,} synced sessions of {args.customers:,} customers in radacct, "
            "radius_sessions and data_usage_logs"
        )
        report_sync(figures, args.sessions, history)
    if rates:
        report_throughput(rates, targets, args)


if __name__ == "__main__":
    main()
