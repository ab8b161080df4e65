"""Which queue each job goes to: cutting off before telling, telling before counting."""

from __future__ import annotations

import pytest

from hotspot.adapters.job_queues import QUEUES, parse_queues, queue_for
from hotspot.billing.notify import (
    CHANGE_USER_JOB,
    EXPIRE_DUE_JOB,
    RECONCILE_JOB,
    REDIAL_JOB,
    credentials_sms_job,
    notice_job,
)
from hotspot.core.settings import Settings
from hotspot.operators.followups import CHANGE_PACKAGE_JOB, DISCONNECT_JOB
from hotspot.web.captive import LOGOUT_JOB
from jobs.reminders import SEND_JOB
from jobs.schedule import periodic_jobs


@pytest.mark.parametrize(
    ("func", "queue"),
    [
        (EXPIRE_DUE_JOB, "urgent"),
        (DISCONNECT_JOB, "urgent"),
        (LOGOUT_JOB, "urgent"),
        (CHANGE_USER_JOB, "urgent"),
        (CHANGE_PACKAGE_JOB, "urgent"),
        (REDIAL_JOB, "urgent"),
        (RECONCILE_JOB, "urgent"),
        ("jobs.dynauth.send", "urgent"),
        (credentials_sms_job(1).func, "sms"),
        (notice_job("low_credit", 1).func, "sms"),
        (SEND_JOB, "sms"),
        ("jobs.reports.refresh_reports", "reports"),
        ("jobs.retention.forget_old_passwords", "reports"),
        ("jobs.accounting.sync_accounting_job", "default"),
        ("jobs.subscribers.block_overdue", "default"),
        ("jobs.recovery.recover_lost_work", "default"),
        ("jobs.expiryish.lookalike", "default"),  # a prefix matches whole names only
    ],
)
def test_each_job_goes_to_the_queue_of_its_urgency(func: str, queue: str) -> None:
    assert queue_for(func) == queue


def test_the_heartbeat_rides_the_most_urgent_queue_and_every_periodic_job_has_one() -> None:
    routed = {
        func: queue_for(func) for func, _ in periodic_jobs(Settings.from_env({}, dotenv=None))
    }
    assert routed["jobs.schedule.heartbeat"] == "urgent"
    assert set(routed.values()) <= set(QUEUES)


def test_a_worker_serves_its_queues_by_urgency_whatever_the_order_given() -> None:
    assert parse_queues("reports, urgent") == ("urgent", "reports")
    assert parse_queues(",".join(QUEUES)) == QUEUES


@pytest.mark.parametrize("names", ["", "urgent,rq:queue:evil", "high"])
def test_unknown_queues_are_refused(names: str) -> None:
    with pytest.raises(ValueError, match="queues are some of urgent, default, sms, reports"):
        parse_queues(names)
