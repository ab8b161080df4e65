"""Work lost with Redis (a payment's queries, its credentials SMS) found again in the database by
`jobs.recovery.recover_lost_work`, on the real PostgreSQL and Redis, with the Daraja and Africa's
Talking sandboxes over HTTP."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq.job import Job
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.retention import forget_passwords
from hotspot.adapters.db import transaction
from hotspot.adapters.job_queues import MESSAGES, JobQueues
from hotspot.billing.payment_state import record
from hotspot.billing.payments import hash_token
from hotspot.billing.recovery import LOCK, quiet_for, unqueried_payments, unsent_credentials
from hotspot.models import HotspotCredential, Package, Payment, PaymentEvent, PaymentStatus
from jobs.recovery import recover_lost_work
from jobs.retention import forget_old_passwords
from jobs.schedule import import_function, periodic_jobs
from jobs.sms import send_credentials
from tests.support.factories import make_payment
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest, SmsSandboxUnderTest
from tests.support.jobs import jobs_reading
from tests.support.payments import package_id, pay
from tests.support.payments import random_phone as local_phone
from tests.support.sms import age, credential_of, purchase, random_phone, sms_row
from tests.support.stack import StackUnderTest

RETENTION_LEFT = dt.timedelta(hours=23)  # the default retention is 24 h


@pytest.fixture
def job_env(
    stack: StackUnderTest,
    mpesa: MpesaSandboxUnderTest,
    at: SmsSandboxUnderTest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """Jobs read their settings from the environment, as an rq worker does."""
    environ = {
        **stack.env(),
        "HOTSPOT_MPESA_BASE_URL": mpesa.url,
        "HOTSPOT_SMS_BASE_URL": at.base_url,
        "HOTSPOT_SMS_API_KEY": stack.settings.sms_api_key,
    }
    with jobs_reading(monkeypatch, environ):
        yield


@pytest.fixture
def queues(stack: StackUnderTest) -> Iterator[JobQueues]:
    connection = redis.Redis.from_url(stack.settings.effective_redis_url)
    yield JobQueues(connection)
    connection.close()


def sms_job_id(payment_id: int) -> str:
    return f"sms-credentials-{payment_id}"


def made_ago(committed: sessionmaker[Session], payment_id: int, ago: dt.timedelta) -> None:
    """The payment's credentials as if provisioned `ago`."""
    with transaction(committed) as session:
        session.execute(
            update(HotspotCredential)
            .where(HotspotCredential.payment_id == payment_id)
            .values(created_at=func.now() - ago)
        )


def forget_jobs(queues: JobQueues, *job_ids: str) -> None:
    """As a Redis restart leaves them: gone."""
    for job_id in job_ids:
        job = Job.fetch_many([job_id], connection=queues.connection)[0]
        if job is not None:
            job.delete()


# --- the credentials SMS -----------------------------------------------------------------------


@pytest.mark.usefixtures("job_env")
def test_a_lost_credentials_sms_is_enqueued_again_and_sent_once(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, queues: JobQueues
) -> None:
    lost, sent, forgotten, fresh = (purchase(committed, random_phone()) for _ in range(4))
    assert send_credentials(sent).startswith("sent: ")
    age(committed, forgotten)
    forget_old_passwords()
    assert credential_of(committed, forgotten).password == ""
    for payment_id in (lost, sent, forgotten):
        made_ago(committed, payment_id, RETENTION_LEFT)  # first in line, among other tests'
    forget_jobs(queues, *(sms_job_id(each) for each in (lost, sent, forgotten, fresh)))

    first = recover_lost_work()
    second = recover_lost_work()  # the job is in Redis now: not enqueued again

    assert "sms_enqueued 0" not in first
    assert queues.named(MESSAGES).get_job_ids().count(sms_job_id(lost)) == 1
    for untouched in (sent, forgotten, fresh):  # an SMS row; no password; its job has a minute
        assert not Job.exists(sms_job_id(untouched), connection=queues.connection)
    job = queues.named(MESSAGES).fetch_job(sms_job_id(lost))
    assert job is not None
    assert (job.func_name, job.args) == ("jobs.sms.send_credentials", (lost,))
    assert (job.retries_left, job.retry_intervals) == (5, [10, 30, 60, 120, 300])
    assert "sms_enqueued 0" in second

    assert str(job.perform()).startswith("sent: ")  # what the worker does with it
    forget_jobs(queues, sms_job_id(lost))
    recover_lost_work()  # its SMS row exists now

    assert not Job.exists(sms_job_id(lost), connection=queues.connection)
    phone = sms_row(committed, lost).phone
    assert [m["to"] for m in at.messages()].count(phone) == 1
    assert len(at.messages()) == 2  # `sent`'s and `lost`'s


# --- pending payments --------------------------------------------------------------------------


def query_count(committed: sessionmaker[Session], payment_id: int) -> int:
    with committed() as session:
        count = session.scalar(
            select(func.count())
            .select_from(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id, PaymentEvent.kind == "query")
        )
    return count or 0


def status_of(committed: sessionmaker[Session], payment_id: int) -> Payment:
    with committed() as session:
        return session.get_one(Payment, payment_id)


def backdate(committed: sessionmaker[Session], payment_id: int, ago: dt.timedelta) -> None:
    with transaction(committed) as session:
        session.execute(
            update(Payment).where(Payment.id == payment_id).values(created_at=func.now() - ago)
        )


