"""The worker and the scheduler log JSON lines only, rq's own lines ("Job OK") included."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from hotspot.adapters.job_queues import JobQueues
from tests.support.logs import json_lines
from tests.support.stack import StackUnderTest

SIGNAL_DURING_A_WRITE = """
import logging, signal, sys
from hotspot.core.logs import configure_logging
configure_logging("INFO")
log = logging.getLogger("hotspot.test")
signal.signal(signal.SIGUSR1, lambda *_: log.info("from the signal handler"))
print("ready", flush=True)
log.info("x" * 500_000)  # blocks in the write: nobody reads stderr until the signal is sent
"""


def test_a_line_logged_by_a_signal_handler_during_a_write_is_a_whole_line_after_it() -> None:
    # rq's worker logs from its SIGTERM handler; a signal that landed while the main thread was
    # inside stderr's write printed a plain-text "--- Logging error ---" or cut the line short.
    process = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_DURING_A_WRITE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    time.sleep(0.5)  # the child is now blocked: a pipe holds 64 KiB
    process.send_signal(signal.SIGUSR1)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    messages = [entry["message"] for entry in json_lines(err.decode())]
    assert messages == ["x" * 500_000, "from the signal handler"]


def test_the_worker_command_logs_json_lines_only(stack: StackUnderTest, tmp_path: Path) -> None:
    connection = redis.Redis.from_url(stack.settings.effective_redis_url)
    heartbeat = "jobs.schedule.heartbeat"
    job = JobQueues(connection).for_job(heartbeat).enqueue(heartbeat, at_front=True, result_ttl=60)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotspot", "worker"],
            env=stack.env(),
            stdout=stdout,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 30
            while f"Job OK ({job.id})" not in err.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, err.read_text()
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert out.read_text() == ""
    entries = json_lines(err.read_text())
    messages = [str(entry["message"]) for entry in entries]
    assert any(f"Job OK ({job.id})" in message for message in messages), messages
    assert any("started with PID" in message for message in messages)
    assert {entry["logger"] for entry in entries} >= {"rq.worker"}
