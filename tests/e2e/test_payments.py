"""Pay and get online: the portal API, M-Pesa's callbacks (from the local Daraja sandbox over
HTTP) and provisioning, on the real PostgreSQL, Redis and FreeRADIUS."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from pyrad import packet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.payments import hash_token
from hotspot.billing.settlement import query_delay, reconcile, settle
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Payment,
    PaymentEvent,
    RadiusSession,
    RadUserGroup,
)
from hotspot.operators.tenants import default_operator_id
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest, start_api
from tests.support.payments import (
    c2b_body,
    credentials,
    failure_callback,
    package_id,
    pay,
    random_phone,
    receipt,
    success_callback,
    wait_for_status,
)
from tests.support.radius import pyrad_login, radclient
from tests.support.stack import StackUnderTest

DEVICE = "0A:00:27:00:00:01"  # the router's MAC for a customer's phone, renewing from it


def count(committed: sessionmaker[Session], what: Any, *where: Any) -> int:
    with committed() as session:
        return session.scalar(select(func.count()).select_from(what).where(*where)) or 0


@pytest.fixture
def silent_payment(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> dict[str, Any]:
    """A pending payment whose callback the test sends itself (the sandbox stays silent)."""
    phone = random_phone()
    mpesa.next_outcome("no_callback", phone="+254" + phone[1:])
    response = pay(api, phone, package_id(committed, "1 Hour"))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- the happy path ----------------------------------------------------------------------------


def test_packages_are_listed(api: ApiUnderTest) -> None:
    packages = requests.get(f"{api.url}/api/packages", timeout=5).json()["packages"]
    demo = [p["name"] for p in packages if not p["name"].startswith("test ")]
    assert demo == ["1 Hour", "1 Day", "1 Week"]


def test_pay_then_fetch_credentials_that_freeradius_accepts(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    response = pay(api, random_phone(), package_id(committed, "1 Hour"), mac="AA:BB:CC:00:11:22")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    assert created["amount"] == "20.00"
    assert created["package"]["name"] == "1 Hour"
    assert created["checkout_request_id"].startswith("ws_CO_")
    assert wait_for_status(api, created, "paid")["mpesa_receipt"]
    got = credentials(api, created, created["portal_token"])
    assert got.status_code == 200
    user = got.json()
    reply = pyrad_login(stack, user["username"], user["password"])
    assert reply.code == packet.AccessAccept


@pytest.mark.parametrize("form", ["0{n}", "{n}", "+254{n}", "254{n}"])
def test_every_usual_phone_form_is_accepted(
    api: ApiUnderTest, committed: sessionmaker[Session], form: str
) -> None:
    national = random_phone()[1:]
    response = pay(api, form.format(n=national), package_id(committed, "1 Hour"))
    assert response.status_code == 201, response.text
    assert response.json()["phone"] == "+254" + national


def test_provisioning_writes_user_radius_rows_session_and_credentials(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Day")).json()
    wait_for_status(api, created, "paid")
    with committed() as session:
        payment = session.get_one(Payment, created["id"])
        user = session.get_one(HotspotUser, payment.user_id)
        assert user.phone == created["phone"]
        groups = session.scalars(
            select(RadUserGroup.groupname).where(RadUserGroup.username == user.username)
        ).all()
        assert groups == ["1-day"]
        pending = session.scalars(
            select(RadiusSession).where(RadiusSession.user_id == user.id)
        ).one()
        assert pending.expected_end == user.expires_at
        assert (
            session.scalars(
                select(HotspotCredential.username).where(HotspotCredential.payment_id == payment.id)
            ).one()
            == user.username
        )


def test_the_status_stream_pushes_each_change_and_closes(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    mpesa.sandbox.reconfigure({"callback_delay": 0.5})
    try:
        created = pay(api, phone, package_id(committed, "1 Hour")).json()
        with requests.get(
            f"{api.url}/api/payments/{created['id']}/events",
            params={"token": created["portal_token"]},
            stream=True,
            timeout=10,
        ) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            lines = [line.decode() for line in stream.iter_lines()]
            events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    finally:
        mpesa.sandbox.reconfigure({"callback_delay": 0.05})
    assert [e["status"] for e in events] == ["pending", "paid"]


# --- failures ---


@pytest.mark.parametrize(
    ("suffix", "kind", "reason"),
    [
        ("1032", "cancelled", "cancel"),
        ("1037", "unreachable", "reach"),
        ("2001", "wrong_pin", "PIN"),
        ("0001", "insufficient_funds", "not enough money"),
    ],
)
def test_each_failure_says_why_to_a_program_and_in_words(
    api: ApiUnderTest, committed: sessionmaker[Session], suffix: str, kind: str, reason: str
) -> None:
    created = pay(api, random_phone(suffix), package_id(committed, "1 Hour")).json()
    shown = wait_for_status(api, created, "failed")
    assert shown["status"] == "failed"
    assert shown["failure_kind"] == kind
    assert reason.lower() in shown["failure_reason"].lower()
    assert credentials(api, created, created["portal_token"]).status_code == 409


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"package_id": 1, "phone": "0712"}, "not a valid phone number"),
        ({"package_id": 1, "phone": "+14155552671"}, "Kenyan"),
        ({"package_id": "one", "phone": "0712345678"}, "package_id"),
        ({"package_id": 1}, "phone"),
    ],
)
def test_bad_requests_get_422_with_the_reason(
    api: ApiUnderTest, body: dict[str, Any], reason: str
) -> None:
    response = requests.post(f"{api.url}/api/payments", json=body, timeout=5)
    assert response.status_code == 422
    assert reason in response.json()["error"]


def test_an_unknown_package_is_404(api: ApiUnderTest) -> None:
    response = pay(api, random_phone(), 999_999)
    assert response.status_code == 404


def test_a_gateway_failure_is_a_failed_payment_with_the_reason(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    server, services = start_api(stack.settings.with_changes(mpesa_base_url="http://127.0.0.1:1"))
    try:
        response = requests.post(
            f"{server.url}/api/payments",
            json={"package_id": package_id(committed, "1 Hour"), "phone": random_phone()},
            timeout=10,
        )
    finally:
        server.stop()
        services.close()
    assert response.status_code == 502
    assert response.json()["status"] == "failed"
    assert response.json()["failure_kind"] == "not_sent"
    assert "M-Pesa" in response.json()["failure_reason"]


def test_credentials_need_the_portal_token(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    assert credentials(api, created, None).status_code == 403
    assert credentials(api, created, "not-the-token").status_code == 403


def test_credentials_before_payment_are_409(
    api: ApiUnderTest, silent_payment: dict[str, Any]
) -> None:
    got = credentials(api, silent_payment, silent_payment["portal_token"])
    assert got.status_code == 409


# --- callbacks: duplicates, races, forgeries ---


def test_a_callback_delivered_three_times_provisions_once(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone("0003"), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    time.sleep(0.5)  # the sandbox's other two deliveries
    assert count(committed, HotspotCredential, HotspotCredential.payment_id == created["id"]) == 1
    duplicates = count(
        committed,
        PaymentEvent,
        PaymentEvent.payment_id == created["id"],
        PaymentEvent.kind == "duplicate_callback",
    )
    assert duplicates == 2


def test_a_thousand_concurrent_identical_callbacks_provision_once(
    api: ApiUnderTest, silent_payment: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    body = success_callback(silent_payment["checkout_request_id"], 20, receipt())
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(
            pool.map(
                lambda _: requests.post(api.callback_url, json=body, timeout=30).status_code,
                range(1000),
            )
        )
    assert set(statuses) == {200}
    payment_id = silent_payment["id"]
    assert count(committed, HotspotCredential, HotspotCredential.payment_id == payment_id) == 1
    assert (
        count(committed, RadiusSession, RadiusSession.user_id == user_of(committed, payment_id))
        == 1
    )


def user_of(committed: sessionmaker[Session], payment_id: int) -> int | None:
    with committed() as session:
        return session.get_one(Payment, payment_id).user_id


def test_a_success_after_a_failure_still_provisions(
    api: ApiUnderTest, silent_payment: dict[str, Any]
) -> None:
    checkout = silent_payment["checkout_request_id"]
    failed = requests.post(
        api.callback_url, json=failure_callback(checkout, 1037, "DS timeout"), timeout=5
    )
    assert failed.status_code == 200
    assert wait_for_status(api, silent_payment, "failed")["status"] == "failed"
    paid = requests.post(
        api.callback_url, json=success_callback(checkout, 20, receipt()), timeout=5
    )
    assert paid.status_code == 200
    assert wait_for_status(api, silent_payment, "paid")["status"] == "paid"


def test_a_wrong_secret_path_is_404_and_changes_nothing(
    api: ApiUnderTest, silent_payment: dict[str, Any]
) -> None:
    body = success_callback(silent_payment["checkout_request_id"], 20, receipt())
    # Any text may arrive in the path: a non-ASCII guess is a 404 too, not a 500.
    token = api.services.callback_tokens.current()
    for guess in ("guessed", token + "é", "%C3%A9t%C3%A9"):
        response = requests.post(f"{api.url}/api/callbacks/stk/{guess}", json=body, timeout=5)
        assert response.status_code == 404, guess
    assert wait_for_status(api, silent_payment, "paid")["status"] == "pending"


def test_an_unknown_checkout_request_id_is_400_and_kept(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    checkout = "ws_CO_" + secrets.token_hex(8)
    response = requests.post(
        api.callback_url, json=success_callback(checkout, 20, receipt()), timeout=5
    )
    assert response.status_code == 400
    assert "unknown CheckoutRequestID" in response.json()["error"]
    kept = count(
        committed,
        PaymentEvent,
        PaymentEvent.kind == "orphan_callback",
        PaymentEvent.detail["checkout_request_id"].astext == checkout,
    )
    assert kept == 1


def test_an_amount_below_the_price_provisions_nothing(
    api: ApiUnderTest, silent_payment: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    body = success_callback(silent_payment["checkout_request_id"], 1, receipt())
    response = requests.post(api.callback_url, json=body, timeout=5)
    assert response.status_code == 400
    assert "below" in response.json()["error"]
    assert wait_for_status(api, silent_payment, "paid")["status"] == "pending"


def test_another_payments_receipt_provisions_nothing(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> None:
    first = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    used = wait_for_status(api, first, "paid")["mpesa_receipt"]
    phone = random_phone()
    mpesa.next_outcome("no_callback", phone="+254" + phone[1:])
    second = pay(api, phone, package_id(committed, "1 Hour")).json()
    body = success_callback(second["checkout_request_id"], 20, used)
    response = requests.post(api.callback_url, json=body, timeout=5)
    assert response.status_code == 400
    assert "already used" in response.json()["error"]
    assert wait_for_status(api, second, "paid")["status"] == "pending"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'{"Body": {}}', "stkCallback"),
        (b'{"Body": {"stkCallback": {"MerchantRequestID": "x", "ResultCode": 0}}}', "Checkout"),
    ],
)
def test_malformed_callbacks_are_400_and_kept_for_audit(
    api: ApiUnderTest, committed: sessionmaker[Session], raw: bytes, reason: str
) -> None:
    before = count(committed, PaymentEvent, PaymentEvent.kind == "callback_rejected")
    response = requests.post(
        api.callback_url, data=raw, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert count(committed, PaymentEvent, PaymentEvent.kind == "callback_rejected") == before + 1


# --- renewals ---


def test_paying_again_extends_the_same_user_from_its_expiry(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    first = pay(api, phone, package_id(committed, "1 Hour"), mac=DEVICE).json()
    wait_for_status(api, first, "paid")
    one = credentials(api, first, first["portal_token"]).json()
    second = pay(api, phone, package_id(committed, "1 Hour"), mac=DEVICE).json()
    wait_for_status(api, second, "paid")
    two = credentials(api, second, second["portal_token"]).json()
    assert two["username"] == one["username"]
    gained = dt.datetime.fromisoformat(two["expires_at"]) - dt.datetime.fromisoformat(
        one["expires_at"]
    )
    assert gained == dt.timedelta(hours=1)
    assert count(committed, HotspotUser, HotspotUser.phone == "+254" + phone[1:]) == 1


def test_a_new_customer_and_a_renewal_each_leave_one_callback_and_one_provisioned_event(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    """The first payment of a phone is settled in one database call, the second by the general
    path (the phone has its account); the audit trail reads the same for both."""
    phone = random_phone()
    payments = []
    for _ in "ab":
        created = pay(api, phone, package_id(committed, "1 Hour")).json()
        wait_for_status(api, created, "paid")
        payments.append(created["id"])
    with committed() as session:
        for payment_id in payments:
            kinds = session.scalars(
                select(PaymentEvent.kind)
                .where(PaymentEvent.payment_id == payment_id)
                .order_by(PaymentEvent.id)
            ).all()
            assert [k for k in kinds if k in ("callback", "provisioned")] == [
                "callback",
                "provisioned",
            ]
        paid = session.scalars(select(Payment).where(Payment.id.in_(payments))).all()
        assert {p.status.value for p in paid} == {"paid"}
        assert len({p.user_id for p in paid}) == 1


def test_a_different_package_moves_the_user_to_its_group(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    first = pay(api, phone, package_id(committed, "1 Hour"), mac=DEVICE).json()
    wait_for_status(api, first, "paid")
    second = pay(api, phone, package_id(committed, "1 Week"), mac=DEVICE).json()
    wait_for_status(api, second, "paid")
    username = credentials(api, second, second["portal_token"]).json()["username"]
    with committed() as session:
        groups = session.scalars(
            select(RadUserGroup.groupname).where(RadUserGroup.username == username)
        ).all()
    assert groups == ["1-week"]


def test_a_lapsed_user_restarts_from_now(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    first = pay(api, phone, package_id(committed, "1 Hour"), mac=DEVICE).json()
    wait_for_status(api, first, "paid")
    with committed.begin() as session:
        user = session.scalars(
            select(HotspotUser).where(HotspotUser.phone == "+254" + phone[1:])
        ).one()
        user.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    second = pay(api, phone, package_id(committed, "1 Hour"), mac=DEVICE).json()
    wait_for_status(api, second, "paid")
    expires = dt.datetime.fromisoformat(
        credentials(api, second, second["portal_token"]).json()["expires_at"]
    )
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=59) < left <= dt.timedelta(hours=1)


# --- C2B paybill ---


@pytest.fixture
def paid_user(api: ApiUnderTest, committed: sessionmaker[Session]) -> dict[str, Any]:
    phone = random_phone()
    created = pay(api, phone, package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    user: dict[str, Any] = credentials(api, created, created["portal_token"]).json()
    user["phone"] = phone
    return user


def test_c2b_validation_accepts_known_accounts_and_rejects_others(
    api: ApiUnderTest, paid_user: dict[str, Any]
) -> None:
    known = requests.post(
        api.c2b_url("validate"), json=c2b_body(paid_user["username"], "20.00"), timeout=5
    ).json()
    assert known == {"ResultCode": "0", "ResultDesc": "Accepted"}
    unknown = requests.post(
        api.c2b_url("validate"), json=c2b_body("nobody-here", "20.00"), timeout=5
    ).json()
    assert unknown["ResultCode"] == "C2B00012"


def test_c2b_to_a_username_renews_it(
    api: ApiUnderTest, paid_user: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    response = requests.post(
        api.c2b_url("confirm"), json=c2b_body(paid_user["username"].upper(), "20.00"), timeout=5
    )
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    with committed() as session:
        user = session.scalars(
            select(HotspotUser).where(HotspotUser.username == paid_user["username"])
        ).one()
    assert user.expires_at - dt.datetime.fromisoformat(paid_user["expires_at"]) == dt.timedelta(
        hours=1
    )


def test_c2b_partial_payments_become_credit_that_counts(
    api: ApiUnderTest, paid_user: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    reference = paid_user["phone"]  # customers may type their phone number
    requests.post(api.c2b_url("confirm"), json=c2b_body(reference, "15.00"), timeout=5)
    with committed() as session:
        user = session.scalars(
            select(HotspotUser).where(HotspotUser.username == paid_user["username"])
        ).one()
        assert user.credit == Decimal("15.00")
        assert user.expires_at == dt.datetime.fromisoformat(paid_user["expires_at"])
    requests.post(api.c2b_url("confirm"), json=c2b_body(reference, "10.00"), timeout=5)
    with committed() as session:
        user = session.scalars(
            select(HotspotUser).where(HotspotUser.username == paid_user["username"])
        ).one()
        assert user.credit == Decimal("5.00")
        assert user.expires_at > dt.datetime.fromisoformat(paid_user["expires_at"])


def test_c2b_credit_lowers_the_next_stk_amount(
    api: ApiUnderTest, paid_user: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    requests.post(api.c2b_url("confirm"), json=c2b_body(paid_user["username"], "15"), timeout=5)
    created = pay(api, paid_user["phone"], package_id(committed, "1 Hour")).json()
    assert created["amount"] == "5.00"
    wait_for_status(api, created, "paid")
    with committed() as session:
        credit = session.scalars(
            select(HotspotUser.credit).where(HotspotUser.username == paid_user["username"])
        ).one()
    assert credit == Decimal("0.00")


def test_c2b_to_an_unknown_reference_is_kept_unmatched(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    trans_id = receipt()
    response = requests.post(
        api.c2b_url("confirm"), json=c2b_body("who-is-this", "50.00", trans_id), timeout=5
    )
    assert response.status_code == 200
    with committed() as session:
        payment = session.scalars(select(Payment).where(Payment.mpesa_receipt == trans_id)).one()
    assert payment.status.value == "unmatched"
    assert payment.amount == Decimal("50.00")


def test_a_repeated_c2b_confirmation_counts_once(
    api: ApiUnderTest, paid_user: dict[str, Any], committed: sessionmaker[Session]
) -> None:
    body = c2b_body(paid_user["username"], "5.00")
    for _ in range(3):
        assert requests.post(api.c2b_url("confirm"), json=body, timeout=5).status_code == 200
    with committed() as session:
        credit = session.scalars(
            select(HotspotUser.credit).where(HotspotUser.username == paid_user["username"])
        ).one()
    assert credit == Decimal("5.00")


def test_the_openapi_document_is_served(api: ApiUnderTest) -> None:
    spec = requests.get(f"{api.url}/api/openapi.json", timeout=5).json()
    assert "/api/payments/{payment_id}/credentials" in spec["paths"]


# --- reconciliation ---


def test_a_lost_callback_is_recovered_by_the_query(
    api: ApiUnderTest, silent_payment: dict[str, Any]
) -> None:
    time.sleep(0.2)  # the sandbox's customer has answered; only the query knows
    after = AfterCommit()
    left = reconcile(
        api.services.sessions,
        api.services.gateway_for,
        silent_payment["id"],
        window=dt.timedelta(minutes=5),
        after=after,
    )
    assert left is None
    assert wait_for_status(api, silent_payment, "paid")["status"] == "paid"
    assert [status.value for _, status in after.status_changes] == ["paid"]
    assert len(after.provisioned) == 1


def test_a_query_never_overturns_a_callbacks_success(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    mpesa.sandbox.reconfigure({})  # the sandbox's query says success too; force a failure:
    with committed.begin() as session:
        payment = session.get_one(Payment, created["id"])
        settle(
            session,
            payment,
            result_code="1032",
            result_desc="Request cancelled by user",
            receipt=None,
            amount_paid=None,
            source="query",
            after=AfterCommit(),
        )
    assert wait_for_status(api, created, "paid")["status"] == "paid"


def test_a_payment_unanswered_past_its_window_expires(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        payment = Payment(
            operator_id=default_operator_id(session),
            package_id=package_id(committed, "1 Hour"),
            phone="+254700000009",
            amount=Decimal(20),
            checkout_request_id=None,
            portal_token_hash=hash_token("the portal's"),
        )
        session.add(payment)
        session.flush()
        payment_id = payment.id
    after = AfterCommit()
    left = reconcile(
        api.services.sessions,
        api.services.gateway_for,
        payment_id,
        window=dt.timedelta(0),
        after=after,
    )
    assert left is None
    shown = wait_for_status(api, {"id": payment_id, "portal_token": "the portal's"}, "expired")
    assert shown["status"] == "expired"
    assert shown["failure_kind"] == "expired"
    assert "not charged" in shown["failure_reason"]


def test_the_query_schedule_doubles(api: ApiUnderTest) -> None:
    assert [query_delay(10, n).total_seconds() for n in range(5)] == [10, 20, 40, 80, 160]


# --- Redis down ---


def test_with_redis_down_payment_completes_and_credentials_come_from_the_database(
    stack: StackUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> None:
    server, services = start_api(
        stack.settings.with_changes(mpesa_base_url=mpesa.url, redis_url="redis://127.0.0.1:1/0")
    )
    try:
        api = ApiUnderTest(server.url, services)
        created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
        assert wait_for_status(api, created, "paid")["status"] == "paid"
        got = credentials(api, created, created["portal_token"])
        assert got.status_code == 200
        with requests.get(
            f"{api.url}/api/payments/{created['id']}/events",
            params={"token": created["portal_token"]},
            timeout=10,
        ) as stream:
            assert '"status": "paid"' in stream.text
    finally:
        server.stop()
        services.close()


# --- end to end ---


def test_pay_then_radclient_logs_in_with_the_credentials(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    user = credentials(api, created, created["portal_token"]).json()
    reply = radclient(
        stack, "auth", {"User-Name": user["username"], "User-Password": user["password"]}
    )
    assert "Received Access-Accept" in reply


def test_the_timeline_reconstructs_a_payment(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone("0003"), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    time.sleep(0.3)
    result = subprocess.run(
        [sys.executable, "-m", "hotspot", "payments", "show", str(created["id"])],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kinds = [line.split()[1] for line in result.stdout.splitlines()[1:]]
    assert kinds[:4] == ["initiated", "stk_push", "callback", "provisioned"]
    assert kinds.count("duplicate_callback") == 2


def test_callbacks_that_outrun_the_push_bookkeeping_are_never_lost(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, committed: sessionmaker[Session]
) -> None:
    mpesa.sandbox.reconfigure({"callback_delay": 0})
    try:
        created = [
            pay(api, random_phone(), package_id(committed, "1 Hour")).json() for _ in range(20)
        ]
    finally:
        mpesa.sandbox.reconfigure({"callback_delay": 0.05})
    statuses = [wait_for_status(api, c, "paid")["status"] for c in created]
    assert statuses == ["paid"] * 20
