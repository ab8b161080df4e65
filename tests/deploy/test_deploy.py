"""The production deployment, as an operator gets it: started, paid through, crashed, scaled,
served by two FreeRADIUS, backed up and restored (`make test-deploy`)."""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.deploy.conftest import (
    DEMO_NAS_SECRET,
    DOCKER,
    TEST_SETTINGS,
    Deployment,
    run,
)
from tests.deploy.router import COA_PORT, RouterNetwork
from tests.support.waiting import wait_for

SETTLE_TIMEOUT = 300.0  # an STK push whose callback was lost settles by query (10, 20, 40 … s)
AUTH_PORT = int(TEST_SETTINGS["HOTSPOT_RADIUS_AUTH_PORT"])
ACCT_PORT = int(TEST_SETTINGS["HOTSPOT_RADIUS_ACCT_PORT"])
SECONDARY_AUTH_PORT = int(TEST_SETTINGS["HOTSPOT_RADIUS_SECONDARY_AUTH_PORT"])
SECONDARY_ACCT_PORT = int(TEST_SETTINGS["HOTSPOT_RADIUS_SECONDARY_ACCT_PORT"])


def random_phone() -> str:
    """Ends in 5xxx: none of the sandbox's failing suffixes (cancelled, wrong PIN, ...)."""
    return f"2547{secrets.randbelow(10**4):04d}5{secrets.randbelow(10**3):03d}"


def package_id(deployment: Deployment, name: str = "1 Hour") -> int:
    listed = deployment.get("/api/packages").json()
    return int(next(p["id"] for p in listed["packages"] if p["name"] == name))


def start_payment(deployment: Deployment, package: int, deadline: float) -> dict[str, Any]:
    """A customer pressing "pay" until the API takes it (it may be down for a while)."""
    phone = random_phone()
    while True:
        try:
            body = {"package_id": package, "phone": phone}
            response = deployment.post("/api/payments", json=body)
            if response.status_code == 201:
                return {**response.json(), "phone": phone}
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the API never took the payment"
        time.sleep(1)


def wait_paid(deployment: Deployment, created: dict[str, Any], deadline: float) -> str:
    while True:
        try:
            shown = deployment.get(
                f"/api/payments/{created['id']}",
                headers={"X-Portal-Token": created["portal_token"]},
            )
            if shown.status_code == 200 and shown.json()["status"] in ("paid", "failed", "expired"):
                return str(shown.json()["status"])
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            return "unsettled"
        time.sleep(1)


def sandbox_messages(deployment: Deployment) -> list[dict[str, Any]]:
    """What the Africa's Talking stand-in received (it keeps every message in memory)."""
    out = deployment.compose(
        "exec",
        "-T",
        "sandbox-sms",
        "python3",
        "-c",
        "import urllib.request as u; "
        "print(u.urlopen('http://127.0.0.1:8090/messages').read().decode())",
    )
    found: list[dict[str, Any]] = json.loads(out)["messages"]
    return found


# A credentials SMS whose job went with Redis is sent by the recovery job: a minute's grace,
# then within its next run (every minute).
SMS_SETTLE_TIMEOUT = 240.0


def credentials_sms(deployment: Deployment, ids: list[Any]) -> tuple[list[tuple[Any, ...]], int]:
    """Per payment (id, status, credentials SMS rows), and how many users the payments made."""
    with deployment.database() as db:
        rows = db.execute(
            "SELECT p.id, p.status, count(DISTINCT s.id) FROM payments p "
            "LEFT JOIN hotspot_users u ON u.phone = p.phone "
            "LEFT JOIN sms_messages s ON s.user_id = u.id AND s.purpose = 'credentials' "
            "WHERE p.id = ANY(%s) GROUP BY p.id, p.status",
            (ids,),
        ).fetchall()
        users = db.execute(
            "SELECT count(DISTINCT u.id) FROM payments p JOIN hotspot_users u ON u.phone = p.phone "
            "WHERE p.id = ANY(%s)",
            (ids,),
        ).fetchone()
    return [tuple(row) for row in rows], int(users[0]) if users else 0


def assert_paid_exactly_once(deployment: Deployment, payments: list[dict[str, Any]]) -> None:
    """One user and one credentials SMS each, sent once, once every SMS has had its time."""
    ids = [p["id"] for p in payments]
    wanted = ["+" + payment["phone"] for payment in payments]
    deadline = time.monotonic() + SMS_SETTLE_TIMEOUT
    while True:
        rows, users = credentials_sms(deployment, ids)
        phones = [m["to"] for m in sandbox_messages(deployment)]
        settled = all(r[2] >= 1 for r in rows) and all(phone in phones for phone in wanted)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1] for r in rows} == {"paid"}, rows
    assert {r[2] for r in rows} == {1}, f"credentials SMS per payment: {rows}"
    assert users == len(ids)
    for phone in wanted:
        assert phones.count(phone) == 1, f"{phone} got {phones.count(phone)} SMS"


