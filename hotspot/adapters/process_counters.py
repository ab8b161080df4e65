"""Counters for what happens while Redis is down, so cannot be counted in Redis.

Each process keeps its own counts in files `DIRECTORY/NAME.PID` (one small file per process and
counter); `/metrics` adds up every process's file, whichever gunicorn worker answers the scrape.
A process that finds a file of its pid (a reused pid) counts on from it, so totals never drop.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_lock = threading.Lock()
_counts: dict[tuple[Path, str, int], int] = {}


def increment(directory: Path, name: str) -> None:
    path = directory / f"{name}.{os.getpid()}"
    key = (directory, name, os.getpid())
    with _lock:
        count = _counts.get(key)
        if count is None:
            count = _read(path)
        _counts[key] = count + 1
        directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(str(count + 1))
        temporary.replace(path)


def total(directory: Path, name: str) -> int:
    """The sum over every process that ever counted `name` in `directory`."""
    return sum(_read(path) for path in directory.glob(f"{name}.*"))


def _read(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0
