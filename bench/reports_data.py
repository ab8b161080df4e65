"""bench/reports' year of data: a few thousand users on five NASes, payments, radacct sessions,
SMS and Disconnect-Requests, made by INSERT … SELECT generate_series on two connections with the
secondary indexes dropped and rebuilt after (see bench.reports for what is generated and timed)."""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from hotspot.adapters import db
from hotspot.core.settings import PRIVATE_DB_NAME, Settings
from hotspot.dev.seed import DEMO_PACKAGES
from hotspot.dev.stack import Stack
from hotspot.reports import queries

Connection = psycopg.Connection[tuple[Any, ...]]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def connect(
    stack: Stack, plan: Plan | None = None, package_ids: list[int] | None = None
) -> Connection:
    """A superuser connection for loading: no triggers (the foreign keys and the sync_seq
    stamp; we write sync_seq ourselves), no waiting for the WAL."""
    conn: Connection = psycopg.connect(stack.superuser_dsn(PRIVATE_DB_NAME), autocommit=True)
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET jit = off")  # compiling these expressions takes longer than running them
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute("SET max_parallel_maintenance_workers = 0")
    if plan is not None and package_ids is not None:
        for statement in functions(plan, package_ids):
            conn.execute(statement.encode())
    return conn


def scalar(conn: Connection, statement: str) -> int:
    row = conn.execute(statement.encode()).fetchone()
    return int(row[0]) if row is not None else 0


PAYMENTS = 1_000_000


SESSIONS_PER_PAYMENT = 10


USERS = 5_000


SPAN_DAYS = 365


NASES = (  # shortname, share of the users who call it home
    ("campus-main", 0.35),
    ("library", 0.25),
    ("hostel-a", 0.20),
    ("hostel-b", 0.13),
    ("cafe", 0.07),
)


LOADED_TABLES = ("radacct", "payments", "sms_messages", "session_disconnections", "radius_sessions")


CHUNK = 500_000


@dataclass(frozen=True)
class Plan:
    payments: int
    users: int
    now: dt.datetime

    @property
    def sessions(self) -> int:
        return self.payments * SESSIONS_PER_PAYMENT

    @property
    def disconnections(self) -> int:
        return self.sessions * 3 // 100

    @property
    def start(self) -> dt.datetime:
        return self.now - dt.timedelta(days=SPAN_DAYS)