def radtest(username: str, password: str, port: int = AUTH_PORT) -> bool:
    """The operator's own check from the host: radtest against the containerised FreeRADIUS."""
    done = subprocess.run(
        ["radtest", "-x", username, password, f"127.0.0.1:{port}", "0", DEMO_NAS_SECRET],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return "Access-Accept" in done.stdout


def new_customer(deployment: Deployment, package: str = "1 Hour") -> dict[str, str]:
    created: dict[str, str] = json.loads(
        deployment.hotspot("users", "create", "--package", package, "--json")
    )
    return created


# --- the trial ---------------------------------------------------------------------------------


def test_a_customer_pays_through_the_tls_proxy_and_logs_in(deployment: Deployment) -> None:
    assert deployment.get("/readyz").status_code == 200, deployment.get("/readyz").text
    created = start_payment(deployment, package_id(deployment), time.monotonic() + 30)
    assert wait_paid(deployment, created, time.monotonic() + 60) == "paid"
    shown = deployment.get(
        f"/api/payments/{created['id']}/credentials",
        headers={"X-Portal-Token": created["portal_token"]},
    )
    assert shown.status_code == 200, shown.text
    login = shown.json()
    assert radtest(login["username"], login["password"])
    assert not radtest(login["username"], login["password"] + "x")
    assert_paid_exactly_once(deployment, [created])


def test_no_process_runs_as_root_and_the_app_is_no_superuser(deployment: Deployment) -> None:
    services = (
        "api",
        "worker",
        "scheduler",
        "freeradius",
        "postgres",
        "redis",
        "proxy",
        "prometheus",
    )
    for service in services:
        for container in deployment.containers(service):
            uid = run(DOCKER, "exec", container, "id", "-u").strip()
            assert uid != "0", f"{service} runs as root"
    with deployment.database() as db:
        users = db.execute(
            "SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a "
            "JOIN pg_roles r ON r.rolname = a.usename WHERE a.datname = 'hotspot' "
            "AND a.pid <> pg_backend_pid()"
        ).fetchall()
    assert ("hotspot_app", False) in users
    assert ("radius", False) in users
    assert not [name for name, superuser in users if superuser], users


@pytest.mark.parametrize("image", ["app", "radius", "postgres", "redis", "proxy", "prometheus"])
def test_images_hold_no_secrets_or_local_state(deployment: Deployment, image: str) -> None:
    found = run(
        DOCKER,
        "run",
        "--rm",
        "--user",
        "0",
        "--entrypoint",
        "sh",
        f"hotspot/{image}:local",
        "-c",
        "find / -xdev \\( -name '.env' -o -name 'hotspot.env' -o -name 'secrets.env' "
        "-o -name '.venv' -o -name '.hotspot' -o -name '.git' -o -name '*.dump' \\) -print",
    )
    assert found.strip() == ""


def test_the_maintenance_service_keeps_the_growing_tables_as_the_schemas_owner(
    deployment: Deployment,
) -> None:
    assert (
        deployment.compose("exec", "-T", "maintenance", "test", "-f", "/var/lib/hotspot/maintained")
        == ""
    )
    again = deployment.compose("exec", "-T", "maintenance", "hotspot", "db", "maintain")
    assert again.strip() == (
        "partitions created: none; dropped: none; rows pruned: radacct 0, "
        "session_disconnections 0, radius_sessions 0, sms_messages 0"
    )
    with deployment.database() as db:
        owners = db.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent IN "
            "('radpostauth'::regclass, 'data_usage_logs'::regclass, 'payment_events'::regclass)"
        ).fetchall()
    assert owners == [("hotspot_owner",)]


