"""Rows leaving the database for good, kept as gzip CSV files only their owner may read."""

from __future__ import annotations

import gzip
from pathlib import Path

import psycopg
from psycopg import sql

from hotspot.core.csvfiles import create_private_binary


def write_archive(conn: psycopg.Connection, copy_out: sql.Composed, stem: Path) -> None:
    """`<stem>.csv.gz` from a `COPY … TO STDOUT` statement, written whole under another name
    first (what a stopped run left half-written is started again) and then renamed."""
    stem.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = stem.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with (
        create_private_binary(partial) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb") as out,
        conn.cursor().copy(copy_out) as copy,
    ):
        for chunk in copy:
            out.write(chunk)
    partial.replace(stem.with_suffix(".csv.gz"))
