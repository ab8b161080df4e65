"""Credentials by SMS through the Africa's Talking SDK, over real HTTP to the local AT sandbox,
on the real PostgreSQL and Redis: at most once per payment, whatever fails or dies."""

from __future__ import annotations

import datetime as dt
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from pyrad import packet
from rq import Queue, Retry, SimpleWorker
from rq.job import JobStatus
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

import jobs
from hotspot.access.retention import GONE, MASK
from hotspot.adapters.db import transaction
from hotspot.adapters.sms import (
    HELD_BY_ANOTHER_RUN,
    Outgoing,
    SmsError,
    SmsGateway,
    SmsPermanentError,
    SmsTransientError,
    SmsUnknownOutcomeError,
    credentials_key,
    send_once,
)
from hotspot.billing.payments import hash_token
from hotspot.models import (
    HotspotCredential,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SmsMessage,
    SmsStatus,
)
from hotspot.operators.tenants import default_operator_id
from hotspot.web.app import create_app
from jobs.retention import forget_old_passwords
from jobs.schedule import import_function, periodic_jobs
from jobs.sms import send_credentials
from tests.support.factories import make_package, make_payment
from tests.support.harness import ServerThread, SmsSandboxUnderTest
from tests.support.jobs import jobs_reading
from tests.support.radius import pyrad_login
from tests.support.sms import (
    PAST_RETENTION,
    age,
    credential_of,
    purchase,
    random_phone,
    sms_job_environ,
    sms_row,
)
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for

UTC = dt.UTC
WAIT = 15.0


