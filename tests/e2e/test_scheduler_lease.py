"""Any number of `hotspot scheduler`s may run: one holds the lease and enqueues, the others wait.

Real Redis, short intervals and a 2 s lease; each test has its own lease key, queue and job
names, so nothing here touches (or is touched by) a scheduler running elsewhere.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import redis
from rq import cron_job_registry
from rq.cron import get_cron_job_history_key

from jobs.schedule import LeaderCronScheduler, heartbeat
from tests.support.scheduler import running
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for

TTL = 2.0
RENEW = 0.3
RETRY = 0.2


@pytest.fixture
def ns() -> str:
    return f"test-lease-{secrets.token_hex(4)}"


def make_scheduler(
    redis_conn: redis.Redis, ns: str, index: int, jobs: dict[str, int]
) -> LeaderCronScheduler:
    scheduler = LeaderCronScheduler(
        redis_conn,
        lease_key=f"{ns}:lease",
        lease_ttl=TTL,
        renew_interval=RENEW,
        retry_interval=RETRY,
        alive_key=f"{ns}:alive:{index}",
        alive_ttl=TTL,
    )
    for name, interval in jobs.items():  # never run: no worker listens on the test's queue
        scheduler.register(heartbeat, queue_name=f"{ns}:queue", interval=interval, name=name)
    return scheduler


def get(redis_conn: redis.Redis, key: str) -> bytes | None:
    return cast("bytes | None", redis_conn.get(key))


def enqueue_times(redis_conn: redis.Redis, name: str) -> list[float]:
    history = redis_conn.zrange(get_cron_job_history_key(name), 0, -1, withscores=True)
    return [score for _, score in cast("list[tuple[bytes, float]]", history)]


def holder(redis_conn: redis.Redis, ns: str) -> str | None:
    raw = get(redis_conn, f"{ns}:lease")
    return None if raw is None else raw.decode()


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.fields["event"]
        for r in caplog.records
        if r.name == "hotspot.scheduler" and hasattr(r, "fields")
    ]


def test_two_schedulers_enqueue_each_job_as_one_would(
    redis_conn: redis.Redis, ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotspot.scheduler")
    jobs = {f"{ns}:every-1s": 1, f"{ns}:every-2s": 2}
    a, b = make_scheduler(redis_conn, ns, 0, jobs), make_scheduler(redis_conn, ns, 1, jobs)
    with running(a, b):
        time.sleep(4.5)
        assert [a.leading, b.leading].count(True) == 1
        leader, standby = (a, b) if a.leading else (b, a)
        assert holder(redis_conn, ns) == leader.lease.holder
        roles = [
            json.loads(get(redis_conn, s.alive_key) or b"{}")["role"] for s in (leader, standby)
        ]
        assert roles == ["leader", "standby"]
    for name, interval in jobs.items():
        times = enqueue_times(redis_conn, name)
        assert 4 / interval <= len(times) <= 4.5 / interval + 1, (name, times)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= interval - 0.1, (name, gaps)  # never twice in one interval
    assert events(caplog).count("scheduler_leadership_gained") == 1
    assert "scheduler_standing_by" in events(caplog)
    assert "scheduler_leadership_released" in events(caplog)
    assert holder(redis_conn, ns) is None  # released on a clean stop
    assert get(redis_conn, a.alive_key) is None
    assert get(redis_conn, b.alive_key) is None


def test_a_leader_that_loses_the_lease_stops_enqueuing_until_it_takes_it_again(
    redis_conn: redis.Redis, ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotspot.scheduler")
    name = f"{ns}:every-1s"
    scheduler = make_scheduler(redis_conn, ns, 0, {name: 1})
    with running(scheduler):
        wait_for(lambda: scheduler.leading and len(enqueue_times(redis_conn, name)) >= 1)
        # Its lease expired (a frozen process) and another scheduler took it.
        redis_conn.set(f"{ns}:lease", "another-scheduler", px=2500)
        wait_for(lambda: not scheduler.leading, timeout=2 * RENEW)
        count = len(enqueue_times(redis_conn, name))
        time.sleep(1.5)
        assert len(enqueue_times(redis_conn, name)) == count  # nothing while another leads
        assert holder(redis_conn, ns) == "another-scheduler"
        wait_for(lambda: scheduler.leading, timeout=2.5)  # the other's lease ran out
        wait_for(
            lambda: len(enqueue_times(redis_conn, name)) > count, timeout=0.5
        )  # overdue: at once
    assert events(caplog)[:3] == [
        "scheduler_leadership_gained",
        "scheduler_leadership_lost",
        "scheduler_standing_by",
    ]
    assert events(caplog).count("scheduler_leadership_gained") == 2


def test_a_leader_whose_lease_vanished_takes_it_afresh(
    redis_conn: redis.Redis, ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarted empty (the key is gone): no one holds it, the leader takes it again."""
    caplog.set_level(logging.INFO, logger="hotspot.scheduler")
    scheduler = make_scheduler(redis_conn, ns, 0, {f"{ns}:every-1s": 1})
    with running(scheduler):
        wait_for(lambda: scheduler.leading)
        redis_conn.delete(f"{ns}:lease")
        wait_for(lambda: events(caplog).count("scheduler_leadership_gained") == 2, timeout=1)
        assert holder(redis_conn, ns) == scheduler.lease.holder
    assert events(caplog)[:3] == [
        "scheduler_leadership_gained",
        "scheduler_leadership_lost",
        "scheduler_leadership_gained",
    ]


