"""bench/payments: how fast money becomes access.

Starts a private stack (PostgreSQL, Redis, FreeRADIUS) and the API under gunicorn (workers and
threads as `hotspot run` starts them), creates pending payments, then plays the gateway
(`--gateway`; bench/gateways.py says what each sends):

1. capacity: 50 concurrent clients POST success callbacks (webhooks) as fast as they are
   answered (the median of `--repeat` runs);
2. latency at steady offered loads (default 150 and 300 callbacks/s), open loop as a gateway
   sends them, each response timed from the moment it was due; one payment in ten
   has the portal's SSE stream open, timed from its callback to the `paid` event;
3. callback → first Access-Accept for the new credentials, one at a time.

    .venv/bin/python -m bench.payments [--payments 3000] [--clients 50] [--repeat 3]
                                       [--rates 150,300] [--deployment docker]
                                       [--gateway mpesa,iotec,campay]

An ioTec or CamPay webhook is only a trigger: the API asks the gateway's status endpoint (here its
local sandbox, a process of its own) before it settles, so their figures include that round trip.

`--deployment DIR` measures a running Docker deployment instead (DIR holds its .env and
hotspot.env; `make deploy-up` for the trial): callbacks through its TLS proxy (with
`--past-the-proxy` straight to its api container), payments written through PostgreSQL's port on
127.0.0.1, logins to its FreeRADIUS.

Closed-loop clients measure capacity, not latency: 50 clients that never pause keep 50
callbacks queued whatever the server does, so their response time is 50 / throughput.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyrad import packet
from sqlalchemy import select

from bench import percentile, private_stack
from bench.gateways import GATEWAYS, BenchGateway, Delivery
from hotspot.adapters import db
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.settings import Settings, read_env_file
from hotspot.dev.seed import seed_demo
from hotspot.dev.stack import Stack, sandbox_gateways
from hotspot.models import HotspotCredential
from radius.client import login, make_client

FAST = os.environ.get("BENCH_FAST") == "1"
PORTAL_TOKEN = secrets.token_urlsafe(24)  # every bench payment's, as a portal would hold it


@dataclass(frozen=True)
class Api:
    """Where the callbacks go: the API itself, or a deployment's TLS proxy."""

    port: int
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.tls is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.tls)


class Client(threading.local):
    """One keep-alive HTTP connection per thread, as a real load generator keeps."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.conn: http.client.HTTPConnection | None = None

    def post(self, delivery: Delivery) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", **delivery.headers}
        for _ in range(2):
            if self.conn is None:
                self.conn = self.api.connection(timeout=30)
            try:
                self.conn.request("POST", delivery.path, delivery.body, headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
        raise RuntimeError("the API closed the connection twice")


@contextmanager
def bench_stack() -> Iterator[tuple[Settings, Stack]]:
    """The private stack with the demo packages and FreeRADIUS."""
    with private_stack("hotspot-bench-", fast=FAST) as (settings, stack):
        engine = db.make_engine(settings.effective_database_url)
        with db.transaction(db.session_factory(engine)) as session:
            seed_demo(session, interim_interval=60, currency="KES")
        engine.dispose()
        stack.start_freeradius()
        yield settings, stack


def environment(settings: Settings) -> dict[str, str]:
    """The bench stack's settings, for the processes it starts (the API, the sandboxes)."""
    return {
        **os.environ,
        "HOTSPOT_STATE_DIR": str(settings.state_dir),
        "HOTSPOT_DATABASE_URL": settings.effective_database_url,
        "HOTSPOT_REDIS_URL": settings.effective_redis_url,
        "HOTSPOT_API_PORT": str(settings.api_port),
        **sandbox_gateways(settings.sandbox_iotec_port, settings.sandbox_campay_port),
    }