@pytest.fixture
def job_env(
    stack: StackUnderTest, at: SmsSandboxUnderTest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Jobs read their settings from the environment, as an rq worker does."""
    with jobs_reading(monkeypatch, sms_job_environ(stack, at)):
        yield


@pytest.fixture(scope="module")
def api_url(stack: StackUnderTest) -> Iterator[str]:
    """The API as `start_api` serves it, with the delivery-report blueprint."""
    server = ServerThread(None)
    app = create_app(stack.settings.with_changes(public_base_url=server.url))
    server.server.app = app
    yield server.url
    server.stop()
    app.extensions["hotspot"].close()


def expected_text(committed: sessionmaker[Session], payment_id: int) -> str:
    c = credential_of(committed, payment_id)
    return (
        f"WiFi login: username {c.username} password {c.password}, valid until 24 Nov 2026 14:05."
    )


# --- sending once --------------------------------------------------------------------------


@pytest.mark.usefixtures("job_env")
def test_credentials_are_sent_once_with_ats_answer_recorded(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    phone = random_phone()
    payment_id = purchase(committed, phone)

    outcome = send_credentials(payment_id)

    [received] = at.messages()
    assert received["to"] == phone
    assert received["message"] == expected_text(committed, payment_id)
    assert outcome == f"sent: {received['message_id']}"
    assert received["message_id"].startswith("ATXid_")
    row = sms_row(committed, payment_id)
    assert row.status is SmsStatus.SENT
    assert row.provider_status_code == 101
    assert row.provider_message_id == received["message_id"]
    assert row.cost == "KES 0.8000"
    assert row.sent_at is not None
    assert row.error is None
    assert (row.phone, row.body, row.purpose) == (phone, received["message"], "credentials")

    assert send_credentials(payment_id) == "already sent"
    assert len(at.messages()) == 1


@pytest.mark.usefixtures("job_env")
def test_the_template_may_name_the_package(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read when the job first builds its services, so setting it after job_env is in time.
    monkeypatch.setenv("HOTSPOT_SMS_TEMPLATE", "{package}: {username}/{password} to {expires_at}")
    payment_id = purchase(committed, random_phone())

    send_credentials(payment_id)

    c = credential_of(committed, payment_id)
    with committed() as session:
        package = session.get_one(Payment, payment_id).package
    assert package is not None
    expected = f"{package.name}: {c.username}/{c.password} to 24 Nov 2026 14:05"
    assert [m["message"] for m in at.messages()] == [expected]


@pytest.mark.usefixtures("job_env")
def test_concurrent_runs_send_once(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    at.configure(response_delay=0.5)  # both runs overlap while AT "thinks"
    jobs.services()
    outcomes: list[str] = []
    runs = [
        threading.Thread(target=lambda: outcomes.append(send_credentials(payment_id)))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert len(at.messages()) == 1
    assert sorted(o.split(":")[0] for o in outcomes) == ["outcome unknown", "sent"]
    row = sms_row(committed, payment_id)
    # The run that sent overwrote the other's "unknown" note with what AT answered.
    assert (row.status, row.error) == (SmsStatus.SENT, None)


@pytest.mark.usefixtures("job_env")
def test_a_claim_left_by_a_dead_run_is_not_resent(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    phone = random_phone()
    payment_id = purchase(committed, phone)
    # As a worker killed right after AT accepted leaves it: claimed, nothing recorded.
    with transaction(committed) as session:
        session.add(
            SmsMessage(
                operator_id=default_operator_id(session),
                idempotency_key=credentials_key(payment_id),
                phone=phone,
                purpose="credentials",
                body=expected_text(committed, payment_id),
                status=SmsStatus.CLAIMED,
            )
        )

    assert send_credentials(payment_id) == HELD_BY_ANOTHER_RUN
    assert send_credentials(payment_id) == HELD_BY_ANOTHER_RUN

    assert at.messages() == []
    row = sms_row(committed, payment_id)
    assert row.status is SmsStatus.CLAIMED
    assert row.error == HELD_BY_ANOTHER_RUN


@pytest.mark.usefixtures("job_env")
@pytest.mark.parametrize(
    ("outcome", "reason"),
    [("server_error", "refused the request"), ("gateway_error", "502 RejectedByGateway")],
)
def test_a_transient_failure_raises_and_a_later_run_sends_once(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, outcome: str, reason: str
) -> None:
    payment_id = purchase(committed, random_phone())
    at.next_outcome(outcome)

    with pytest.raises(SmsTransientError, match=reason):
        send_credentials(payment_id)
    row = sms_row(committed, payment_id)
    assert row.status is SmsStatus.CLAIMED
    assert row.error is not None
    assert row.error.startswith("retrying: ")

    assert send_credentials(payment_id).startswith("sent: ATXid_")
    assert send_credentials(payment_id) == "already sent"
    assert [m["outcome"] for m in at.messages()] == [outcome, "success"]
    assert sms_row(committed, payment_id).status is SmsStatus.SENT


@pytest.mark.usefixtures("job_env")
@pytest.mark.parametrize(
    ("suffix", "outcome", "reason"),
    [("0403", None, "403 InvalidPhoneNumber"), ("", "blacklisted", "406 UserInBlacklist")],
)
def test_a_permanent_failure_is_recorded_and_not_retried(
    committed: sessionmaker[Session],
    at: SmsSandboxUnderTest,
    suffix: str,
    outcome: str | None,
    reason: str,
) -> None:
    payment_id = purchase(committed, random_phone(suffix))
    if outcome is not None:
        at.next_outcome(outcome)

    assert send_credentials(payment_id) == f"failed: {reason}"

    row = sms_row(committed, payment_id)
    assert (row.status, row.error) == (SmsStatus.FAILED, reason)
    assert row.provider_status_code == int(reason[:3])
    assert row.provider_message_id is None
    assert send_credentials(payment_id) == "already failed"
    assert len(at.messages()) == 1


def test_a_timeout_after_sending_is_never_resent(
    stack: StackUnderTest, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    s = stack.settings
    impatient = SmsGateway(s.sms_username, s.sms_api_key, at.base_url, timeout=(2.0, 0.2))
    with committed() as session:
        operator_id = default_operator_id(session)
    outgoing = Outgoing(
        key=f"test:{secrets.token_hex(8)}",
        purpose="test",
        phone=random_phone(),
        body="hello",
        operator_id=operator_id,
    )
    at.configure(response_delay=0.6)

    first = send_once(committed, impatient, outgoing)
    at.configure(response_delay=0)
    second = send_once(committed, impatient, outgoing)

    assert first.startswith("outcome unknown: no usable answer")
    assert second == first
    assert len(at.accepted()) == 1
    with committed() as session:
        row = session.scalars(
            select(SmsMessage).where(SmsMessage.idempotency_key == outgoing.key)
        ).one()
    assert (row.status, row.error) == (SmsStatus.CLAIMED, first)


@pytest.mark.usefixtures("job_env")
def test_nothing_is_sent_without_credentials_or_phone(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    no_phone = purchase(committed, None)
    with transaction(committed) as session:
        credit = make_payment(
            session,
            make_package(session),
            method=PaymentMethod.C2B,
            status=PaymentStatus.PAID,
            phone=random_phone(),
        )
        credit_only = credit.id

    assert send_credentials(no_phone).startswith("nothing to send: account ")
    assert send_credentials(credit_only).startswith("nothing to send: payment ")
    assert at.messages() == []


# --- the API key ---------------------------------------------------------------------------


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Misbehaves in the way its first path segment names, quoting back the apiKey it got."""
    key = environ.get("HTTP_APIKEY", "")
    mode = environ["PATH_INFO"].split("/")[1]
    if mode == "slow":
        time.sleep(0.5)
    status, mimetype, body = {
        "fail": ("500 Internal Server Error", "text/plain", f"boom for {key}"),
        "garbage": ("201 Created", "text/plain", f"<ok key='{key}'/>"),
        "odd": ("201 Created", "application/json", f'{{"SMSMessageData": {{"k": "{key}"}}}}'),
        "empty": (
            "201 Created",
            "application/json",
            f'{{"SMSMessageData": {{"Message": "InvalidSenderId {key}", "Recipients": []}}}}',
        ),
        "slow": ("201 Created", "application/json", "{}"),
    }[mode]
    start_response(status, [("Content-Type", mimetype)])
    return [body.encode()]


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ServerThread(echo_app)
    yield server.url
    server.stop()


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("echo:fail", SmsTransientError),
        ("echo:garbage", SmsUnknownOutcomeError),
        ("echo:odd", SmsUnknownOutcomeError),
        ("echo:empty", SmsPermanentError),
        ("echo:slow", SmsUnknownOutcomeError),
        ("closed", SmsTransientError),
        ("wrong-key", SmsTransientError),
    ],
)
def test_the_api_key_never_appears_in_errors(
    at: SmsSandboxUnderTest, echo: str, where: str, error: type[SmsError]
) -> None:
    key = secrets.token_urlsafe(24)
    if where.startswith("echo:"):
        base = f"{echo}/{where.removeprefix('echo:')}/version1"
    elif where == "closed":
        base = "http://127.0.0.1:9/version1"  # discard port: nothing listens
    else:
        base = at.base_url
    gateway = SmsGateway("sandbox", key, base, timeout=(2.0, 0.2))

    with pytest.raises(error) as caught:
        gateway.send(random_phone(), "hi")

    assert key not in repr(gateway)
    shown = "".join(traceback.format_exception(caught.value))
    assert key not in shown
    if where.startswith("echo:") and where != "echo:slow":
        assert "***" in str(caught.value)  # the echoed key, redacted


