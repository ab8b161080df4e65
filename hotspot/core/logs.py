"""Structured JSON logs, one object per line, every request's carrying its request id.

Secrets never reach a log line: the secret path segment of the URLs M-Pesa and Africa's Talking
call is masked whatever its value (a rotated token, a wrong guess), query strings (a portal
token for EventSource) and bodies are not logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections import deque
from typing import Any, TextIO

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-Id"
SECRET_PATH = re.compile(r"^(/api/(?:callbacks/(?:stk|c2b)|sms/delivery-report)/)[^/]*")
# rq colours its own lines ("Job OK") when stdout is a terminal, e.g. `docker compose` with a tty.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def mask_path(path: str) -> str:
    return SECRET_PATH.sub(r"\1***", path)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": ANSI_ESCAPE.sub("", record.getMessage()),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class LineHandler(logging.StreamHandler[TextIO]):
    """Whole lines, written with os.write, even when a signal handler logs during a write.

    rq logs from its SIGTERM handler ("warm shut down requested"). Should the signal arrive while
    the main thread is inside a write to stderr, a second write would hit the buffered stream's
    reentrancy guard ("--- Logging error ---" in plain text), and when the reader of a full pipe
    is slow, CPython's stderr drops the rest of the interrupted line. So a line logged from
    inside a write is queued and written right after the line it interrupted, and lines go to
    the file descriptor in a loop that finishes partial writes."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: deque[str] = deque()
        self._writing = False  # only this thread can see it True: emit runs under self.lock

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._pending.append(self.format(record) + self.terminator)
            if not self._writing:
                self._write_pending()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.acquire()
        try:
            if not self._writing:
                self._write_pending()
            super().flush()
        finally:
            self.release()

    def _write_pending(self) -> None:
        self._writing = True
        try:
            while self._pending:
                self._write(self._pending.popleft())
        finally:
            self._writing = False

    def _write(self, line: str) -> None:
        try:
            descriptor = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream (a test's capture)
            self.stream.write(line)
            self.stream.flush()
            return
        self.stream.flush()  # whatever else was written to the stream goes first
        remaining = memoryview(line.encode("utf-8", "backslashreplace"))
        while remaining:
            remaining = remaining[os.write(descriptor, remaining) :]


def configure_logging(level: str) -> None:
    """JSON on stderr for the whole process (gunicorn workers, rq workers, the scheduler).

    Called before rq builds a worker or a cron scheduler: rq adds its own plain-text handlers only
    to loggers without one up their hierarchy, so with ours on the root logger its lines ("Job OK")
    are JSON too. Handlers rq (or anything else) already put on its loggers are dropped."""
    handler = LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("rq", "rq.worker", "rq.job", "rq.scheduler", "rq.cron"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)  # warnings as log lines, not raw text on stderr


def log_requests(app: Flask) -> None:
    """An id per request (the caller's X-Request-Id, else a new one), echoed in the response."""
    log = logging.getLogger("hotspot.request")

    @app.before_request
    def start() -> None:
        g.request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        path = mask_path(request.path)
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        log.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "fields": {
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                    "client": request.remote_addr,
                }
            },
        )
        return response
