"""SMS credits (issue 15, point 5): every SMS an operator's customers get costs its parts in
credits; without enough it is not sent (the credentials stay on the portal); buying credits by
paybill resumes them. The installation's own operator is unmetered."""

from __future__ import annotations

import json
import secrets
import zoneinfo
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.sms import NO_CREDITS, Outgoing, SmsGateway, send_once
from hotspot.billing.c2b import Paybill, confirm_c2b
from hotspot.billing.payment_state import AfterCommit
from hotspot.core.phones import normalize_phone
from hotspot.models import Operator, SmsMessage
from hotspot.operators.tenants import default_operator_id
from tests.support.factories import make_operator
from tests.support.harness import SmsSandboxUnderTest
from tests.support.payments import c2b_body, random_phone
from tests.support.stack import StackUnderTest


def outgoing(operator_id: int, body: str, sender_id: str | None = None) -> Outgoing:
    return Outgoing(
        sender_id=sender_id,
        key=f"test:{secrets.token_hex(8)}",
        purpose="test",
        phone=normalize_phone(random_phone()),
        body=body,
        operator_id=operator_id,
    )


def credits(committed: sessionmaker[Session], operator_id: int) -> int | None:
    with committed() as session:
        return session.get_one(Operator, operator_id).sms_credits


def test_sms_cost_credits_stop_at_zero_and_resume_when_bought(
    stack: StackUnderTest, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    s = stack.settings
    gateway = SmsGateway(s.sms_username, s.sms_api_key, at.base_url)
    with committed.begin() as session:
        operator = make_operator(session, sms_credits=2)
        operator_id, code = operator.id, operator.code

    assert send_once(committed, gateway, outgoing(operator_id, "Karibu")).startswith("sent")
    assert credits(committed, operator_id) == 1
    long = outgoing(operator_id, "x" * 200)  # two parts: more than is left
    assert send_once(committed, gateway, long) == NO_CREDITS
    assert len(at.messages()) == 1
    with committed() as session:
        row = session.scalars(select(SmsMessage).where(SmsMessage.idempotency_key == long.key))
        refused = row.one()
        assert (refused.status.value, refused.credits, refused.error) == ("failed", 0, NO_CREDITS)
    assert credits(committed, operator_id) == 1

    body = json.dumps(c2b_body(f"SMS{code}", "10")).encode()
    paybill = Paybill("KE", zoneinfo.ZoneInfo("UTC"), ("sms",), Decimal("1.00"))
    confirm_c2b(committed, body, paybill, AfterCommit())
    assert credits(committed, operator_id) == 11
    resumed = outgoing(operator_id, "y" * 200, sender_id="KAHAWA")  # its own sender ID
    assert send_once(committed, gateway, resumed).startswith("sent")
    assert credits(committed, operator_id) == 9
    assert at.messages()[-1]["from"] == "KAHAWA"


def test_the_installations_own_operator_is_unmetered(
    stack: StackUnderTest, committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    s = stack.settings
    gateway = SmsGateway(s.sms_username, s.sms_api_key, at.base_url)
    with committed() as session:
        default = default_operator_id(session)
    assert send_once(committed, gateway, outgoing(default, "z" * 400)).startswith("sent")
    assert credits(committed, default) is None
