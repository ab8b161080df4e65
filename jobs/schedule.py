"""Every periodic job, in one place, with its interval from the settings."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import redis
from rq.cron import CronScheduler

from hotspot.health import SCHEDULER_HEARTBEAT_KEY
from hotspot.notify import QUEUE
from hotspot.settings import Settings
from jobs import services

HEARTBEAT_KEY = SCHEDULER_HEARTBEAT_KEY
HEARTBEAT_INTERVAL = 10
REPORTS_REFRESH_INTERVAL = 3600  # the rollups hold closed days only
FORGET_PASSWORDS_INTERVAL = 600  # a password outlives HOTSPOT_CLEARTEXT_RETENTION by at most this


def periodic_jobs(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("jobs.accounting.sync_accounting_job", settings.accounting_sync_interval),
        ("jobs.expiry.expire_due", settings.expiry_sweep_interval),
        ("jobs.schedule.heartbeat", HEARTBEAT_INTERVAL),
        ("jobs.reports.refresh_reports", REPORTS_REFRESH_INTERVAL),
        ("jobs.retention.forget_old_passwords", FORGET_PASSWORDS_INTERVAL),
    ]


def cron(settings: Settings, connection: redis.Redis) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="hotspot")
    for func, interval in periodic_jobs(settings):
        scheduler.register(
            import_function(func),
            queue_name=QUEUE,
            interval=interval,
            result_ttl=interval * 2,
            job_timeout=max(interval, 600),
        )
    return scheduler


def import_function(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def heartbeat() -> float:
    """Run by a worker from the cron's queue: its freshness proves cron, queue and worker live."""
    now = time.time()
    s = services()
    s.redis.set(HEARTBEAT_KEY, str(now), ex=s.settings.worker_heartbeat_ttl)
    return now