def functions(plan: Plan, package_ids: list[int]) -> list[str]:
    """Deterministic pseudo-random helpers, so a session knows its payment without a lookup.

    u(k, salt) is uniform in [0, 1) for each (k, salt); the growth curve puts payment k at the
    point of the year where a volume rising linearly from 0.5x to 1.5x has reached k/P.
    """
    p, users = plan.payments, plan.users
    one, day, week = package_ids
    t0 = plan.start.isoformat()
    span = SPAN_DAYS * 86400
    return [
        "CREATE FUNCTION pg_temp.u(k bigint, salt int) RETURNS float8 LANGUAGE sql STABLE AS "
        "$$ SELECT ((hashint8extended(k, salt) >> 11) & 4503599627370495)::float8 "
        "/ 4503599627370496.0 $$",
        "CREATE FUNCTION pg_temp.created(k bigint) RETURNS timestamptz LANGUAGE sql STABLE AS "
        f"$$ SELECT '{t0}'::timestamptz + make_interval(secs => {span} "
        f"* (sqrt(0.25 + 2 * (k - 0.5) / {p}) - 0.5)) $$",
        "CREATE FUNCTION pg_temp.c2b(k bigint) RETURNS boolean LANGUAGE sql STABLE AS "
        "$$ SELECT pg_temp.u(k, 1) < 0.08 $$",
        # Heavy users: the lowest user numbers buy most.
        "CREATE FUNCTION pg_temp.buyer(k bigint) RETURNS int LANGUAGE sql STABLE AS "
        f"$$ SELECT 1 + floor({users} * power(pg_temp.u(k, 2), 1.6))::int $$",
        "CREATE FUNCTION pg_temp.package(k bigint) RETURNS int LANGUAGE sql STABLE AS "
        f"$$ SELECT CASE WHEN pg_temp.u(k, 3) < 0.55 THEN {one} "
        f"WHEN pg_temp.u(k, 3) < 0.90 THEN {day} ELSE {week} END $$",
        "CREATE FUNCTION pg_temp.validity(k bigint) RETURNS int LANGUAGE sql STABLE AS "
        "$$ SELECT CASE WHEN pg_temp.u(k, 3) < 0.55 THEN 3600 "
        "WHEN pg_temp.u(k, 3) < 0.90 THEN 86400 ELSE 604800 END $$",
        "CREATE FUNCTION pg_temp.status(k bigint) RETURNS text LANGUAGE sql STABLE AS $$ "
        "SELECT CASE WHEN pg_temp.c2b(k) THEN "
        "  CASE WHEN pg_temp.u(k, 4) < 0.97 THEN 'paid' ELSE 'unmatched' END "
        "WHEN pg_temp.u(k, 4) < 0.80 THEN 'paid' "
        "WHEN pg_temp.u(k, 4) < 0.92 THEN 'failed' "
        f"WHEN pg_temp.created(k) > '{plan.now.isoformat()}'::timestamptz - interval '5 minutes' "
        "  THEN 'pending' "
        "ELSE 'expired' END $$",
        "CREATE FUNCTION pg_temp.paid_at(k bigint) RETURNS timestamptz LANGUAGE sql STABLE AS "
        "$$ SELECT CASE WHEN pg_temp.status(k) <> 'paid' THEN NULL "
        "WHEN pg_temp.c2b(k) THEN pg_temp.created(k) "
        "ELSE pg_temp.created(k) + make_interval(secs => 8 + 30 * pg_temp.u(k, 5)) END $$",
        "CREATE FUNCTION pg_temp.online(k bigint) RETURNS boolean LANGUAGE sql STABLE AS "
        "$$ SELECT pg_temp.status(k) = 'paid' AND pg_temp.u(k, 6) < 0.93 $$",
    ]


def base_rows(conn: Connection, plan: Plan) -> list[int]:
    """NASes, the demo packages and the users; returns the package ids (1 Hour, 1 Day, 1 Week)."""
    for number, (name, _) in enumerate(NASES, start=1):
        conn.execute(
            "INSERT INTO nas (operator_id, nasname, shortname, type, secret, description) "
            "SELECT id, %s, %s, 'mikrotik', 'bench-secret', 'bench/reports' "
            "FROM operators WHERE code = 'DEFAULT'",
            (f"10.10.0.{number}", name),
        )
    ids = []
    for spec in DEMO_PACKAGES:
        row = conn.execute(
            "INSERT INTO packages (operator_id, name, group_name, price, duration_seconds, "
            "data_cap_bytes, rate_limit, devices) "
            "SELECT id, %s, %s, %s, %s, %s, %s, %s FROM operators WHERE code = 'DEFAULT' "
            "RETURNING id",
            (
                spec.name,
                "pkg_" + spec.name.lower().replace(" ", "_"),
                spec.price,
                spec.duration_seconds,
                spec.data_cap_bytes,
                spec.rate_limit,
                spec.devices,
            ),
        ).fetchone()
        assert row is not None
        ids.append(int(row[0]))
    bounds = []
    total = 0.0
    for number, (_, share) in enumerate(NASES, start=1):
        total += share
        bounds.append(f"WHEN h < {total:.4f} THEN {number}")
    conn.execute(
        f"""
        CREATE UNLOGGED TABLE bench_users AS
        SELECT i AS idx,
               'u' || lpad(i::text, 7, '0') AS username,
               '+2547' || lpad((10000000 + i * 7919 % 90000000)::text, 8, '0') AS phone,
               upper(regexp_replace(substr(md5('mac' || i), 1, 12), '(..)(?!$)', '\\1:', 'g'))
                   AS mac,
               CASE {" ".join(bounds)} ELSE 1 END AS home_nas
          FROM generate_series(1, {plan.users}) AS i,
               LATERAL (SELECT ((hashint8extended(i, 99) >> 11) & 4503599627370495)::float8
                               / 4503599627370496.0 AS h) AS hh
        """.encode()  # noqa: S608 - our own numbers
    )
    conn.execute("ALTER TABLE bench_users ADD PRIMARY KEY (idx)")
    conn.execute(
        """
        INSERT INTO hotspot_users (id, operator_id, username, phone, package_id, status,
                                   expires_at, created_at, updated_at)
        SELECT idx, o.id, username, phone, %s, 'active', %s + interval '1 hour', %s, %s
          FROM bench_users, operators o
         WHERE o.code = 'DEFAULT'
        """,
        (ids[0], plan.now, plan.start, plan.now),
    )
    return ids


