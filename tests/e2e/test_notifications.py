"""Notifications (issue 15, point 6): the customer, the operator's contact and the platform's
admins told what happened, by the rules, each at most once and in the SMS log."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.subscribers import CreatePlan, CreateSubscriber, add_plan, add_subscriber
from hotspot.billing.c2b import Paybill, confirm_c2b
from hotspot.billing.payment_state import AfterCommit
from hotspot.core.phones import normalize_phone
from hotspot.models import SmsMessage
from jobs.notify import send_notices, tell_if_low
from tests.support.factories import make_operator
from tests.support.harness import SmsSandboxUnderTest
from tests.support.jobs import jobs_reading
from tests.support.payments import c2b_body, random_phone
from tests.support.sms import sms_job_environ
from tests.support.stack import StackUnderTest

PLATFORM_PHONE = "+254799000001"
RULES = ("subscriber", "hotspot", "sms", "wallet")


@pytest.fixture
def job_env(
    stack: StackUnderTest, at: SmsSandboxUnderTest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    environ = {**sms_job_environ(stack, at), "HOTSPOT_PLATFORM_PHONES": PLATFORM_PHONE}
    with jobs_reading(monkeypatch, environ):
        yield


def settle(committed: sessionmaker[Session], reference: str, amount: str) -> AfterCommit:
    after = AfterCommit()
    paybill = Paybill("KE", zoneinfo.ZoneInfo("Africa/Nairobi"), RULES, Decimal("1.00"))
    confirm_c2b(committed, json.dumps(c2b_body(reference, amount)).encode(), paybill, after)
    return after


def told(at: SmsSandboxUnderTest, phone: str) -> list[str]:
    return [m["message"] for m in at.messages() if phone in m["to"]]


def test_a_late_subscribers_payment_tells_the_customer_and_the_operator_once(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, job_env: None
) -> None:
    customer, contact = normalize_phone(random_phone()), normalize_phone(random_phone())
    tag = secrets.token_hex(3)
    with committed.begin() as session:
        operator = make_operator(session, contact_phone=contact, portal_name="Kahawa WiFi")
        plan = add_plan(session, operator, CreatePlan(f"Home {tag}", Decimal(1000), "5M/5M"))
        command = CreateSubscriber(
            plan.id, f"N{tag.upper()}", f"n-{tag}", dt.date.today() - dt.timedelta(days=3), customer
        )
        subscriber, _ = add_subscriber(session, plan, command, zoneinfo.ZoneInfo("UTC"))
        subscriber.status = subscriber.status.BLOCKED
        account = subscriber.account_number
    after = settle(committed, account, "400")  # short of a month: credit
    after2 = settle(committed, account, "600")  # the rest: reconnected
    for event, subject in after.notices + after2.notices + after2.notices:  # one repeated
        send_notices(event, subject)
    to_customer = told(at, customer)
    assert len(to_customer) == 4  # received (twice), credit kept, back on
    assert any("kept it as credit" in m for m in to_customer)
    assert any(m.startswith("Kahawa WiFi: your internet is back on") for m in to_customer)
    assert len(told(at, contact)) == 2  # each payment, once
    with committed() as session:
        purposes = session.scalars(
            select(SmsMessage.purpose).where(SmsMessage.phone.in_([customer, contact]))
        ).all()
    assert sorted(set(purposes)) == [
        "notify:credit_kept", "notify:payment_received", "notify:reconnected",
    ]  # fmt: skip


def test_the_platform_hears_of_unmatched_money_and_the_operator_of_low_credits(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, job_env: None
) -> None:
    after = settle(committed, f"NOBODY-{secrets.token_hex(3)}", "70")
    for event, subject in after.notices:
        send_notices(event, subject)
    assert any("Unmatched paybill money: 70" in m for m in told(at, PLATFORM_PHONE))

    contact = normalize_phone(random_phone())
    with committed.begin() as session:
        operator = make_operator(session, contact_phone=contact, sms_credits=3)
        operator_id = operator.id
    tell_if_low(operator_id)
    tell_if_low(operator_id)  # once, until it buys credits again
    low = told(at, contact)
    assert len(low) == 1
    assert "3 SMS credits left" in low[0]


def test_the_platform_hears_of_a_paid_subscriber_its_router_did_not_reconnect(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest, job_env: None
) -> None:
    tag = secrets.token_hex(3)
    with committed.begin() as session:
        operator = make_operator(session)
        plan = add_plan(session, operator, CreatePlan(f"Home {tag}", Decimal(1000), "5M/5M"))
        due = dt.datetime.now(dt.UTC).date()
        command = CreateSubscriber(plan.id, f"F{tag.upper()}", f"f-{tag}", due)
        subscriber, _ = add_subscriber(session, plan, command, zoneinfo.ZoneInfo("UTC"))
        subscriber_id, account = subscriber.id, subscriber.account_number
    send_notices("reconnect_failed", subscriber_id)
    assert any(f"Subscriber {account}" in m for m in told(at, PLATFORM_PHONE))