def test_a_new_leader_carries_on_the_last_leaders_schedule(
    redis_conn: redis.Redis, ns: str
) -> None:
    """Due one interval after the last enqueue by anyone: at once when that is long past or
    unknown (no gap after a takeover), not before it when it is recent (no double run)."""
    recent, overdue, unknown = f"{ns}:recent", f"{ns}:overdue", f"{ns}:unknown"
    registry = cron_job_registry.get_registry_key()
    redis_conn.zadd(registry, {recent: time.time() - 5, overdue: time.time() - 100})
    try:
        scheduler = make_scheduler(redis_conn, ns, 0, {recent: 30, overdue: 30, unknown: 30})
        with running(scheduler):
            wait_for(lambda: scheduler.leading)
            time.sleep(1)
        assert [len(enqueue_times(redis_conn, n)) for n in (recent, overdue, unknown)] == [0, 1, 1]
        due = {job.name: job.next_enqueue_time for job in scheduler.get_jobs()}
        last = cast("float", redis_conn.zscore(registry, recent))
        assert due[recent] == datetime.fromtimestamp(last + 30, tz=UTC)
    finally:
        redis_conn.zrem(registry, recent, overdue, unknown)


SCHEDULER_PROCESS = f"""
import sys, redis
from hotspot.core.logs import configure_logging
from jobs.schedule import LeaderCronScheduler, heartbeat
configure_logging("INFO")
url, ns, index = sys.argv[1:]
scheduler = LeaderCronScheduler(
    redis.Redis.from_url(url), lease_key=ns + ":lease", lease_ttl={TTL},
    renew_interval={RENEW}, retry_interval={RETRY}, alive_key=ns + ":alive:" + index,
    alive_ttl={TTL},
)
scheduler.register(heartbeat, queue_name=ns + ":queue", interval=1, name=ns + ":every-1s")
scheduler.start()
"""


def spawn(stack: StackUnderTest, ns: str, index: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCHEDULER_PROCESS,
            stack.settings.effective_redis_url,
            ns,
            str(index),
        ],
        env=stack.env(),
        stderr=subprocess.PIPE,
        text=True,
    )


def alive_role(redis_conn: redis.Redis, ns: str, index: int) -> Any:
    raw = get(redis_conn, f"{ns}:alive:{index}")
    return None if raw is None else json.loads(raw)["role"]


def test_a_killed_leader_is_replaced_within_the_lease_ttl(
    stack: StackUnderTest, redis_conn: redis.Redis, ns: str
) -> None:
    name = f"{ns}:every-1s"
    first = spawn(stack, ns, 0)
    second: subprocess.Popen[str] | None = None
    try:
        mine = f"{socket.gethostname()}:{first.pid}:"
        wait_for(lambda: (holder(redis_conn, ns) or "").startswith(mine), timeout=30)
        second = spawn(stack, ns, 1)
        wait_for(lambda: alive_role(redis_conn, ns, 1) == "standby", timeout=30)
        time.sleep(1)
        first.send_signal(signal.SIGKILL)  # no release: the lease must run out
        killed = time.time()
        first.wait(timeout=10)
        theirs = f"{socket.gethostname()}:{second.pid}:"
        waiting_since = time.monotonic()
        wait_for(lambda: (holder(redis_conn, ns) or "").startswith(theirs), timeout=10)
        takeover = time.monotonic() - waiting_since
        assert takeover <= TTL + RETRY + 0.5
        time.sleep(1.5)
        second.send_signal(signal.SIGTERM)  # a clean stop releases the lease
        _, log = second.communicate(timeout=10)
        assert second.returncode == 0, log
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert holder(redis_conn, ns) is None
    times = enqueue_times(redis_conn, name)
    after = [t for t in times if t > killed]
    assert after
    assert after[0] - killed <= TTL + RETRY + 0.5  # the new leader enqueued at once
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert max(gaps) <= TTL + RETRY + 1 + 0.5  # no gap beyond the takeover
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines if line.get("logger") == "hotspot.scheduler"] == [
        "scheduler_standing_by",
        "scheduler_leadership_gained",
        "scheduler_leadership_released",
    ]