def payments_sql(lo: int, hi: int) -> str:
    # OFFSET 0 keeps a subquery a subquery: flattened, each use of a column would compute it again.
    return f"""
    INSERT INTO payments (id, operator_id, method, package_id, user_id, phone, amount,
                          amount_paid, status,
                          portal_token_hash, bill_ref_number, checkout_request_id,
                          merchant_request_id, mpesa_receipt, result_code, failure_reason, mac,
                          ip, created_at, updated_at, paid_at)
    SELECT g.k,
           pk.operator_id,
           (CASE WHEN g.c2b THEN 'c2b' ELSE 'stk' END)::payment_method,
           CASE WHEN g.status <> 'unmatched' THEN g.package END,
           CASE WHEN g.status = 'paid' THEN g.buyer END,
           CASE WHEN g.status <> 'unmatched' THEN bu.phone END,
           pk.price,
           CASE WHEN g.status IN ('paid', 'unmatched') THEN pk.price END,
           g.status::payment_status,
           CASE WHEN NOT g.c2b THEN md5(g.k || 'portal') END,
           CASE WHEN g.c2b THEN bu.username END,
           CASE WHEN NOT g.c2b THEN 'ws_CO_' || g.k END,
           CASE WHEN NOT g.c2b THEN 'bench-' || g.k END,
           CASE WHEN g.status IN ('paid', 'unmatched') THEN 'R' || lpad(upper(to_hex(g.k)), 9, '0')
           END,
           CASE g.status WHEN 'paid' THEN '0' WHEN 'unmatched' THEN '0'
                WHEN 'failed' THEN (ARRAY['1032', '2001', '1', '1037'])[1 + (g.k % 4)::int]
                WHEN 'expired' THEN '1019' END,
           CASE WHEN g.status = 'failed' THEN
                (ARRAY['Request cancelled by user', 'The initiator information is invalid',
                       'The balance is insufficient for the transaction',
                       'DS timeout user cannot be reached'])[1 + (g.k % 4)::int] END,
           CASE WHEN NOT g.c2b THEN bu.mac END,
           CASE WHEN NOT g.c2b THEN '10.20.0.0'::inet + (g.k % 60000) END,
           g.created,
           COALESCE(g.paid_at, g.created + interval '1 minute'),
           g.paid_at
      FROM (SELECT k, pg_temp.c2b(k) AS c2b, pg_temp.buyer(k) AS buyer,
                   pg_temp.package(k) AS package, pg_temp.status(k) AS status,
                   pg_temp.created(k) AS created, pg_temp.paid_at(k) AS paid_at
              FROM generate_series({lo}, {hi}) AS k
            OFFSET 0) AS g
      JOIN bench_users bu ON bu.idx = g.buyer
      JOIN packages pk ON pk.id = g.package
    """  # noqa: S608 - our own numbers


