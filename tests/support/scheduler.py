"""Schedulers run on threads of the test process, stopped as `hotspot scheduler` stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from jobs.schedule import LeaderCronScheduler


@contextmanager
def running(*schedulers: LeaderCronScheduler) -> Iterator[None]:
    threads = [threading.Thread(target=s.start, daemon=True) for s in schedulers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for scheduler in schedulers:
            scheduler.request_stop()
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive()