def start_api(settings: Settings, stack: Stack, workers: int, threads: int) -> None:
    env = environment(settings)
    stack.spawn(
        "api",
        [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{settings.api_port}",
            "--workers", str(workers), "--threads", str(threads), "hotspot.web.wsgi:app",
        ],
        env=env,
        stop_signal=signal.SIGINT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", settings.api_port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.1)


def throughput(
    gateway: BenchGateway, api: Api, clients: int, count: int
) -> tuple[float, list[float]]:
    deliveries = gateway.deliveries(count)
    client = Client(api)
    latencies: list[float] = []

    def one(delivery: Delivery) -> None:
        started = time.perf_counter()
        status, body = client.post(delivery)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"callback answered {status}: {body[:200]!r}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, deliveries))
    elapsed = time.perf_counter() - started
    return count / elapsed, latencies


def offered_load(
    gateway: BenchGateway, api: Api, rate: float, count: int, *, clients: int, watch_every: int
) -> tuple[list[float], list[float]]:
    """Callbacks at a steady `rate` (open loop, as M-Pesa sends them: not waiting for our
    answers), from `clients` connections. Each response time counts from the moment its callback
    was due, so a late send (all clients busy) counts against us. One payment in `watch_every`
    has its SSE stream open, as a portal would: callback sent → `paid` read from that stream."""
    deliveries = gateway.deliveries(count)
    client = Client(api)
    responses: list[float] = []
    events: list[float] = []
    sent_at: dict[int, float] = {}
    next_index = iter(range(count))
    take = threading.Lock()
    start = time.perf_counter() + 0.5

    def watch(n: int) -> None:
        time.sleep(max(0.0, start + n / rate - 0.2 - time.perf_counter()))
        stream = api.connection(timeout=30)
        payment_id = deliveries[n].payment_id
        stream.request("GET", f"/api/payments/{payment_id}/events?token={PORTAL_TOKEN}")
        response = stream.getresponse()
        if response.status != 200:
            raise RuntimeError(f"the status stream answered {response.status}")
        while b"paid" not in response.readline():
            pass
        events.append(time.perf_counter() - sent_at[n])
        stream.close()

    def send() -> None:
        while True:
            with take:
                n = next(next_index, None)
            if n is None:
                return
            due = start + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            sent_at[n] = time.perf_counter()
            status, body = client.post(deliveries[n])
            responses.append(time.perf_counter() - due)
            if status != 200:
                raise RuntimeError(f"callback answered {status}: {body[:200]!r}")

    with ThreadPoolExecutor(clients) as senders, ThreadPoolExecutor(16) as watchers:
        streams = [watchers.submit(watch, n) for n in range(0, count, watch_every)]
        sending = [senders.submit(send) for _ in range(clients)]
        for future in (*sending, *streams):
            future.result()
    return responses, events


def access_latency(
    settings: Settings, gateway: BenchGateway, api: Api, samples: int
) -> list[float]:
    """Callback sent → an Access-Request with the new credentials gets Access-Accept, from the
    router of the payment's operator."""
    client = Client(api)
    radius = make_client(
        "127.0.0.1",
        DEMO_NAS_SECRET,
        auth_port=settings.radius_auth_port,
        acct_port=settings.radius_acct_port,
        source_address=gateway.nas_address,
    )
    engine = db.make_engine(settings.effective_database_url)
    latencies: list[float] = []
    for delivery in gateway.deliveries(samples):
        payment_id = delivery.payment_id
        sent = time.perf_counter()
        client.post(delivery)
        with engine.connect() as conn:
            username, password = conn.execute(
                select(HotspotCredential.username, HotspotCredential.password).where(
                    HotspotCredential.payment_id == payment_id
                )
            ).one()
        reply = login(radius, username, password)
        if reply.code != packet.AccessAccept:
            raise RuntimeError(f"{username} was rejected")
        latencies.append(time.perf_counter() - sent)
    engine.dispose()
    return latencies


def deploy_command(directory: Path, *arguments: str) -> str:
    return subprocess.run(
        [str(Path(__file__).resolve().parents[1] / "docker" / "deploy"), *arguments],
        env={**os.environ, "HOTSPOT_DEPLOY_DIR": str(directory.resolve())},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def api_container_address(directory: Path) -> str:
    """The (first) api container's address on the compose network, which this machine routes."""
    container = deploy_command(directory, "compose", "ps", "-q", "api").split()[0]
    return subprocess.run(
        [
            "docker",
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            container,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@contextmanager
def deployment(directory: Path, *, past_the_proxy: bool) -> Iterator[tuple[Settings, Api]]:
    """A running Docker deployment, reached as from this machine: its proxy (trusting its local
    CA), or `past_the_proxy` its api container straight, to tell the proxy's share; its
    PostgreSQL's loopback port as the superuser; its FreeRADIUS."""
    compose = read_env_file(directory / ".env")
    app = read_env_file(directory / "hotspot.env")
    ca = deploy_command(directory, "ca")
    with tempfile.TemporaryDirectory(prefix="hotspot-bench-") as state:
        password = compose["HOTSPOT_POSTGRES_SUPERUSER_PASSWORD"]
        port = compose.get("HOTSPOT_POSTGRES_HOST_PORT", "55432")
        environ = {
            "HOTSPOT_STATE_DIR": state,
            "HOTSPOT_DATABASE_URL": f"postgresql+psycopg://postgres:{password}@127.0.0.1:{port}/hotspot",
            "HOTSPOT_MPESA_CALLBACK_TOKEN": app["HOTSPOT_MPESA_CALLBACK_TOKEN"],
            "HOTSPOT_MPESA_CALLBACK_KEY": app["HOTSPOT_MPESA_CALLBACK_KEY"],
            "HOTSPOT_RADIUS_AUTH_PORT": compose.get("HOTSPOT_RADIUS_AUTH_PORT", "1812"),
            "HOTSPOT_RADIUS_ACCT_PORT": compose.get("HOTSPOT_RADIUS_ACCT_PORT", "1813"),
        }
        settings = Settings.from_env(environ, dotenv=None)
        if past_the_proxy:
            yield settings, Api(8000, host=api_container_address(directory))
            return
        tls = ssl.create_default_context(cadata=ca)
        yield settings, Api(int(compose.get("HOTSPOT_HTTPS_PORT", "443")), tls)


@contextmanager
def measured(args: argparse.Namespace) -> Iterator[tuple[Settings, Api, list[BenchGateway]]]:
    """The private stack with its own API (as `hotspot run` starts it) and the gateways'
    sandboxes, or a deployment (M-Pesa's callbacks only)."""
    if args.deployment:
        with deployment(Path(args.deployment), past_the_proxy=args.past_the_proxy) as found:
            yield *found, [BenchGateway("mpesa", found[0], PORTAL_TOKEN)]
        return
    with bench_stack() as (settings, stack):
        args.workers = args.workers or settings.api_workers
        args.threads = args.threads or settings.api_threads
        gateways = [BenchGateway(name, settings, PORTAL_TOKEN) for name in args.gateway]
        for gateway in gateways:
            gateway.start(stack, environment(settings))
        start_api(settings, stack, args.workers, args.threads)
        try:
            yield settings, Api(settings.api_port), gateways
        finally:
            for gateway in gateways:
                gateway.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def measure(
    settings: Settings, api: Api, gateway: BenchGateway, args: argparse.Namespace
) -> list[tuple[str, str, str]]:
    """One gateway's rows: (measure, result, target)."""
    rows: list[tuple[str, str, str]] = []
    throughput(gateway, api, args.clients, 200)  # warm-up: connections, caches
    # A shared VM's speed drifts from minute to minute: the median of a few runs, and their range.
    runs = sorted(
        throughput(gateway, api, args.clients, args.payments)[0] for _ in range(args.repeat)
    )
    rows.append((f"provisioned payments / s ({args.clients} clients)",
                 f"{statistics.median(runs):.0f}", "≥ 300"))  # fmt: skip
    rows.append(("  (runs)", "/".join(f"{run:.0f}" for run in runs), ""))
    for rate in args.rates:
        callback, events = offered_load(
            gateway, api, rate, int(rate * 10), clients=args.clients, watch_every=10
        )
        at = f"@ {rate:.0f}/s"
        rows += [
            (f"callback response p50 {at}", ms(statistics.median(callback)), ""),
            (f"callback response p99 {at}", ms(percentile(callback, 0.99)), "≤ 50 ms"),
            (f"callback → SSE event p50 {at}", ms(statistics.median(events)), ""),
            (f"callback → SSE event p99 {at}", ms(percentile(events, 0.99)), "≤ 50 ms"),
        ]
    access = access_latency(settings, gateway, api, args.samples)
    return [
        *rows,
        ("callback → Access-Accept p50", ms(statistics.median(access)), ""),
        ("callback → Access-Accept p99", ms(percentile(access, 0.99)), ""),
    ]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the setting)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: the setting)")
    parser.add_argument(
        "--rates", default="150,300", help="offered callbacks per second, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3, help="capacity runs (the median counts)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--gateway",
        default="mpesa",
        help=f"some of {', '.join(GATEWAYS)}, comma-separated: a column each, in one run",
    )
    parser.add_argument(
        "--deployment", help="a Docker deployment's env directory (e.g. docker) to measure"
    )
    parser.add_argument(
        "--past-the-proxy",
        action="store_true",
        help="with --deployment: callbacks straight to the api container, not through the proxy",
    )
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",")]
    args.gateway = [name.strip() for name in args.gateway.split(",") if name.strip()]
    if not args.gateway or set(args.gateway) - set(GATEWAYS):
        parser.error(f"--gateway takes some of {', '.join(GATEWAYS)}")
    if args.deployment and args.gateway != ["mpesa"]:
        parser.error("--deployment measures M-Pesa's callbacks only")
    return args


def main() -> None:
    args = arguments()
    results: dict[str, list[tuple[str, str, str]]] = {}
    with measured(args) as (settings, api, gateways):
        for gateway in gateways:
            results[gateway.name] = measure(settings, api, gateway, args)
    served = f"gunicorn {args.workers} workers x {args.threads} threads"
    if args.deployment:
        route = "its api container" if args.past_the_proxy else "its TLS proxy"
        served = f"the deployment in {args.deployment}, through {route}"
    print(
        f"\nbench/payments: {args.payments} callbacks, {args.clients} clients, {served}, "
        f"{os.cpu_count()} cores\n"
    )
    names = list(results)
    first = results[names[0]]
    print("| " + " | ".join([f"{'measure':<44}", *(f"{n:>14}" for n in names), "target  "]) + " |")
    print("|" + "|".join(["-" * 46, *("-" * 16 for _ in names), "-" * 10]) + "|")
    for index, (name, _, target) in enumerate(first):
        values = [f"{results[n][index][1]:>14}" for n in names]
        print("| " + " | ".join([f"{name:<44}", *values, f"{target:>8}"]) + " |")


if __name__ == "__main__":
    main()
