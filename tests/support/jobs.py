"""Jobs called in the test process, configured the way an rq worker's are, and a real worker
process."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

import jobs
from tests.support.stack import StackUnderTest

# A worker that answers quickly: short Disconnect/CoA timeouts and retries, and no SMS (an
# address where nothing listens).
QUICK_WORKER = {
    "HOTSPOT_DISCONNECT_TIMEOUT": "0.5",
    "HOTSPOT_DISCONNECT_RETRY_DELAYS": "0.5,0.5",
    "HOTSPOT_COA_RETRY_DELAYS": "0.5,0.5",
    "HOTSPOT_SMS_BASE_URL": "http://127.0.0.1:1/version1",
}


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


@contextmanager
def worker_process(
    stack: StackUnderTest, environ: dict[str, str], log_name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A `hotspot worker` process with these settings, on an emptied queue: the jobs the rest of
    the suite left (SMS retries, payment queries) must not queue ahead of the ones timed here."""
    redis.Redis.from_url(stack.settings.effective_redis_url).flushdb()
    with (stack.settings.state_dir / "log" / log_name).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotspot", "worker"],
            env={**stack.env(), **environ},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def failed_job(connection: redis.Redis, queue_name: str, func: str, job_id: str) -> Job:
    """A job run once by a real rq worker and failed: only this job, whatever else waits."""
    queue = Queue(queue_name, connection=connection)
    job = queue.enqueue(func, 7, job_id=job_id)
    queue.remove(job)
    SimpleWorker([queue], connection=connection).execute_job(job, queue)
    assert job.get_status() == JobStatus.FAILED
    return job