def test_prometheus_scrapes_the_api_and_its_alerts_reach_the_api(deployment: Deployment) -> None:
    """The monitoring profile: our rules loaded, the API scraped, and a job failing in the
    reports queue fires HotspotJobsFailing, which Prometheus sends to the API (its token)."""
    prometheus = f"http://127.0.0.1:{TEST_SETTINGS['HOTSPOT_PROMETHEUS_PORT']}/api/v1"
    groups = requests.get(f"{prometheus}/rules", timeout=10).json()["data"]["groups"]
    assert {rule["name"] for rule in groups[0]["rules"]} >= {
        "HotspotNotReady",
        "HotspotJobsFailing",
    }

    def scraped() -> bool:
        targets = requests.get(f"{prometheus}/targets", timeout=10).json()["data"]
        return bool(targets["activeTargets"]) and all(
            t["health"] == "up" for t in targets["activeTargets"]
        )

    assert wait_for(scraped, 60)
    started = time.time()
    job_id = f"deploy-alert-{secrets.token_hex(4)}"
    deployment.compose(
        "exec", "-T", "api", "python3", "-c",
        "import os, redis; from hotspot.adapters.job_queues import JobQueues, REPORTS; "
        "JobQueues(redis.Redis.from_url(os.environ['HOTSPOT_REDIS_URL'])).named(REPORTS)"
        f".enqueue('jobs.reports.gone_after_an_upgrade', job_id='{job_id}')",
    )  # fmt: skip

    def alerted() -> bool:
        with deployment.database() as db:
            found = db.execute(
                "SELECT count(*) FROM alert_events WHERE alertname = 'HotspotJobsFailing' "
                "AND labels->>'queue' = 'reports' AND created_at > to_timestamp(%s)",
                (started,),
            ).fetchone()
        return bool(found and found[0])

    assert wait_for(alerted, 90)


@pytest.fixture(scope="module")
def admin(deployment: Deployment) -> dict[str, str]:
    return {"Authorization": f"Bearer {deployment.admin_token()}"}


@dataclass
class Router:
    """A router in its own network namespace, registered through the admin API."""

    network: RouterNetwork
    secret: str

    def login(self, customer: dict[str, str], hold: float = 0) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.network.command(
                "login",
                self.network.server,
                self.secret,
                customer["username"],
                customer["password"],
                "--auth-port",
                str(AUTH_PORT),
                "--acct-port",
                str(ACCT_PORT),
                "--hold",
                str(hold),
            ),
            stdout=subprocess.PIPE,
            text=True,
        )

    def logged_in(self, customer: dict[str, str]) -> bool:
        out, _ = self.login(customer).communicate(timeout=30)
        return bool(json.loads(out)["accepted"])


@pytest.fixture(scope="module")
def router(deployment: Deployment, admin: dict[str, str]) -> Iterator[Router]:
    network = RouterNetwork()
    network.create()
    secret = "router-" + secrets.token_urlsafe(16)
    added = deployment.post(
        "/api/admin/nas",
        headers=admin,
        json={
            "nasname": network.address,
            "shortname": "test-router",
            "secret": secret,
            "coa_port": COA_PORT,
        },
    )
    assert added.status_code == 201, added.text
    try:
        yield Router(network, secret)
    finally:
        network.remove()


def test_a_router_added_through_the_admin_api_is_served_within_60_seconds(
    deployment: Deployment, router: Router
) -> None:
    """Served from its real source address: FreeRADIUS on the host's network sees the router's
    own address, not a Docker gateway's."""
    customer = new_customer(deployment)
    deadline = time.monotonic() + 60
    while not router.logged_in(customer):
        assert time.monotonic() < deadline, "the new router was not served within 60 s"
        time.sleep(2)


# --- crashes -----------------------------------------------------------------------------------


@contextmanager
def payments_in_flight(deployment: Deployment, count: int) -> Iterator[list[dict[str, Any]]]:
    """`count` customers paying one after another while the block runs (a crash, say)."""
    package = package_id(deployment)
    started: list[dict[str, Any]] = []
    done = threading.Event()

    def customers() -> None:
        for _ in range(count):
            started.append(start_payment(deployment, package, time.monotonic() + 180))
            if done.is_set():
                continue
            time.sleep(0.5)

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(customers)
    time.sleep(1.5)
    try:
        yield started
    finally:
        done.set()
        future.result(timeout=600)
        pool.shutdown()


@pytest.mark.parametrize("service", ["api", "worker", "scheduler", "redis", "postgres"])
def test_a_crashed_service_comes_back_and_every_payment_ends_paid_once(
    deployment: Deployment, service: str
) -> None:
    (container,) = deployment.containers(service)[:1]
    restarts = deployment.inspect(container)["RestartCount"]
    with payments_in_flight(deployment, 6) as payments:
        deployment.crash(container)
    deadline = time.monotonic() + 120
    while deployment.inspect(container)["RestartCount"] == restarts:
        assert time.monotonic() < deadline, f"{service} did not come back by itself"
        time.sleep(1)
    deployment.wait_healthy()
    deadline = time.monotonic() + SETTLE_TIMEOUT
    statuses = [wait_paid(deployment, p, deadline) for p in payments]
    assert statuses == ["paid"] * len(payments), statuses
    assert_paid_exactly_once(deployment, payments)


