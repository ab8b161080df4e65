"""bench/expiry: how close to the second sessions are cut when packages end, and how fast a
package edit reaches every session online by CoA.

Starts a private stack (PostgreSQL, Redis, FreeRADIUS), a NAS simulator and `hotspot worker`
processes; logs N users in through FreeRADIUS, their packages ending spread over a window; each
purchase schedules its expiry as provisioning does. Before the first expiry, an operator changes
the package's speed: CoA-Requests to all N sessions (bench/coa.py). Then measures, per session,
the lag from `expires_at` to the Disconnect-Request arriving at the NAS.

    .venv/bin/python -m bench.expiry [--sessions 10000] [--window 60] [--workers 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, insert, select, update

from bench import percentile, private_stack
from bench.coa import coa_rows, edit_package
from hotspot.access.provisioning import INSERT_RADIUS_CHECKS, Credentials
from hotspot.adapters import db
from hotspot.billing.notify import Notifier, connect, dispatch
from hotspot.billing.payment_state import AfterCommit
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.settings import Settings
from hotspot.dev.seed import seed_demo
from hotspot.dev.stack import Stack
from hotspot.models import (
    HotspotUser,
    Nas,
    Package,
    RadUserGroup,
    SessionDisconnection,
    UserStatus,
)
from radius.nas_sim import NasSimulator
from radius.nas_sim_dynauth import DynAuthRequest

LEAD = 45.0  # seconds between the end of the logins and the first expiry (the CoA phase)


def create_users(settings: Settings, count: int, first: dt.datetime, window: float) -> list[str]:
    """Users straight into the tables (as provisioning writes them), expiries spread evenly."""
    engine = db.make_engine(settings.effective_database_url)
    names = [f"b{n:07d}" for n in range(count)]
    with db.transaction(db.session_factory(engine)) as session:
        package = session.scalars(select(Package).where(Package.name == "1 Hour")).one()
        ends = [first + dt.timedelta(seconds=window * n / count) for n in range(count)]
        ends = [end.replace(microsecond=0) for end in ends]
        session.execute(
            insert(HotspotUser),
            [
                {"username": u, "package_id": package.id, "expires_at": end}
                for u, end in zip(names, ends, strict=True)
            ],
        )
        session.execute(
            INSERT_RADIUS_CHECKS,
            [
                {"username": u, "password": "pw", "expires_at": end, "devices": 1}
                for u, end in zip(names, ends, strict=True)
            ],
        )
        session.execute(
            insert(RadUserGroup),
            [{"username": u, "groupname": package.group_name, "priority": 1} for u in names],
        )
        ids = {
            str(u): int(i) for u, i in session.execute(select(HotspotUser.username, HotspotUser.id))
        }
    notifier = Notifier(connect(settings.effective_redis_url), settings.credentials_cache_ttl)
    after = AfterCommit(
        expiries=[Credentials(u, "pw", end, ids[u]) for u, end in zip(names, ends, strict=True)]
    )
    dispatch(after, notifier)
    engine.dispose()
    return names


def start_workers(settings: Settings, stack: Stack, count: int) -> None:
    env = {
        **os.environ,
        "HOTSPOT_STATE_DIR": str(settings.state_dir),
        "HOTSPOT_DATABASE_URL": settings.effective_database_url,
        "HOTSPOT_REDIS_URL": settings.effective_redis_url,
        "HOTSPOT_LOG_LEVEL": "WARNING",
    }
    for n in range(count):
        stack.spawn(f"worker-{n}", [sys.executable, "-m", "hotspot", "worker"], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with private_stack("hotspot-bench-expiry-") as (settings, stack):
        engine = db.make_engine(settings.effective_database_url)
        with db.transaction(db.session_factory(engine)) as session:
            seed_demo(session, interim_interval=3600, currency="KES")
        nas = NasSimulator(
            "127.0.0.1",
            DEMO_NAS_SECRET,
            auth_port=settings.radius_auth_port,
            acct_port=settings.radius_acct_port,
            coa_port=0,
            interim_interval=0,
            enforce_session_timeout=False,
            enforce_data_limit=False,
            timeout=5.0,
            tick=1.0,
        )
        with engine.begin() as conn:
            conn.execute(update(Nas).values(coa_port=nas.coa_port))
        stack.start_freeradius()
        login_time = args.sessions / 250 + 10  # a generous estimate of the logins' duration
        first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=login_time + LEAD)
        names = create_users(settings, args.sessions, first, args.window)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda u: nas.login(u, "pw", chap=False), names))
        rejected = sum(1 for r in results if not r.accepted)
        logins = time.monotonic() - started
        if dt.datetime.now(dt.UTC) > first:
            raise SystemExit("the logins took longer than planned; lower --sessions")
        start_workers(settings, stack, args.workers)
        time.sleep(3)  # the workers up
        coa = coa_rows(engine, nas, edit_package(settings, engine), len(names) - rejected)
        if dt.datetime.now(dt.UTC) > first:
            raise SystemExit("the CoA phase ran into the expiries; lower --sessions")
        ends = dict(session_ends(settings, names))
        deadline = time.monotonic() + (first - dt.datetime.now(dt.UTC)).total_seconds()
        deadline += args.window + 60
        while len(disconnects(nas)) < len(names) - rejected and time.monotonic() < deadline:
            time.sleep(0.5)
        lags = [
            r.received_at - ends[r.attributes["User-Name"][0]].timestamp()
            for r in disconnects(nas)
            if r.attributes.get("User-Name")
        ]
        missing = (
            len(names) - rejected - len({r.attributes["User-Name"][0] for r in disconnects(nas)})
        )
        recorded = recorded_results(engine, len(lags))
        with engine.connect() as conn:
            expired = conn.scalar(
                select(func.count()).where(HotspotUser.status == UserStatus.EXPIRED)
            )
        nas.close()
        engine.dispose()
    print(
        f"\nbench/expiry: {args.sessions} sessions ending within {args.window:.0f} s, "
        f"{args.workers} worker(s), {os.cpu_count()} cores; logins took {logins:.1f} s "
        f"({rejected} rejected)\n"
    )
    rows = [
        ("Disconnect-Requests received", f"{len(lags)}", ""),
        ("sessions never disconnected", f"{missing}", "0"),
        ("users marked expired", f"{expired}", f"{args.sessions}"),
        ("attempts recorded as ACK", f"{recorded['ack']}", f"{args.sessions - rejected}"),
        ("attempts recorded otherwise", f"{recorded.total() - recorded['ack']}", "0"),
        ("lag expires_at → DM p50", f"{statistics.median(lags):.3f} s" if lags else "-", ""),
        ("lag expires_at → DM p99", f"{percentile(lags, 0.99):.3f} s" if lags else "-", "≤ 1 s"),
        ("lag expires_at → DM max", f"{max(lags):.3f} s" if lags else "-", ""),
        ("earliest (must be ≥ 0)", f"{min(lags):.3f} s" if lags else "-", "≥ 0"),
    ]
    print(f"| {'measure':<32} | {'result':>10} | {'target':>7} |")
    print(f"|{'-' * 34}|{'-' * 12}|{'-' * 9}|")
    for name, value, target in [*rows, *coa]:
        print(f"| {name:<32} | {value:>10} | {target:>7} |")


def disconnects(nas: NasSimulator) -> list[DynAuthRequest]:
    return [r for r in nas.received if r.kind == "Disconnect-Request"]


def recorded_results(engine: Engine, expected: int) -> Counter[str]:
    """Results of the Disconnect attempts, once as many are recorded as requests arrived (the
    workers record a moment after the answers) or 15 s passed."""
    deadline = time.monotonic() + 15
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(SessionDisconnection.result, func.count())
                .where(SessionDisconnection.request == "disconnect")
                .group_by(SessionDisconnection.result)
            )
            results = Counter({str(result): int(count) for result, count in rows})
        if results.total() >= expected or time.monotonic() > deadline:
            return results
        time.sleep(0.5)


def session_ends(settings: Settings, names: list[str]) -> list[tuple[str, dt.datetime]]:
    engine = db.make_engine(settings.effective_database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(HotspotUser.username, HotspotUser.expires_at).where(
                HotspotUser.username.in_(names)
            )
        )
        ends = [(str(username), expires_at) for username, expires_at in rows]
    engine.dispose()
    return ends


if __name__ == "__main__":
    main()
