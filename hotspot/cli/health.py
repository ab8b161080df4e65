"""`hotspot health worker|scheduler`: container healthchecks for the two background roles.

Each exits 0 (one line on stdout) when the process in *this* container is doing its job, else 1
with a one-line reason on stderr. "This container" is this host's name (`socket.gethostname()`,
a container's id), which rq writes into each worker's record and the scheduler into its
liveness key. Quick and light: only the settings, redis and rq are imported, and Redis gets a
one-second timeout; `python -m hotspot.cli.health worker` skips even the rest of the CLI. The
keys it reads are in `hotspot.adapters.redis_names`.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from dataclasses import dataclass
from typing import cast

import click
import redis

from hotspot.adapters.redis_names import scheduler_alive_key
from hotspot.core.settings import Settings

REDIS_TIMEOUT = 1.0  # seconds: a healthcheck answers quickly even when Redis does not


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


def connect(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.effective_redis_url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )


def worker_health(connection: redis.Redis, hostname: str, max_age: float) -> Health:
    """An rq worker registered from `hostname` whose heartbeat is younger than `max_age` s."""
    from rq import Worker  # noqa: PLC0415 - only this check needs rq

    try:
        workers = [w for w in Worker.all(connection=connection) if w.hostname == hostname]
    except redis.RedisError as exc:
        return Health(False, f"redis unreachable: {type(exc).__name__}")
    if not workers:
        return Health(False, f"no rq worker registered from host {hostname}")
    now = time.time()
    ages = {
        w.name: now - w.last_heartbeat.timestamp() for w in workers if w.last_heartbeat is not None
    }
    fresh = {name: age for name, age in ages.items() if age < max_age}
    if fresh:
        name = min(fresh, key=fresh.__getitem__)
        return Health(True, f"rq worker {name} heartbeat {fresh[name]:.0f} s ago")
    if not ages:
        return Health(False, f"rq worker on host {hostname} never sent a heartbeat")
    name = min(ages, key=ages.__getitem__)
    return Health(
        False, f"rq worker {name} last heartbeat {ages[name]:.0f} s ago (limit {max_age:g} s)"
    )


def scheduler_health(connection: redis.Redis, hostname: str) -> Health:
    """This host's scheduler turned its loop within the liveness key's TTL (leader or standby)."""
    try:
        raw = connection.get(scheduler_alive_key(hostname))
    except redis.RedisError as exc:
        return Health(False, f"redis unreachable: {type(exc).__name__}")
    if raw is None:
        return Health(False, f"no live scheduler on host {hostname} (its loop is stopped or stuck)")
    try:
        alive = json.loads(cast(bytes, raw))
        role, age = str(alive["role"]), time.time() - float(alive["at"])
    except (ValueError, KeyError, TypeError):
        return Health(False, f"unreadable liveness record for host {hostname}")
    return Health(True, f"scheduler on host {hostname}: {role}, loop {age:.0f} s ago")


def report(health: Health) -> None:
    if health.ok:
        click.echo(f"healthy: {health.detail}")
        return
    click.echo(f"unhealthy: {health.detail}", err=True)
    sys.exit(1)


HOSTNAME_OPTION = click.option(
    "--hostname",
    default=None,
    help="Check the process of another host (default: this one, a container's id).",
)


@click.group("health")
def health_group() -> None:
    """Container healthchecks: exit 0 when this host's worker, scheduler or FreeRADIUS is
    healthy."""


@health_group.command("worker")
@HOSTNAME_OPTION
def health_worker(hostname: str | None) -> None:
    """An rq worker from this host with a heartbeat younger than HOTSPOT_WORKER_HEARTBEAT_TTL."""
    settings = Settings.from_env()
    report(
        worker_health(
            connect(settings), hostname or socket.gethostname(), settings.worker_heartbeat_ttl
        )
    )


@health_group.command("scheduler")
@HOSTNAME_OPTION
def health_scheduler(hostname: str | None) -> None:
    """This host's scheduler is running its loop, as the leader or as a standby."""
    report(scheduler_health(connect(Settings.from_env()), hostname or socket.gethostname()))


@health_group.command("freeradius")
def health_freeradius() -> None:
    """FreeRADIUS answers a Status-Server on its status listener (as `/readyz` asks it)."""
    from hotspot.adapters.health import check_freeradius  # noqa: PLC0415 - only this check needs pyrad

    check = check_freeradius(Settings.from_env())
    report(Health(check.ok, check.detail))


if __name__ == "__main__":
    health_group()
