"""Once our logging is set up, rq's loggers write JSON lines through ours, never through a
handler of their own (tests/e2e/test_process_logs.py: the worker's and the scheduler's lines)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.logutils import setup_loghandlers

from hotspot.core.logs import configure_logging
from tests.support.logs import json_lines

RQ_LOGGERS = ("rq.worker", "rq.job", "rq.scheduler", "rq.cron")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in RQ_LOGGERS)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    logging.captureWarnings(False)


@pytest.mark.usefixtures("restore_logging")
def test_rq_adds_no_handler_of_its_own_once_ours_is_set(capsys: pytest.CaptureFixture[str]) -> None:
    # A handler rq put on a logger before ours (an earlier worker in this process) goes too.
    setup_loghandlers("INFO", name="rq.job")
    configure_logging("INFO")
    connection = redis.Redis()  # nothing below connects
    CronScheduler(connection=connection, name="logs-test")
    SimpleWorker([Queue("logs-test", connection=connection)], connection=connection)
    for name in RQ_LOGGERS:
        setup_loghandlers("INFO", name=name)  # what rq's worker and scheduler call on start
        assert logging.getLogger(name).handlers == []
    logging.getLogger("rq.worker").info("%s: %s (%s)", "default", "\x1b[34mJob OK\x1b[39;49;00m", 1)
    logging.getLogger("rq.cron").info("Enqueued job heartbeat to queue default")
    logging.getLogger("rq.job").error("failed", exc_info=ValueError("boom"))
    captured = capsys.readouterr()
    assert captured.out == ""
    entries = json_lines(captured.err)
    assert [entry["logger"] for entry in entries] == ["rq.worker", "rq.cron", "rq.job"]
    assert entries[0]["message"] == "default: Job OK (1)"
    assert "ValueError: boom" in str(entries[2]["exception"])