def radacct_sql(lo: int, hi: int, now: dt.datetime) -> str:
    """Sessions j of payment k = (j - 1) / 10 + 1: the first a minute after paying (or, for the
    7 % of payments that never get online that day, a day or more later), the others spread over
    the package's validity; one that would start after now ends as far before now instead.
    Durations are exponential, 40 minutes on average; a session is open when it would end after
    now (so only those that began before now are: as many as the day's users hold at once)."""
    n = f"'{now.isoformat()}'::timestamptz"
    return f"""
    INSERT INTO radacct (radacctid, acctsessionid, acctuniqueid, username, realm, nasipaddress,
                         nasportid, nasporttype, acctstarttime, acctupdatetime, acctstoptime,
                         acctinterval, acctsessiontime, acctauthentic, acctinputoctets,
                         acctoutputoctets, calledstationid, callingstationid, acctterminatecause,
                         servicetype, framedipaddress, sync_seq)
    SELECT t.j,
           lpad(to_hex(t.j), 10, '0'),
           md5(t.j::text),
           bu.username,
           '',
           '10.10.0.0'::inet + CASE WHEN pg_temp.u(t.j, 11) < 0.85 THEN bu.home_nas
                                    ELSE 1 + floor({len(NASES)} * pg_temp.u(t.j, 15))::int END,
           'hotspot1',
           'Wireless-802.11',
           t.started,
           CASE WHEN t.open THEN GREATEST(t.started, {n} - make_interval(
                    secs => 60 * pg_temp.u(t.j, 12)))
                ELSE t.started + make_interval(secs => t.seconds) END,
           CASE WHEN NOT t.open THEN t.started + make_interval(secs => t.seconds) END,
           60,
           CASE WHEN t.open THEN extract(epoch FROM {n} - t.started)::bigint
                ELSE t.seconds::bigint END,
           'RADIUS',
           (t.down * (0.05 + 0.25 * pg_temp.u(t.j, 13)))::bigint,
           t.down::bigint,
           'hotspot1',
           bu.mac,
           CASE WHEN t.open THEN NULL
                WHEN pg_temp.u(t.j, 14) < 0.50 THEN 'User-Request'
                WHEN pg_temp.u(t.j, 14) < 0.80 THEN 'Idle-Timeout'
                WHEN pg_temp.u(t.j, 14) < 0.95 THEN 'Lost-Carrier'
                ELSE 'Session-Timeout' END,
           'Login-User',
           '10.30.0.0'::inet + (t.j % 250000),
           t.j
      FROM (SELECT s.*,
                   s.started + make_interval(secs => s.seconds) > {n} AS open,
                   s.seconds * 60000 * -ln(1 - pg_temp.u(s.j, 10)) AS down
              FROM (SELECT b.j, b.buyer, b.seconds,
                           CASE WHEN b.since + make_interval(secs => b.after) < {n}
                                THEN b.since + make_interval(secs => b.after)
                                ELSE {n} - make_interval(secs => b.after + b.seconds)
                           END AS started
                      FROM (SELECT a.*,
                                   CASE WHEN a.first AND a.online THEN 15 + 60 * pg_temp.u(a.j, 8)
                                        ELSE a.validity * pg_temp.u(a.j, 8) END AS after,
                                   GREATEST(30, LEAST(-ln(1 - pg_temp.u(a.j, 9)) * 2400,
                                                      a.validity, 8 * 3600)) AS seconds
                              FROM (SELECT j, (j - 1) % {SESSIONS_PER_PAYMENT} = 0 AS first,
                                           pg_temp.buyer(k) AS buyer,
                                           pg_temp.validity(k) AS validity,
                                           pg_temp.online(k) AS online,
                                           CASE WHEN pg_temp.online(k) THEN pg_temp.paid_at(k)
                                                ELSE pg_temp.created(k) + interval '25 hours'
                                                     + make_interval(
                                                         secs => 172800 * pg_temp.u(k, 7))
                                           END AS since
                                      FROM generate_series({lo}, {hi}) AS j,
                                           LATERAL (SELECT (j - 1) / {SESSIONS_PER_PAYMENT} + 1
                                                       AS k) AS kk
                                    OFFSET 0) AS a
                            OFFSET 0) AS b
                    OFFSET 0) AS s
            OFFSET 0) AS t
      JOIN bench_users bu ON bu.idx = t.buyer
    """  # noqa: S608 - our own numbers


def radius_sessions_sql(lo: int, hi: int) -> str:
    """Our copy (the accounting sync's) of each payment's first session, what the reports read;
    not of the other nine: a second 100 M rows would not fit beside radacct on a bench's disk."""
    return f"""
    INSERT INTO radius_sessions (user_id, status, acct_unique_id, acct_session_id, nas_ip,
                                 framed_ip, mac, nas_port_id, started_at, stopped_at,
                                 last_update_at, input_octets, output_octets, created_at)
    SELECT u.id,
           (CASE WHEN r.acctstoptime IS NULL THEN 'active' ELSE 'closed' END)::session_status,
           r.acctuniqueid, r.acctsessionid, r.nasipaddress, r.framedipaddress,
           r.callingstationid, r.nasportid, r.acctstarttime, r.acctstoptime, r.acctupdatetime,
           r.acctinputoctets, r.acctoutputoctets, r.acctstarttime
      FROM radacct r
      JOIN hotspot_users u ON u.username = r.username
     WHERE r.radacctid BETWEEN {lo} AND {hi} AND (r.radacctid - 1) % {SESSIONS_PER_PAYMENT} = 0
    """  # noqa: S608 - our own numbers


