"""bench/year: a year of data for 10,000 daily users (100 M radacct rows), and what it costs.

Loads the year as bench/reports does (bench.reports_data: 10 M payments, ten sessions each, so
100 M radacct rows; 10,000 users on five NASes, by INSERT … SELECT generate_series, indexes built
after), into a private stack with Redis and FreeRADIUS, then measures on it:

1. every operator report's typical query (bench.reports), target ≤ 500 ms;
2. the accounting sync (bench.accounting's cohort): 10,000 sessions start, send three interim
   updates and stop, each step synced by the job, target ≤ 1 s per 10,000 changed sessions;
3. `hotspot db maintain` (hotspot.adapters.partitions.maintain) archiving and deleting the
   year's oldest month of radacct (retention 11 months) and detaching, archiving and dropping a
   month of radpostauth, while radclient sends Accounting-Requests without a pause: FreeRADIUS's
   rate during the maintenance against before it (nothing may be lost);
4. FreeRADIUS accounting throughput (radclient, Starts then Interim-Updates, as
   bench/accounting) on the year's radacct as migrated, then with radacct as the stock
   schema.sql has it (our three indexes dropped, the sync_seq stamp off: the same 100 M rows
   under the stock indexes), then as migrated again (the indexes rebuilt), target within 10 %.

    .venv/bin/python -m bench.year [--payments 10000000] [--users 10000] [--packets 5000]
                                   [--rounds 3]

Needs about 60 GB of disk and an hour on 2 cores; `--payments 100000` is a quick run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bench import private_stack, table
from bench.accounting import TARGET_SYNC_SECONDS, mark_synced, measure_cohort, report_sync
from bench.accounting_radius import (
    KINDS,
    Connection,
    Target,
    connect,
    packet_file,
    send,
    throughput,
)
from bench.reports import print_reports, timed_reports
from bench.reports_data import Plan, load, say, scalar
from bench.reports_data import connect as loader_connection
from hotspot.adapters.partitions import add_months, maintain, month_start
from hotspot.cli.database import libpq_url
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.settings import Settings
from hotspot.dev.seed import DEMO_NAS_ADDRESS
from hotspot.dev.stack import Stack
from hotspot.models.radius import RadAcct

TARGET_THROUGHPUT = 0.10
OURS, STOCK, OURS_AGAIN = "ours", "stock indexes", "ours again"
# What our radacct has beyond the stock schema.sql: three indexes (one of closed rows only, which
# Starts and Interim-Updates never touch) and the sync_seq stamp.
EXTRA_INDEXES = ("radacct_sync_seq_idx", "radacct_active_user_idx", "radacct_username_stop_idx")
STOCK_RADACCT = (
    *(f"DROP INDEX {name}" for name in EXTRA_INDEXES),
    "ALTER TABLE radacct ALTER COLUMN sync_seq DROP DEFAULT",
    "ALTER TABLE radacct DISABLE TRIGGER radacct_sync_seq_closed",
)
# And back, as the schema has them (the model's index definitions).
OUR_RADACCT = (
    *(
        str(CreateIndex(index).compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
        for index in cast(Table, RadAcct.__table__).indexes
        if index.name in EXTRA_INDEXES
    ),
    "ALTER TABLE radacct ALTER COLUMN sync_seq SET DEFAULT nextval('radacct_sync_seq')",
    "ALTER TABLE radacct ENABLE TRIGGER radacct_sync_seq_closed",
)


def prepare(conn: Connection) -> None:
    """The year synced (the watermark at its last row) and the router radclient speaks as."""
    mark_synced(conn)
    conn.execute(
        "INSERT INTO nas (operator_id, nasname, shortname, secret) "
        "SELECT id, %s, 'bench', %s FROM operators WHERE code = 'DEFAULT'",
        (DEMO_NAS_ADDRESS, DEMO_NAS_SECRET),
    )


def old_logins(settings: Settings, stack: Stack, month: dt.date, count: int) -> None:
    """A month of radpostauth rows, in that month's partition (made as `maintain` made it),
    vacuumed as a month that old would have been long ago (else autovacuum holds it when the
    maintenance comes, and the month is left for the next run: `busy`)."""
    maintain(libpq_url(settings.effective_database_url), month, {}, None)
    with loader_connection(stack) as conn:
        conn.execute(
            "INSERT INTO radpostauth (username, pass, reply, authdate) "
            "SELECT 'u' || lpad((g %% 10000)::text, 7, '0'), '', 'Access-Accept', "
            "%s::timestamptz + g * interval '1 second' * (27 * 86400.0 / %s) "
            "FROM generate_series(1, %s) g",
            (dt.datetime.combine(month, dt.time(), dt.UTC), count, count),
        )
        conn.execute(f"VACUUM (ANALYZE) radpostauth_p{month:%Y%m}")


def time_quota_checks(conn: Connection, users: Sequence[str], count: int = 200) -> list[str]:
    """What FreeRADIUS asks at every login on a time-quota package (hotspot_time_left), for
    `count` of the year's users, each as if it bought 10 hours a day ago: ms per call."""
    checked = list(users[:count])
    conn.execute("UPDATE packages SET time_quota_seconds = 36000")
    conn.execute(
        "UPDATE hotspot_users SET usage_since = now() - interval '1 day' WHERE username = ANY(%s)",
        (checked,),
    )
    took = []
    for username in checked:
        started = time.perf_counter()
        conn.execute("SELECT hotspot_time_left(%s)", (username,)).fetchone()
        took.append((time.perf_counter() - started) * 1000)
    conn.execute("UPDATE packages SET time_quota_seconds = NULL")
    return [f"{statistics.median(took):.2f} ms", f"{max(took):.2f} ms"]


