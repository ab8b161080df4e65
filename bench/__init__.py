"""Benchmarks: one command each, a private stack of their own, a table at the end."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hotspot import db
from hotspot.settings import Settings
from hotspot.stack import Stack, isolated_environ


@contextmanager
def private_stack(prefix: str, *, fast: bool = False) -> Iterator[tuple[Settings, Stack]]:
    """PostgreSQL and Redis on free ports under a temporary state dir, migrated; removed after."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    state.chmod(0o755)  # PostgreSQL runs as `postgres` and must reach it
    settings = Settings.from_env(isolated_environ(state), dotenv=None)
    stack = Stack(settings, fast=fast, say=lambda _: None)
    try:
        stack.start_databases()
        db.upgrade(settings)
        yield settings, stack
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
