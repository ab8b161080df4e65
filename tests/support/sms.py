"""Paid purchases whose credentials go out by SMS, and what became of them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.db import transaction
from hotspot.adapters.sms import credentials_key
from hotspot.models import HotspotCredential, SmsMessage
from tests.support import payments
from tests.support.factories import make_package, make_purchase
from tests.support.harness import SmsSandboxUnderTest
from tests.support.stack import StackUnderTest

# Stored as the credentials' expiry, so the text is known: 14:05 in Nairobi.
EXPIRES = dt.datetime(2026, 11, 24, 11, 5, 59, tzinfo=dt.UTC)
PAST_RETENTION = dt.timedelta(hours=25)  # the default retention is 24 h


def random_phone(suffix: str = "") -> str:
    """A fresh +2547… number, as SMS are addressed; the AT sandbox picks outcomes by the last
    four digits."""
    return "+254" + payments.random_phone(suffix)[1:]


def purchase(committed: sessionmaker[Session], phone: str | None) -> int:
    """A paid payment provisioned the real way; its credentials expire at EXPIRES."""
    with transaction(committed) as session:
        payment, _ = make_purchase(session, make_package(session), phone=phone)
        session.execute(
            update(HotspotCredential)
            .where(HotspotCredential.payment_id == payment.id)
            .values(expires_at=EXPIRES)
        )
        return payment.id


def credential_of(committed: sessionmaker[Session], payment_id: int) -> HotspotCredential:
    with committed() as session:
        return session.scalars(
            select(HotspotCredential).where(HotspotCredential.payment_id == payment_id)
        ).one()


def sms_row(committed: sessionmaker[Session], payment_id: int) -> SmsMessage:
    with committed() as session:
        return session.scalars(
            select(SmsMessage).where(SmsMessage.idempotency_key == credentials_key(payment_id))
        ).one()


def age(committed: sessionmaker[Session], payment_id: int) -> None:
    """The payment's credentials row and SMS (if any) as if made PAST_RETENTION ago."""
    long_ago = func.now() - PAST_RETENTION
    with transaction(committed) as session:
        session.execute(
            update(HotspotCredential)
            .where(HotspotCredential.payment_id == payment_id)
            .values(created_at=long_ago)
        )
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.idempotency_key == credentials_key(payment_id))
            .values(created_at=long_ago)
        )


def sms_job_environ(stack: StackUnderTest, at: SmsSandboxUnderTest) -> dict[str, str]:
    """The settings of jobs that send SMS to the local Africa's Talking sandbox."""
    return {
        **stack.env(),
        "HOTSPOT_SMS_BASE_URL": at.base_url,
        "HOTSPOT_SMS_API_KEY": stack.settings.sms_api_key,
    }