def stk_payment(committed: sessionmaker[Session], ago: dt.timedelta) -> int:
    """A pending push M-Pesa never heard of (so its query fails), made `ago`."""
    with transaction(committed) as session:
        payment = make_payment(
            session,
            session.get_one(Package, package_id(committed, "1 Hour")),
            checkout_request_id=f"ws_CO_recovery_{secrets.token_hex(6)}",
            portal_token_hash=hash_token("the portal's"),
        )
        payment_id = payment.id
    backdate(committed, payment_id, ago)
    return payment_id


@pytest.mark.usefixtures("job_env")
def test_a_pending_payment_whose_queries_were_lost_is_queried_and_settled(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    committed: sessionmaker[Session],
    queues: JobQueues,
) -> None:
    phone = local_phone()
    mpesa.next_outcome("no_callback", phone="+254" + phone[1:])  # the callback is lost
    created = pay(api, phone, package_id(committed, "1 Hour")).json()
    payment_id = created["id"]
    forget_jobs(queues, f"reconcile-{payment_id}-0")  # and its queries with Redis
    assert status_of(committed, payment_id).status is PaymentStatus.PENDING
    recover_lost_work()
    assert query_count(committed, payment_id) == 0  # too recent: its chain has a minute
    backdate(committed, payment_id, dt.timedelta(minutes=9))  # first in line
    time.sleep(0.2)  # the sandbox's customer has answered; only a query can know

    recover_lost_work()
    recover_lost_work()

    assert query_count(committed, payment_id) == 1
    assert status_of(committed, payment_id).status is PaymentStatus.PAID
    assert Job.exists(sms_job_id(payment_id), connection=queues.connection)  # dispatched
    forget_jobs(queues, sms_job_id(payment_id))


@pytest.mark.usefixtures("job_env")
def test_only_payments_quiet_for_longer_than_their_chain_waits_are_queried(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    s = stack.settings
    window = dt.timedelta(seconds=s.mpesa_payment_window)
    quiet = quiet_for(s.mpesa_query_first_delay, window)
    assert quiet == dt.timedelta(seconds=180)  # the chain waits 150 s before its last query
    just_queried = stk_payment(committed, dt.timedelta(seconds=90))
    chain_alive = stk_payment(committed, dt.timedelta(seconds=200))
    past_window = stk_payment(committed, window + dt.timedelta(minutes=10))
    with transaction(committed) as session:
        record(session, just_queried, "query", pending=True)
        record(session, chain_alive, "query", pending=True)
        session.execute(
            update(PaymentEvent)
            .where(PaymentEvent.payment_id == chain_alive)
            .values(created_at=func.now() - (quiet - dt.timedelta(seconds=30)))
        )

    outcome = recover_lost_work()
    recover_lost_work()

    assert query_count(committed, just_queried) == 1  # only the test's own
    assert query_count(committed, chain_alive) == 1
    assert status_of(committed, just_queried).status is PaymentStatus.PENDING
    # M-Pesa does not know it: the query fails, and past the window the payment expires.
    assert query_count(committed, past_window) == 1
    expired = status_of(committed, past_window)
    assert expired.status is PaymentStatus.EXPIRED
    assert expired.failure_reason is not None
    assert "not charged" in expired.failure_reason
    assert "queried_expired" in outcome


@pytest.mark.usefixtures("job_env")
def test_a_second_run_while_one_runs_does_nothing(committed: sessionmaker[Session]) -> None:
    past_window = stk_payment(committed, dt.timedelta(hours=1))
    with committed() as session, session.begin():
        session.execute(select(func.pg_advisory_xact_lock(*LOCK)))  # as a run in progress
        assert recover_lost_work() == "another run is recovering"
    assert query_count(committed, past_window) == 0
    recover_lost_work()
    assert status_of(committed, past_window).status is PaymentStatus.EXPIRED


def test_recovery_is_a_periodic_job_every_minute(stack: StackUnderTest) -> None:
    assert dict(periodic_jobs(stack.settings))["jobs.recovery.recover_lost_work"] == 60
    assert import_function("jobs.recovery.recover_lost_work") is recover_lost_work


# --- the plans ---------------------------------------------------------------------------------


def plans(stack: StackUnderTest, session: Session, run: Any) -> list[str]:
    """EXPLAIN of every statement `run` sends, as sent (parameters bound by the server)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            sent.append((statement, parameters))

    event.listen(stack.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(stack.engine, "before_cursor_execute", capture)
    conn = session.connection()
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the test tables are small
    return [
        "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        for statement, parameters in sent
    ]


def test_the_sweeps_read_indexes_not_tables(stack: StackUnderTest, session: Session) -> None:
    retention = dt.timedelta(days=1)
    quiet = dt.timedelta(minutes=3)
    [pending] = plans(stack, session, lambda: unqueried_payments(session, quiet))
    [unsent] = plans(stack, session, lambda: unsent_credentials(session, retention))
    masking, blanking = plans(stack, session, lambda: forget_passwords(session, retention))

    assert "ix_payments_status_created_at" in pending, pending
    assert "ix_hotspot_credentials_kept_created_at" in blanking, blanking
    # The unsent-SMS sweep joins four tables: on a test database's few rows the planner may
    # reach hotspot_credentials by another index (seen once, via user_id), never by a scan.
    assert "Seq Scan on hotspot_credentials" not in masking + unsent + blanking
