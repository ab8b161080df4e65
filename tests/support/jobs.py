"""Jobs called in the test process, configured the way an rq worker's are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import jobs


@contextmanager
def jobs_reading(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> Iterator[None]:
    """Jobs called in the test process read their settings from the environment, as an rq
    worker's do: the HOTSPOT_ variables of `environ` set, `jobs.services()` built afresh from
    them and closed after."""
    for name, value in environ.items():
        if name.startswith("HOTSPOT_"):
            monkeypatch.setenv(name, value)
    jobs.services.cache_clear()
    try:
        yield
    finally:
        if jobs.services.cache_info().currsize:
            jobs.services().close()
        jobs.services.cache_clear()