class Sender:
    """radclient without a pause, a new file of Starts each time, until stopped."""

    def __init__(
        self, settings: Settings, directory: Path, packets: int, users: Sequence[str]
    ) -> None:
        self.port, self.directory, self.packets = settings.radius_acct_port, directory, packets
        self.users = users
        self.rates: list[float] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                prefix = f"m{time.monotonic_ns()}"
                path = packet_file(self.directory, "Start", prefix, self.packets, self.users)
                self.rates.append(send(path, self.port, self.packets))
        except BaseException as exc:  # a lost packet: reported by stop()
            self.failure = exc

    def stop(self) -> list[float]:
        self.stopping.set()
        self.thread.join()
        if self.failure is not None:
            raise self.failure
        return self.rates


def measure_maintenance(
    settings: Settings, packets: int, users: Sequence[str], today: dt.date
) -> list[tuple[str, str]]:
    """Baseline rate, then the rate while `maintain` prunes radacct's oldest month and drops a
    month of radpostauth."""
    archive = settings.state_dir / "archive"
    with tempfile.TemporaryDirectory(prefix="bench-year-") as tmp:
        baseline = Sender(settings, Path(tmp), packets, users)
        baseline.thread.start()
        time.sleep(20)
        before = baseline.stop()
        during = Sender(settings, Path(tmp), packets, users)
        during.thread.start()
        started = time.perf_counter()
        done = maintain(
            libpq_url(settings.effective_database_url),
            today,
            {"radacct": 11, "radpostauth": 12},
            archive,
        )
        took = time.perf_counter() - started
        rates = during.stop()
    archived = sum(f.stat().st_size for f in archive.rglob("*.csv.gz"))
    return [
        ("maintain (hotspot db maintain)", f"{took:.0f} s"),
        ("radacct rows archived and deleted", f"{done.pruned.get('radacct', 0):,}"),
        ("radpostauth months dropped", ", ".join(done.dropped) or "none"),
        ("months busy, left for the next run", ", ".join(done.busy) or "none"),
        ("archive written", f"{archived / 2**20:,.0f} MiB gzip CSV"),
        ("FreeRADIUS Starts/s before (median)", f"{statistics.median(before):,.0f}"),
        (
            f"FreeRADIUS Starts/s during ({len(rates)} runs)",
            f"median {statistics.median(rates):,.0f}, slowest {min(rates):,.0f}",
        ),
        ("Accounting-Requests lost", "0 (radclient fails the run on any)"),
    ]


