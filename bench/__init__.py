"""Benchmarks: one command each, a private stack of their own, a table at the end."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hotspot.adapters import db
from hotspot.core.settings import Settings
from hotspot.dev.stack import Stack, isolated_environ


@contextmanager
def private_stack(
    prefix: str, *, fast: bool = False, postgres_only: bool = False
) -> Iterator[tuple[Settings, Stack]]:
    """PostgreSQL and Redis on free ports under a temporary state dir, migrated; removed after.

    `postgres_only`: a private PostgreSQL always, even where HOTSPOT_DATABASE_URL names one (so a
    bulk load never lands in a configured database), and no Redis."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    state.chmod(0o755)  # PostgreSQL runs as `postgres` and must reach it
    environ = isolated_environ(state)
    if postgres_only:
        environ.pop("HOTSPOT_DATABASE_URL", None)
    settings = Settings.from_env(environ, dotenv=None)
    stack = Stack(settings, fast=fast, say=lambda _: None)
    try:
        if postgres_only:
            stack.log_dir.mkdir(parents=True, exist_ok=True)
            stack.start_postgres()
        else:
            stack.start_databases()
        db.upgrade(settings)
        yield settings, stack
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("| " + " | ".join(cells) + " |")