@pytest.mark.parametrize("service", ["worker", "redis"])
def test_an_expiry_due_while_a_service_is_down_still_disconnects(
    deployment: Deployment, admin: dict[str, str], router: Router, service: str
) -> None:
    package = deployment.post(
        "/api/admin/packages",
        headers=admin,
        json={
            "name": f"40 s {secrets.token_hex(3)}",
            "price": "1",
            "duration_seconds": 40,
            "rate_limit": "1M/1M",
        },
    )
    assert package.status_code == 201, package.text
    customer = new_customer(deployment, package.json()["name"])
    online = router.login(customer, hold=150)
    time.sleep(37)  # the crash lands on the expiry
    (container,) = deployment.containers(service)[:1]
    deployment.crash(container)
    out, _ = online.communicate(timeout=200)
    shown = json.loads(out)
    assert shown["accepted"]
    assert shown["received"][:1] == [{"kind": "Disconnect-Request", "user": customer["username"]}]
    deployment.wait_healthy()


# --- scale -------------------------------------------------------------------------------------


def test_three_apis_four_workers_and_two_schedulers_share_the_work(
    deployment: Deployment,
) -> None:
    """Two schedulers: one leads, the other stands by (both healthy), the jobs run as by one."""
    deployment.compose(
        "up",
        "-d",
        "--no-recreate",
        "--scale",
        "api=3",
        "--scale",
        "worker=4",
        "--scale",
        "scheduler=2",
    )
    try:
        deployment.wait_healthy()
        apis = deployment.containers("api")
        assert len(apis) == 3
        assert len(deployment.containers("worker")) == 4
        assert len(deployment.containers("scheduler")) == 2
        package = package_id(deployment)
        deadline = time.monotonic() + 60
        payments = [start_payment(deployment, package, deadline) for _ in range(12)]
        deadline = time.monotonic() + SETTLE_TIMEOUT
        assert [wait_paid(deployment, p, deadline) for p in payments] == ["paid"] * 12
        assert_paid_exactly_once(deployment, payments)
        served = [container_log(api).count("POST /api/payments") for api in apis]
        assert all(served), f"payments per api container: {served}"
    finally:
        deployment.compose(
            "up", "-d", "--scale", "api=1", "--scale", "worker=1", "--scale", "scheduler=1"
        )
        deployment.wait_healthy()


def container_log(container: str) -> str:
    """Both streams: gunicorn writes to stdout, the app's request log to stderr."""
    done = subprocess.run(
        [DOCKER, "logs", container], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout + done.stderr


def test_a_secondary_freeradius_serves_the_same_database(deployment: Deployment) -> None:
    """A router's primary and secondary RADIUS servers: both answer from the one database, and
    accounting sent to the secondary lands in the same radacct."""
    deployment.compose("--profile", "secondary", "up", "-d", "freeradius-secondary")
    try:
        deployment.wait_healthy()
        customer = new_customer(deployment)
        assert radtest(customer["username"], customer["password"], AUTH_PORT)
        assert radtest(customer["username"], customer["password"], SECONDARY_AUTH_PORT)
        session = f"secondary-{secrets.token_hex(4)}"
        start = (
            f"User-Name={customer['username']},Acct-Status-Type=Start,"
            f"Acct-Session-Id={session},NAS-IP-Address=127.0.0.1,Framed-IP-Address=10.5.50.9"
        )
        done = subprocess.run(
            ["radclient", "-x", f"127.0.0.1:{SECONDARY_ACCT_PORT}", "acct", DEMO_NAS_SECRET],
            input=start,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert "Accounting-Response" in done.stdout, done.stdout + done.stderr
        with deployment.database() as db:
            row = db.execute(
                "SELECT username FROM radacct WHERE acctsessionid = %s", (session,)
            ).fetchone()
        assert row == (customer["username"],)
    finally:
        deployment.compose("--profile", "secondary", "rm", "-s", "-f", "freeradius-secondary")


# --- backups (last: it replaces the deployment) -----------------------------------------------


def test_a_backup_restores_into_a_fresh_deployment(deployment: Deployment) -> None:
    customer = new_customer(deployment)
    assert radtest(customer["username"], customer["password"])
    backup = deployment.directory / deployment.deploy("backup").strip()
    assert backup.stat().st_mode & 0o077 == 0
    deployment.compose("down", "-v")  # the machine is gone; docker/.env and the backup are kept
    deployment.deploy("up")
    deployment.ca.write_text(deployment.deploy("ca"))  # the new proxy made a new local CA
    assert not radtest(customer["username"], customer["password"])
    deployment.deploy("restore", str(backup))
    assert radtest(customer["username"], customer["password"])
    assert deployment.get("/readyz").status_code == 200
