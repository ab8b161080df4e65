"""`hotspot health worker|scheduler`: the containers' healthchecks, against the real Redis.

Each test checks a host name of its own (`--hostname`), so workers and schedulers that other
tests leave in Redis, from this very host, are not counted.
"""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
import sys
import threading

import pytest
import redis
from click.testing import CliRunner, Result
from rq import SimpleWorker
from rq.utils import utcformat

from hotspot.adapters.redis_names import scheduler_alive_key
from hotspot.cli.main import cli
from jobs.schedule import LeaderCronScheduler
from tests.support.scheduler import running
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for


@pytest.fixture
def host() -> str:
    return f"test-host-{secrets.token_hex(4)}"


def health(stack: StackUnderTest, *args: str, redis_url: str | None = None) -> Result:
    env = stack.env()
    if redis_url is not None:
        env["HOTSPOT_REDIS_URL"] = redis_url
    return CliRunner().invoke(cli, ["health", *args], env=env)


def worker_on(redis_conn: redis.Redis, host: str) -> SimpleWorker:
    worker = SimpleWorker([f"{host}-queue"], connection=redis_conn, name=f"{host}-worker")
    worker.hostname = host
    worker.register_birth()  # type: ignore[no-untyped-call]
    worker.heartbeat()
    return worker


def test_a_worker_with_a_fresh_heartbeat_is_healthy(
    stack: StackUnderTest, redis_conn: redis.Redis, host: str
) -> None:
    worker = worker_on(redis_conn, host)
    try:
        result = health(stack, "worker", "--hostname", host)
    finally:
        worker.register_death()  # type: ignore[no-untyped-call]
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"healthy: rq worker {host}-worker heartbeat")


def test_a_worker_whose_heartbeat_is_stale_is_unhealthy(
    stack: StackUnderTest, redis_conn: redis.Redis, host: str
) -> None:
    worker = worker_on(redis_conn, host)
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=stack.settings.worker_heartbeat_ttl + 5)
    redis_conn.hset(worker.key, "last_heartbeat", utcformat(stale))
    try:
        result = health(stack, "worker", "--hostname", host)
    finally:
        worker.register_death()  # type: ignore[no-untyped-call]
    assert result.exit_code == 1
    ttl = stack.settings.worker_heartbeat_ttl
    assert result.stderr.startswith(f"unhealthy: rq worker {host}-worker last heartbeat ")
    assert result.stderr.endswith(f" s ago (limit {ttl} s)\n")


def test_no_worker_from_this_host_is_unhealthy(stack: StackUnderTest, host: str) -> None:
    result = health(stack, "worker", "--hostname", host)
    assert result.exit_code == 1
    assert result.stderr == f"unhealthy: no rq worker registered from host {host}\n"


def scheduler_on(redis_conn: redis.Redis, host: str) -> LeaderCronScheduler:
    return LeaderCronScheduler(
        redis_conn,
        lease_key=f"{host}:lease",
        lease_ttl=2,
        renew_interval=0.3,
        retry_interval=0.2,
        alive_key=scheduler_alive_key(host),
        alive_ttl=1,
    )


def test_a_leader_and_a_standby_are_both_healthy_until_they_stop(
    stack: StackUnderTest, redis_conn: redis.Redis, host: str
) -> None:
    leader, standby = scheduler_on(redis_conn, host), scheduler_on(redis_conn, f"{host}-b")
    standby.lease.key = leader.lease.key  # the same lease, two hosts
    with running(leader):
        wait_for(lambda: leader.leading)
        with running(standby):
            wait_for(lambda: standby.standing_by)
            first = health(stack, "scheduler", "--hostname", host)
            second = health(stack, "scheduler", "--hostname", f"{host}-b")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith(f"healthy: scheduler on host {host}: leader, loop ")
    assert second.exit_code == 0, second.stderr
    assert second.stdout.startswith(f"healthy: scheduler on host {host}-b: standby, loop ")
    stopped = health(stack, "scheduler", "--hostname", host)  # a clean stop removes the key
    assert stopped.exit_code == 1
    assert stopped.stderr == (
        f"unhealthy: no live scheduler on host {host} (its loop is stopped or stuck)\n"
    )


def test_a_scheduler_whose_loop_is_stuck_is_unhealthy(
    stack: StackUnderTest, redis_conn: redis.Redis, host: str
) -> None:
    scheduler = scheduler_on(redis_conn, host)
    stuck, release = threading.Event(), threading.Event()

    def hang() -> None:  # rq's heartbeat, once per turn, never returns: the loop is stuck
        stuck.set()
        release.wait(timeout=30)

    scheduler.heartbeat = hang  # type: ignore[method-assign]
    with running(scheduler):
        stuck.wait(timeout=10)
        assert health(stack, "scheduler", "--hostname", host).exit_code == 0
        wait_for(lambda: redis_conn.get(scheduler_alive_key(host)) is None, timeout=3)
        result = health(stack, "scheduler", "--hostname", host)
        release.set()
    assert result.exit_code == 1
    assert "no live scheduler" in result.stderr


def test_unreachable_redis_is_unhealthy(stack: StackUnderTest, host: str) -> None:
    for role in ("worker", "scheduler"):
        result = health(stack, role, "--hostname", host, redis_url="redis://127.0.0.1:1/0")
        assert result.exit_code == 1
        assert result.stderr == "unhealthy: redis unreachable: ConnectionError\n"


def test_the_commands_run_as_a_docker_healthcheck_would(
    stack: StackUnderTest, redis_conn: redis.Redis, host: str
) -> None:
    """The entry point and its light variant: exit status and one line on stderr."""
    for command in (["-m", "hotspot", "health"], ["-m", "hotspot.cli.health"]):
        result = subprocess.run(
            [sys.executable, *command, "scheduler", "--hostname", host],
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("unhealthy: no live scheduler")