def compare_throughput(
    ours: Connection, port: int, args: argparse.Namespace, users: Sequence[str]
) -> dict[tuple[str, str], list[float]]:
    """Ours, then the stock indexes, then ours again with the indexes rebuilt (minutes): on
    one copy of the year, turns cannot alternate, so ours is measured on both sides of the
    stock turn and drift (caches, checkpoints, autovacuum) does not favour either."""
    rates: dict[tuple[str, str], list[float]] = {}
    for label, statements in ((OURS, ()), (STOCK, STOCK_RADACCT), (OURS_AGAIN, OUR_RADACCT)):
        for statement in statements:
            ours.execute(statement)
        # Dead rows (the pruning's, a turn's) vacuumed now, not by autovacuum during a turn.
        ours.execute("VACUUM (ANALYZE) radacct")
        ours.execute("CHECKPOINT")
        target = Target(label, port)
        run = label.replace(" ", "")[:6]  # new sessions in every turn
        rates |= throughput(ours, [target], args.packets, args.rounds, run=run, users=users)
    return rates


def report_rates(rates: dict[tuple[str, str], list[float]]) -> None:
    rows = []
    for kind in KINDS:
        median = {
            label: statistics.median(rates[(label, kind)]) for label in (OURS, STOCK, OURS_AGAIN)
        }
        mine, theirs = (median[OURS] + median[OURS_AGAIN]) / 2, median[STOCK]
        verdict = "ok" if mine >= theirs * (1 - TARGET_THROUGHPUT) else "SLOW"
        rows.append(
            (
                kind,
                f"{median[OURS]:,.0f}",
                f"{theirs:,.0f}",
                f"{median[OURS_AGAIN]:,.0f}",
                f"{mine / theirs - 1:+.1%}",
                verdict,
            )
        )
    table(
        "4. FreeRADIUS accounting on the year's radacct, radclient -p 50, median of "
        "rounds; ours (the mean of its turns before and after) within "
        f"{TARGET_THROUGHPUT:.0%} of the stock indexes",
        ("packets", "ours /s", "stock indexes /s", "ours again /s", "ours vs stock", "target"),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=10_000_000, help="ten sessions each")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=10_000, help="changed sessions synced")
    parser.add_argument("--packets", type=int, default=5000, help="per radclient run")
    parser.add_argument("--rounds", type=int, default=3, help="radclient runs per schema")
    parser.add_argument("--logins", type=int, default=3_000_000, help="a month of radpostauth")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    plan = Plan(payments=args.payments, users=args.users, now=now)
    began = time.perf_counter()
    with private_stack("hotspot-bench-year-", fast=True) as (settings, stack):
        phases = load(settings, stack, plan)
        ours = connect(stack)
        prepare(ours)
        stack.start_freeradius()
        rows = scalar(ours, "SELECT count(*) FROM radacct")
        users = [
            str(name)
            for (name,) in ours.execute(
                "SELECT username FROM hotspot_users ORDER BY md5(username)"
            ).fetchall()
        ]
        size = ours.execute("SELECT pg_size_pretty(pg_total_relation_size('radacct'))").fetchone()
        say("timing the reports")
        # Not the all-live queries (rollups never refreshed): at this size, minutes each.
        reports = timed_reports(ours, settings, now.date(), live=False)
        quota = time_quota_checks(ours, users)
        say("syncing a cohort")
        sync = measure_cohort(ours, settings, args.sessions, sum(phases.values()))
        say("maintenance under load")
        old_logins(settings, stack, add_months(month_start(now.date()), -13), args.logins)
        maintenance = measure_maintenance(settings, args.packets, users, now.date())
        say("FreeRADIUS throughput: as migrated, with the stock indexes, as migrated again")
        rates = compare_throughput(ours, settings.radius_acct_port, args, users)
        ours.close()
    print(
        f"\nbench/year: {rows:,} radacct rows ({size[0] if size else '?'}), {plan.payments:,} "
        f"payments, {plan.users:,} users over a year; {os.cpu_count()} cores; setup "
        + ", ".join(f"{name} {secs:.0f} s" for name, secs in phases.items())
    )
    print("\n1. Operator reports, best of 3; target 500 ms\n")
    print_reports(reports)
    table(
        "A login's time-quota check (hotspot_time_left: the user's sessions open or closed "
        "since a purchase a day ago), 200 users",
        ("median", "slowest"),
        [tuple(quota)],
    )
    report_sync(sync, args.sessions, f"the year's {rows:,} radacct rows, synced")
    table(
        "3. A month pruned while FreeRADIUS writes (radclient -p 50, Starts, without a pause)",
        ("measure", "value"),
        maintenance,
    )
    report_rates(rates)
    print(f"\ntotal {time.perf_counter() - began:.0f} s; target ≤ {TARGET_SYNC_SECONDS:.0f} s sync")


if __name__ == "__main__":
    main()