@pytest.mark.usefixtures("job_env")
def test_the_api_key_is_not_logged_or_stored(
    stack: StackUnderTest,
    committed: sessionmaker[Session],
    at: SmsSandboxUnderTest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    payment_id = purchase(committed, random_phone())
    at.next_outcome("server_error")
    with pytest.raises(SmsTransientError) as caught:
        send_credentials(payment_id)
    send_credentials(payment_id)

    key = stack.settings.sms_api_key
    assert key not in caplog.text
    assert key not in "".join(traceback.format_exception(caught.value))
    assert key not in repr(sms_row(committed, payment_id).__dict__)


# --- delivery reports ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_url(api_url: str, stack: StackUnderTest) -> str:
    """The URL registered with Africa's Talking, secret token and all."""
    return f"{api_url}/api/sms/delivery-report/{stack.settings.sms_delivery_report_token}"


def report(url: str, **form: str) -> requests.Response:
    return requests.post(url, data=form, timeout=5)


@pytest.fixture
def sent(committed: sessionmaker[Session], at: SmsSandboxUnderTest, job_env: None) -> SmsMessage:
    payment_id = purchase(committed, random_phone())
    send_credentials(payment_id)
    return sms_row(committed, payment_id)


def reread(committed: sessionmaker[Session], row: SmsMessage) -> SmsMessage:
    with committed() as session:
        return session.get_one(SmsMessage, row.id)


def test_a_success_report_marks_the_message_delivered(
    report_url: str, committed: sessionmaker[Session], sent: SmsMessage
) -> None:
    assert sent.provider_message_id is not None
    answer = report(
        report_url,
        id=sent.provider_message_id,
        status="Success",
        phoneNumber=sent.phone,
        networkCode="99999",
    )

    assert answer.status_code == 200
    assert answer.json() == {"id": sent.provider_message_id, "status": "delivered"}
    assert reread(committed, sent).status is SmsStatus.DELIVERED
    # Repeated or late reports change nothing.
    report(
        report_url, id=sent.provider_message_id, status="Failed", failureReason="DeliveryFailure"
    )
    assert reread(committed, sent).status is SmsStatus.DELIVERED


def test_a_failure_report_keeps_the_reason(
    report_url: str, committed: sessionmaker[Session], sent: SmsMessage
) -> None:
    assert sent.provider_message_id is not None
    buffered = report(report_url, id=sent.provider_message_id, status="Buffered")
    assert buffered.json()["status"] == "sent"

    answer = report(
        report_url,
        id=sent.provider_message_id,
        status="Failed",
        phoneNumber=sent.phone,
        networkCode="63902",
        failureReason="UserIsInactive",
        retryCount="0",
    )

    assert answer.json()["status"] == "failed"
    row = reread(committed, sent)
    assert (row.status, row.error) == (SmsStatus.FAILED, "Failed: UserIsInactive")


def test_a_forged_report_without_the_secret_token_is_404_and_changes_nothing(
    api_url: str, report_url: str, committed: sessionmaker[Session], sent: SmsMessage
) -> None:
    assert sent.provider_message_id is not None
    forged = {"id": sent.provider_message_id, "status": "Failed", "failureReason": "Forged"}
    token = report_url.rpartition("/")[2]
    guesses = [
        f"{api_url}/api/sms/delivery-report",  # the old, open URL
        f"{api_url}/api/sms/delivery-report/guessed",
        f"{api_url}/api/sms/delivery-report/{token[:-1]}",
        f"{api_url}/api/sms/delivery-report/{token}é",  # any text may arrive: never a 500
        f"{api_url}/api/sms/delivery-report/%C3%A9t%C3%A9",
    ]
    for url in guesses:
        assert report(url, **forged).status_code == 404, url
    row = reread(committed, sent)
    assert (row.status, row.error) == (SmsStatus.SENT, None)


def test_a_report_for_an_unknown_message_is_404(report_url: str) -> None:
    answer = report(report_url, id="ATXid_nobody", status="Success")
    assert answer.status_code == 404
    assert "ATXid_nobody" in answer.json()["error"]


@pytest.mark.parametrize(
    "form",
    [{}, {"id": "ATXid_1"}, {"status": "Success"}, {"id": "ATXid_\x00", "status": "Success"}],
)
def test_a_malformed_report_is_400(report_url: str, form: dict[str, str]) -> None:
    answer = report(report_url, **form)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_a_json_report_is_400(report_url: str) -> None:
    answer = requests.post(report_url, json={"id": "x", "status": "Success"}, timeout=5)
    assert answer.status_code == 400


@pytest.mark.usefixtures("job_env")
def test_the_sandbox_reports_delivery_to_the_api(
    report_url: str, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    at.configure(delivery_report_url=report_url, delivery_report_delay=0.2)
    payment_id = purchase(committed, random_phone())

    send_credentials(payment_id)

    wait_for(lambda: sms_row(committed, payment_id).status is SmsStatus.DELIVERED, WAIT)
    [message] = at.messages()
    assert message["delivery_report"]["status"] == 200


# --- a real rq worker, and one killed mid-job ---------------------------------------------


@pytest.mark.usefixtures("job_env")
def test_an_rq_worker_retries_a_transient_failure_and_sends_once(
    stack: StackUnderTest, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    at.next_outcome("server_error")
    connection = redis.Redis.from_url(stack.settings.effective_redis_url)
    queue = Queue(f"test-sms-{secrets.token_hex(4)}", connection=connection)
    job = queue.enqueue(
        "jobs.sms.send_credentials",
        payment_id,
        job_id=f"sms-credentials-{payment_id}",
        retry=Retry(max=2, interval=0),  # production waits 10 s first; here it is re-run at once
    )

    SimpleWorker([queue], connection=connection).work(burst=True)

    assert job.get_status(refresh=True) is JobStatus.FINISHED
    assert str(job.return_value()).startswith("sent: ATXid_")
    assert [m["outcome"] for m in at.messages()] == ["server_error", "success"]
    assert sms_row(committed, payment_id).status is SmsStatus.SENT
    connection.close()


@pytest.mark.usefixtures("job_env")
def test_a_worker_killed_after_at_accepted_causes_no_second_sms(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    at.configure(response_delay=5.0)  # AT has the message; the worker waits for the answer
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from jobs.sms import send_credentials; send_credentials({payment_id})",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: bool(at.messages()) or worker.poll() is not None, WAIT)
        assert worker.poll() is None, "the worker ended before it could be killed"
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=5) == -signal.SIGKILL
    finally:
        worker.kill()
    at.configure(response_delay=0)
    row = sms_row(committed, payment_id)
    assert (row.status, row.error, row.provider_message_id) == (SmsStatus.CLAIMED, None, None)

    assert send_credentials(payment_id) == HELD_BY_ANOTHER_RUN

    assert len(at.messages()) == 1
    assert sms_row(committed, payment_id).error == HELD_BY_ANOTHER_RUN


# --- passwords forgotten after HOTSPOT_CLEARTEXT_RETENTION ----------------------------------


def portal_token(committed: sessionmaker[Session], payment_id: int) -> str:
    token = secrets.token_urlsafe(16)
    with transaction(committed) as session:
        paying = update(Payment).where(Payment.id == payment_id)
        session.execute(paying.values(portal_token_hash=hash_token(token)))
    return token


@pytest.mark.usefixtures("job_env")
def test_after_the_retention_only_radcheck_keeps_the_password(
    stack: StackUnderTest, api_url: str, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    token = portal_token(committed, payment_id)
    send_credentials(payment_id)
    credential = credential_of(committed, payment_id)
    username, password = credential.username, credential.password
    as_sent = expected_text(committed, payment_id)
    forget_old_passwords()  # too recent: kept
    assert credential_of(committed, payment_id).password == password
    assert sms_row(committed, payment_id).body == as_sent
    age(committed, payment_id)

    forget_old_passwords()
    forget_old_passwords()  # running twice is running once

    assert credential_of(committed, payment_id).password == ""
    assert sms_row(committed, payment_id).body == (
        f"WiFi login: username {username} password {MASK}, valid until 24 Nov 2026 14:05."
    )
    # FreeRADIUS still has its copy: the customer logs in, with CHAP too.
    assert pyrad_login(stack, username, password).code == packet.AccessAccept
    assert pyrad_login(stack, username, password, chap=True).code == packet.AccessAccept
    # The portal says so rather than handing out an empty password.
    answer = requests.get(
        f"{api_url}/api/payments/{payment_id}/credentials",
        headers={"X-Portal-Token": token},
        timeout=5,
    )
    assert (answer.status_code, answer.json()) == (410, {"error": GONE})


@pytest.mark.usefixtures("job_env")
def test_a_renewed_accounts_older_message_loses_its_old_password_too(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    """A renewal brings a new password: the first message's is no longer radcheck's, but it is
    forgotten all the same."""
    phone = "+254" + random_phone()[1:]
    first = purchase(committed, phone)
    send_credentials(first)
    old_password = credential_of(committed, first).password
    renewal = purchase(committed, phone)
    send_credentials(renewal)
    assert credential_of(committed, renewal).password != old_password
    age(committed, first)

    forget_old_passwords()

    assert old_password not in sms_row(committed, first).body
    assert MASK in sms_row(committed, first).body
    assert credential_of(committed, renewal).password  # still within its retention


@pytest.mark.usefixtures("job_env")
def test_credentials_keep_their_password_while_a_younger_message_still_shows_it(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    """An SMS sent late (after the credentials' own retention began) is masked with the
    credentials' copy of the password, which must wait for it."""
    payment_id = purchase(committed, random_phone())
    send_credentials(payment_id)
    password = credential_of(committed, payment_id).password
    with transaction(committed) as session:
        session.execute(
            update(HotspotCredential)
            .where(HotspotCredential.payment_id == payment_id)
            .values(created_at=func.now() - PAST_RETENTION)
        )
    forget_old_passwords()
    assert credential_of(committed, payment_id).password == password
    age(committed, payment_id)
    forget_old_passwords()
    assert credential_of(committed, payment_id).password == ""
    assert password not in sms_row(committed, payment_id).body


@pytest.mark.usefixtures("job_env")
def test_a_message_awaiting_a_retry_keeps_the_password_until_it_is_sent(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    at.next_outcome("server_error")
    with pytest.raises(SmsTransientError):
        send_credentials(payment_id)
    password = credential_of(committed, payment_id).password
    as_sent = expected_text(committed, payment_id)
    age(committed, payment_id)

    forget_old_passwords()

    assert sms_row(committed, payment_id).body == as_sent
    assert credential_of(committed, payment_id).password == password
    assert send_credentials(payment_id).startswith("sent: ")  # the retry
    assert [m["message"] for m in at.accepted()] == [as_sent]
    forget_old_passwords()
    assert password not in sms_row(committed, payment_id).body
    assert credential_of(committed, payment_id).password == ""


@pytest.mark.usefixtures("job_env")
def test_credentials_forgotten_before_their_sms_ran_are_not_sent(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    payment_id = purchase(committed, random_phone())
    age(committed, payment_id)
    forget_old_passwords()

    assert send_credentials(payment_id) == (
        f"nothing to send: payment {payment_id}'s password is no longer kept"
    )
    assert at.messages() == []


def test_forgetting_passwords_is_a_periodic_job(stack: StackUnderTest) -> None:
    jobs_ = dict(periodic_jobs(stack.settings))
    assert jobs_["jobs.retention.forget_old_passwords"] > 0
    assert import_function("jobs.retention.forget_old_passwords") is forget_old_passwords
