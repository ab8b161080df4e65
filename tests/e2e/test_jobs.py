"""Background jobs by urgency, and the admin's view of them: `/api/admin/jobs`, `hotspot jobs`,
and the per-queue numbers in /metrics."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import pytest
import redis
import requests
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.job_queues import QUEUES, REPORTS
from hotspot.models import AdminRole, AuditEntry
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from tests.support.admin import Admin
from tests.support.cli import run_hotspot
from tests.support.harness import ApiUnderTest
from tests.support.jobs import failed_job
from tests.support.stack import StackUnderTest

GONE = "jobs.reports.gone_after_an_upgrade"  # a job whose function no longer exists


def client(api: ApiUnderTest, stack: StackUnderTest, role: AdminRole, *, platform: bool) -> Admin:
    with stack.sessions.begin() as session:
        operator_id = None if platform else default_operator_id(session)
        token = create_token(session, f"jobs-{secrets.token_hex(3)}", role, operator_id)
    return Admin(api, token)


@pytest.fixture
def failed(api: ApiUnderTest) -> Iterator[str]:
    job_id = f"test-failed-{secrets.token_hex(4)}"
    failed_job(api.services.redis, REPORTS, GONE, job_id)
    yield job_id
    leftover = Job.fetch_many([job_id], connection=api.services.redis)[0]
    if leftover is not None:
        leftover.delete()


def test_a_worker_takes_disconnects_before_sms_before_reports(stack: StackUnderTest) -> None:
    connection = redis.Redis.from_url(stack.settings.effective_redis_url, db=14)
    connection.flushdb()
    for name in reversed(QUEUES):  # the least urgent first in line
        Queue(name, connection=connection).enqueue("time.monotonic", job_id=f"order-{name}")
    SimpleWorker([Queue(n, connection=connection) for n in QUEUES], connection=connection).work(
        burst=True
    )

    def ran_at(name: str) -> float:
        value = Job.fetch(f"order-{name}", connection=connection).return_value()
        assert isinstance(value, float)
        return value

    assert sorted(QUEUES, key=ran_at) == ["urgent", "default", "sms", "reports"]
    connection.flushdb()


def test_a_failed_job_is_listed_with_its_error_retried_and_deleted_audited(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session], failed: str
) -> None:
    admin = client(api, stack, AdminRole.ADMIN, platform=True)
    listed = admin.ok("GET", "/jobs", params={"queue": "reports", "state": "failed", "limit": 500})
    mine = next(job for job in listed["jobs"] if job["id"] == failed)
    assert mine["function"] == GONE
    assert mine["args"] == [7]
    assert mine["error"] == "ValueError: Invalid attribute name: gone_after_an_upgrade"
    reports = next(q for q in listed["queues"] if q["name"] == "reports")
    assert reports["failed"] >= 1
    assert [q["name"] for q in listed["queues"]] == list(QUEUES)

    retried = admin.ok("POST", f"/jobs/{failed}/retry")
    assert (retried["state"], retried["queue"]) == ("queued", "reports")
    assert admin("POST", f"/jobs/{failed}/retry").status_code == 409  # queued, not failed
    deleted = admin.ok("DELETE", f"/jobs/{failed}")
    assert deleted["deleted"] is True
    assert admin("GET", f"/jobs/{failed}").status_code == 404
    with committed() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"job {failed}")
        ).all()
    assert sorted(actions) == ["job.delete", "job.retry"]


def test_a_viewer_lists_but_cannot_retry_and_an_operator_sees_no_jobs(
    api: ApiUnderTest, stack: StackUnderTest, failed: str
) -> None:
    viewer = client(api, stack, AdminRole.VIEWER, platform=True)
    assert viewer.ok("GET", f"/jobs/{failed}")["state"] == "failed"
    assert viewer("POST", f"/jobs/{failed}/retry").status_code == 403
    assert viewer("DELETE", f"/jobs/{failed}").status_code == 403
    operator = client(api, stack, AdminRole.ADMIN, platform=False)
    for method, path in (
        ("GET", "/jobs"),
        ("GET", f"/jobs/{failed}"),
        ("DELETE", f"/jobs/{failed}"),
    ):
        refused = operator(method, path)
        assert refused.status_code == 403
        assert failed not in refused.text
    assert Job.fetch(failed, connection=api.services.redis).get_status() == JobStatus.FAILED


def test_bad_filters_and_ids_are_refused_with_a_reason(
    api: ApiUnderTest, stack: StackUnderTest
) -> None:
    admin = client(api, stack, AdminRole.ADMIN, platform=True)
    bad_queue = admin("GET", "/jobs", params={"queue": "rq:queue:urgent"})
    assert bad_queue.status_code == 422
    assert "queue" in bad_queue.json()["error"]
    assert admin("GET", "/jobs", params={"state": "finished"}).status_code == 422
    assert admin("GET", "/jobs", params={"offset": 10_001}).status_code == 422
    assert admin("GET", "/jobs/no*such;job").status_code == 404
    assert admin("POST", "/jobs/never-made/retry").status_code == 404


def test_metrics_count_each_queues_jobs(api: ApiUnderTest, failed: str) -> None:
    text = requests.get(f"{api.url}/metrics", timeout=10).text
    for name in QUEUES:
        assert f'hotspot_queue_depth{{queue="{name}"}}' in text
        assert f'hotspot_queue_oldest_job_age_seconds{{queue="{name}"}}' in text
    failed_reports = next(
        line
        for line in text.splitlines()
        if line.startswith('hotspot_queue_failed_jobs{queue="reports"}')
    )
    assert int(failed_reports.split()[-1]) >= 1


def test_the_cli_lists_and_retries_as_the_api_does(
    stack: StackUnderTest, committed: sessionmaker[Session], failed: str
) -> None:
    def hotspot(*args: str) -> subprocess.CompletedProcess[str]:
        return run_hotspot(stack.env(), "jobs", *args)

    queues = hotspot("queues")
    assert queues.returncode == 0, queues.stderr
    assert [line.split()[0] for line in queues.stdout.splitlines()] == ["queue", *QUEUES]
    listed = hotspot("list", "--queue", "reports", "--state", "failed", "--limit", "1000")
    line = next(line for line in listed.stdout.splitlines() if failed in line)
    assert f"{GONE}(7)" in line
    assert "! ValueError: Invalid attribute name" in line
    assert hotspot("retry", failed).returncode == 0
    again = hotspot("retry", failed)
    assert again.returncode == 2
    assert again.stderr.strip() == "error: only a failed job is retried; this one is queued"
    with committed() as session:
        actor = session.scalar(
            select(AuditEntry.actor).where(
                AuditEntry.target == f"job {failed}", AuditEntry.action == "job.retry"
            )
        )
    assert actor == "cli"


def test_the_cli_retries_every_failed_job_of_a_queue_at_once(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """After the outage that made them fail; on a Redis database of the test's own."""
    url = make_url(stack.settings.effective_redis_url)
    own = str(url).rsplit("/", 1)[0] + "/13"
    connection = redis.Redis.from_url(own)
    connection.flushdb()
    failed = [f"test-all-{secrets.token_hex(3)}" for _ in range(2)]
    for job_id in failed:
        failed_job(connection, REPORTS, GONE, job_id)
    env = {**stack.env(), "HOTSPOT_REDIS_URL": own}

    done = run_hotspot(env, "jobs", "retry", "--all-failed", "--queue", "reports")
    again = run_hotspot(env, "jobs", "retry", "--all-failed")

    assert done.returncode == 0, done.stderr
    assert sorted(line.split()[4] for line in done.stdout.splitlines()) == sorted(failed)
    assert again.stdout.strip() == "no failed jobs"
    assert sorted(Queue(REPORTS, connection=connection).get_job_ids()) == sorted(failed)
    with committed() as session:
        retried = session.scalars(
            select(AuditEntry.target).where(
                AuditEntry.action == "job.retry",
                AuditEntry.target.in_([f"job {j}" for j in failed]),
            )
        ).all()
    assert len(retried) == 2
    assert run_hotspot(env, "jobs", "retry").returncode == 2  # neither ids nor --all-failed
    connection.flushdb()
