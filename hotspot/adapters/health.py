"""Readiness: every part the service needs, named when it fails."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import redis
from rq import Worker
from sqlalchemy import ColumnElement, Engine, func, select, text
from sqlalchemy.orm import Session

from hotspot.adapters.job_queues import JobQueues, queue_counts
from hotspot.adapters.redis_names import SCHEDULER_HEARTBEAT_KEY
from hotspot.core.settings import Settings
from radius.status import status_server


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return Check("postgresql", False, type(exc).__name__)
    return Check("postgresql", True, "ok")


def check_redis(client: redis.Redis) -> Check:
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, type(exc).__name__)
    return Check("redis", True, "ok")


WILDCARD_ADDRESSES = frozenset({"", "*", "0.0.0.0", "::"})  # noqa: S104 - names, not binds


def status_probe_host(settings: Settings) -> str:
    """Where FreeRADIUS's status listener is reached: HOTSPOT_RADIUS_STATUS_HOST, else the
    address FreeRADIUS listens on, or this machine's loopback when it listens everywhere."""
    if settings.radius_status_host.strip():
        return settings.radius_status_host.strip()
    listen = settings.radius_listen_address.strip()
    if listen == "::":
        return "::1"
    return "127.0.0.1" if listen in WILDCARD_ADDRESSES else listen


def check_freeradius(settings: Settings) -> Check:
    """A Status-Server to FreeRADIUS's status listener, signed with its own secret: no router
    (nas row) is needed, and FreeRADIUS may run in another container or on another host, as long
    as HOTSPOT_RADIUS_STATUS_CLIENTS lets this one in."""
    host = status_probe_host(settings)
    port = settings.radius_status_port
    try:
        answered = status_server(host, port, settings.radius_status_secret)
    except OSError as exc:  # e.g. a host name that does not resolve
        return Check("freeradius", False, f"cannot probe {host}:{port}: {type(exc).__name__}")
    if answered:
        return Check("freeradius", True, "ok")
    return Check("freeradius", False, f"no answer to Status-Server on {host}:{port}")


def check_workers(client: redis.Redis, ttl: int) -> Check:
    try:
        workers = Worker.all(connection=client)
    except redis.RedisError as exc:
        return Check("worker", False, type(exc).__name__)
    alive = [w for w in workers if w.last_heartbeat is not None]
    if not alive:
        return Check("worker", False, "no rq worker registered")
    return Check("worker", True, f"{len(alive)} worker(s)")


def check_scheduler(client: redis.Redis) -> Check:
    """The periodic jobs' heartbeat, written by a worker: proves cron → queue → worker."""
    try:
        raw = client.get(SCHEDULER_HEARTBEAT_KEY)
    except redis.RedisError as exc:
        return Check("scheduler", False, type(exc).__name__)
    if raw is None:
        return Check("scheduler", False, "no heartbeat from the periodic jobs")
    age = time.time() - float(cast(bytes, raw))
    return Check("scheduler", True, f"heartbeat {age:.0f} s ago")


def queue_depth(client: redis.Redis) -> int | None:
    """Jobs waiting in all the queues together."""
    try:
        return sum(counts.queued for counts in queue_counts(JobQueues(client)))
    except redis.RedisError:
        return None


def readiness(engine: Engine, client: redis.Redis, settings: Settings) -> list[Check]:
    checks = [check_database(engine), check_redis(client), check_freeradius(settings)]
    checks += [check_workers(client, settings.worker_heartbeat_ttl), check_scheduler(client)]
    return checks


def count_by(session: Session, column: object, *where: ColumnElement[bool]) -> dict[str, int]:
    query = select(column, func.count()).where(*where).group_by(column)  # type: ignore[call-overload]
    rows = session.execute(query)
    return {str(getattr(key, "value", key)): int(n) for key, n in rows}