def sms_sql() -> str:
    """The credentials SMS of each paid payment that bought a package."""
    return """
    INSERT INTO sms_messages (id, operator_id, idempotency_key, user_id, phone, purpose, body,
                             status,
                             provider_status_code, provider_message_id, cost, error, created_at,
                             sent_at)
    SELECT p.id,
           p.operator_id,
           'credentials:' || p.id,
           p.user_id,
           p.phone,
           'credentials',
           'WiFi login: username u' || p.user_id || ' password ' || substr(md5(p.id::text), 1, 8),
           (CASE WHEN r < 0.955 THEN 'delivered' WHEN r < 0.970 THEN 'sent'
                 WHEN r < 0.995 THEN 'failed' ELSE 'claimed' END)::sms_status,
           CASE WHEN r < 0.970 THEN 101 WHEN r < 0.980 THEN 403 END,
           CASE WHEN r < 0.995 THEN 'ATXid_' || md5(p.id || 'at') END,
           CASE WHEN r < 0.995 THEN 'KES 0.8000' END,
           CASE WHEN r < 0.970 THEN NULL
                WHEN r < 0.980 THEN '403 InvalidPhoneNumber'
                WHEN r < 0.995 THEN (ARRAY['DeliveryFailure', 'AbsentSubscriber',
                                           'UserInBlackList'])[1 + (p.id % 3)::int]
                WHEN r < 0.997 THEN 'outcome unknown: read timed out'
                ELSE 'retrying: 500 Internal Server Error' END,
           p.paid_at + interval '1 second',
           CASE WHEN r < 0.995 THEN p.paid_at + interval '2 seconds' END
      FROM payments p,
           LATERAL (SELECT pg_temp.u(p.id, 21) AS r OFFSET 0) AS rr
     WHERE p.status = 'paid' AND p.user_id IS NOT NULL
    """


def disconnections_sql(plan: Plan) -> str:
    """Disconnect-Requests at expiry, for data caps and by admins; 4 % not ACKed."""
    count = plan.disconnections
    t0 = plan.start.isoformat()
    return f"""
    INSERT INTO session_disconnections (id, user_id, reason, result, error_cause, attempt, nas_ip,
                                        detail, created_at)
    SELECT i,
           1 + floor({plan.users} * power(pg_temp.u(i, 31), 1.6))::int,
           CASE WHEN pg_temp.u(i, 32) < 0.90 THEN 'expired'
                WHEN pg_temp.u(i, 32) < 0.95 THEN 'data_cap' ELSE 'admin' END,
           CASE WHEN r < 0.960 THEN 'ack' WHEN r < 0.980 THEN 'timeout'
                WHEN r < 0.990 THEN 'nak' ELSE 'failed' END,
           CASE WHEN r >= 0.980 AND r < 0.987 THEN 503
                WHEN r >= 0.987 AND r < 0.990 THEN 404
                WHEN r >= 0.995 THEN 506 END,
           CASE WHEN r < 0.960 THEN 1 WHEN r < 0.990 THEN 1 + (i % 3)::int ELSE 4 END,
           '10.10.0.0'::inet + (1 + floor({len(NASES)} * pg_temp.u(i, 33))::int),
           'session ' || to_hex(i),
           '{t0}'::timestamptz + make_interval(
               secs => {SPAN_DAYS * 86400} * (sqrt(0.25 + 2 * (i - 0.5) / {count}) - 0.5))
      FROM generate_series(1, {count}) AS i,
           LATERAL (SELECT pg_temp.u(i, 34) AS r OFFSET 0) AS rr
    """  # noqa: S608 - our own numbers


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, total + 1, size):
        yield lo, min(total, lo + size - 1)


