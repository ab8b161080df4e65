"""bench/accounting, part (b): FreeRADIUS accounting throughput, radclient against our radacct
schema (as migrated and with the indexes considered) and against the stock schema.sql on a second
FreeRADIUS (see bench.accounting)."""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench import table
from hotspot.adapters.freeradius.params import RaddbParams
from hotspot.adapters.freeradius.render import render_raddb
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.settings import PRIVATE_DB_NAME, Settings
from hotspot.dev.seed import DEMO_NAS_ADDRESS
from hotspot.dev.stack import Stack, free_port

Connection = psycopg.Connection[tuple[object, ...]]


def connect(stack: Stack, dbname: str = PRIVATE_DB_NAME) -> Connection:
    return psycopg.connect(stack.superuser_dsn(dbname), autocommit=True)


STOCK_SCHEMA = Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql")


STOCK_DB = "radius_stock"


STOCK_LABEL = "stock schema.sql"


KINDS = ("Start", "Interim-Update")


@dataclass(frozen=True)
class Target:
    label: str
    acct_port: int
    setup: tuple[str, ...] = ()  # run on our database before each of its turns


def stock_database(stack: Stack, settings: Settings) -> None:
    """The stock schema.sql in a database of its own; the FreeRADIUS role gets the same rights."""
    with connect(stack) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(STOCK_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(STOCK_DB)))
    role = sql.Identifier(settings.radius_db_user)
    with connect(stack, STOCK_DB) as conn:
        conn.execute(STOCK_SCHEMA.read_bytes())  # several statements: the simple protocol
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT INSERT, UPDATE ON radacct, radpostauth, nasreload TO {role}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ):
            conn.execute(sql.SQL(statement).format(db=sql.Identifier(STOCK_DB), role=role))
        conn.execute(
            "INSERT INTO nas (nasname, shortname, secret) VALUES (%s, 'bench', %s)",
            (DEMO_NAS_ADDRESS, DEMO_NAS_SECRET),
        )


def start_stock_freeradius(stack: Stack, settings: Settings) -> int:
    """A second FreeRADIUS, rendered like ours but reading and writing the stock database."""
    acct_port = free_port(socket.SOCK_DGRAM)
    params = RaddbParams(
        listen_address="127.0.0.1",
        auth_port=free_port(socket.SOCK_DGRAM),
        acct_port=acct_port,
        status_port=free_port(socket.SOCK_DGRAM),
        status_secret=settings.radius_status_secret,
        db_host="127.0.0.1",
        db_port=settings.postgres_port,
        db_name=STOCK_DB,
        db_user=settings.radius_db_user,
        db_password=settings.radius_db_password,
        reject_delay=0,
        log_dir=stack.log_dir / "radius-stock",
        debian_raddb=settings.freeradius_raddb,
    )
    stack.run_freeradius(
        "freeradius-stock", render_raddb(settings.state_dir / "raddb-stock", params)
    )
    return acct_port


def packet_file(
    directory: Path, kind: str, prefix: str, count: int, users: Sequence[str] = ()
) -> Path:
    """`count` Accounting-Requests of one kind, one session each, as a MikroTik sends them;
    from `users` in turn, or from 2,000 users of their own."""
    path = directory / f"{prefix}-{kind}.txt"
    packets = []
    for i in range(count):
        username = users[i % len(users)] if users else f"{prefix}u{i % 2000}"
        lines = [
            f"Acct-Status-Type = {kind}",
            f'User-Name = "{username}"',
            f'Acct-Session-Id = "{prefix}{i:08x}"',
            f"NAS-IP-Address = {DEMO_NAS_ADDRESS}",
            'NAS-Identifier = "bench"',
            'NAS-Port-Id = "bridge-hotspot"',
            'Calling-Station-Id = "AA:BB:CC:DD:EE:FF"',
            f"Framed-IP-Address = 10.5.{i // 250 % 250}.{i % 250 + 1}",
        ]
        if kind == "Interim-Update":
            lines += [
                "Acct-Session-Time = 60",
                f"Acct-Input-Octets = {1000 * i + 17}",
                "Acct-Input-Gigawords = 1",
                f"Acct-Output-Octets = {5000 * i + 3}",
            ]
        packets.append("\n".join(lines))
    path.write_text("\n\n".join(packets) + "\n")
    return path


def send(path: Path, acct_port: int, count: int) -> float:
    """Packets per second for one file; fails loudly if any packet went unanswered."""
    started = time.perf_counter()
    result = subprocess.run(
        ["radclient", "-q", "-s", "-p", "50", "-c", "1", "-t", "5", "-f", str(path),
         f"127.0.0.1:{acct_port}", "acct", DEMO_NAS_SECRET],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    lost = re.search(r"Lost\s*:\s*(\d+)", result.stdout)
    if result.returncode != 0 or (lost is not None and int(lost.group(1)) > 0):
        raise RuntimeError(f"radclient against port {acct_port}: {result.stdout}{result.stderr}")
    return count / elapsed


def throughput(
    ours: Connection,
    targets: list[Target],
    packets: int,
    rounds: int,
    *,
    run: str = "",
    users: Sequence[str] = (),
) -> dict[tuple[str, str], list[float]]:
    """Packets/s of each round per (target, packet kind); the targets take turns in every round,
    each round starting one further down the list (so none always follows the same one).
    Sessions are new to the database (`run` tells a second call's from the first's), of `users`
    (packet_file)."""
    rates: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-acct-") as tmp:
        directory = Path(tmp)
        for number, target in enumerate(targets):  # warm-up: connection pools, caches
            warm = packet_file(directory, "Start", f"{run}warm{number}", 500)
            send(warm, target.acct_port, 500)
        numbered = list(enumerate(targets))
        for round_no in range(rounds):
            turn = round_no % len(targets)
            for number, target in numbered[turn:] + numbered[:turn]:
                for statement in target.setup:
                    ours.execute(statement)
                prefix = f"{run}r{round_no}t{number}"  # new sessions: every Start inserts
                for kind in KINDS:
                    path = packet_file(directory, kind, prefix, packets, users)
                    rate = send(path, target.acct_port, packets)
                    rates.setdefault((target.label, kind), []).append(rate)
    return rates


def report_throughput(
    rates: dict[tuple[str, str], list[float]], targets: list[Target], args: argparse.Namespace
) -> None:
    median = {key: statistics.median(values) for key, values in rates.items()}
    stock = {kind: median[(STOCK_LABEL, kind)] for kind in KINDS}
    rows = []
    for target in targets:
        row = [target.label]
        for kind in KINDS:
            rate = median[(target.label, kind)]
            rounds = " ".join(f"{value:,.0f}" for value in rates[(target.label, kind)])
            row += [f"{rate:,.0f}", f"{rate / stock[kind] - 1:+.1%}", rounds]
        rows.append(tuple(row))
    table(
        f"(b) FreeRADIUS accounting, radclient -p 50, {args.packets:,} packets per run, "
        f"median of {args.rounds} rounds",
        ("schema", "Start / s", "vs stock", "rounds", "Interim / s", "vs stock", "rounds"),
        rows,
    )