def run_parallel(
    make_conn: Callable[[], Connection], statements: list[tuple[str, str]], workers: int = 2
) -> None:
    """Runs (label, SQL) statements on `workers` connections, in order of submission."""
    work: queue.Queue[tuple[str, str]] = queue.Queue()
    for item in statements:
        work.put(item)
    errors: list[BaseException] = []

    def worker() -> None:
        with make_conn() as conn:
            while not errors:
                try:
                    label, statement = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    conn.execute(statement.encode())
                except BaseException as exc:
                    errors.append(exc)
                    return
                say(f"  {label}: {time.perf_counter() - started:.1f} s")

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def secondary_indexes(conn: Connection) -> tuple[list[str], list[str]]:
    """(drop, create) statements for every index but the primary keys of the loaded tables;
    radacct's first, the biggest, so the two connections finish together."""
    drops: list[str] = []
    creates: list[tuple[int, str]] = []
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)",
        (list(LOADED_TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        creates.append(
            (LOADED_TABLES.index(table), f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        )
    for table, name, definition in conn.execute(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) "
        "AND i.indexname NOT IN (SELECT conname FROM pg_constraint)",
        (list(LOADED_TABLES),),
    ).fetchall():
        drops.append(f"DROP INDEX {name}")
        creates.append((LOADED_TABLES.index(table), definition))
    return drops, [statement for _, statement in sorted(creates)]


def load(settings: Settings, stack: Stack, plan: Plan) -> dict[str, float]:
    phases: dict[str, float] = {}
    started = time.perf_counter()
    with connect(stack) as conn:
        package_ids = base_rows(conn, plan)
        drops, creates = secondary_indexes(conn)
        for statement in drops:
            conn.execute(statement.encode())

    def loader() -> Connection:
        return connect(stack, plan, package_ids)

    say(f"loading {plan.payments:,} payments and {plan.sessions:,} sessions")
    work = [
        (f"payments {lo:,}-{hi:,}", payments_sql(lo, hi)) for lo, hi in chunks(plan.payments, CHUNK)
    ]
    work += [
        (f"radacct {lo:,}-{hi:,}", radacct_sql(lo, hi, plan.now))
        for lo, hi in chunks(plan.sessions, CHUNK * 2)
    ]
    work.append((f"{plan.disconnections:,} disconnections", disconnections_sql(plan)))
    run_parallel(loader, work)
    run_parallel(
        loader,
        [
            (f"radius_sessions of {lo:,}-{hi:,}", radius_sessions_sql(lo, hi))
            for lo, hi in chunks(plan.sessions, CHUNK * 20)
        ],
    )
    with loader() as conn:
        conn.execute(sms_sql().encode())
        conn.execute("DROP TABLE bench_users")
    phases["generate rows"] = time.perf_counter() - started

    started = time.perf_counter()
    say(f"building {len(creates)} indexes")
    run_parallel(loader, [(c.split(" ON ")[0][:70], c) for c in creates])
    phases["build indexes"] = time.perf_counter() - started

    started = time.perf_counter()
    say("VACUUM ANALYZE")
    run_parallel(
        loader,
        [(f"vacuum {t}", f"VACUUM (ANALYZE) {t}") for t in (*LOADED_TABLES, "hotspot_users")],
    )
    with connect(stack) as conn:
        for sequence, table, column in (
            ("radacct_radacctid_seq", "radacct", "radacctid"),
            ("radacct_sync_seq", "radacct", "sync_seq"),
            ("payments_id_seq", "payments", "id"),
            ("hotspot_users_id_seq", "hotspot_users", "id"),
            ("sms_messages_id_seq", "sms_messages", "id"),
            ("session_disconnections_id_seq", "session_disconnections", "id"),
            ("radius_sessions_id_seq", "radius_sessions", "id"),
        ):
            top = scalar(conn, f"SELECT COALESCE(max({column}), 0) FROM {table}")  # noqa: S608
            conn.execute("SELECT setval(%s::regclass, %s)", (sequence, top + 1))
    phases["vacuum, analyze"] = time.perf_counter() - started

    started = time.perf_counter()
    say("refreshing the rollups (hotspot report refresh)")
    engine = db.make_engine(settings.effective_database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            queries.refresh_rollups(session)
    finally:
        engine.dispose()
    phases["refresh rollups"] = time.perf_counter() - started
    return phases
