"""The customer's login by SMS after a payment, at most once per payment."""

from __future__ import annotations

from sqlalchemy import select

from hotspot.adapters.sms import (
    CREDENTIALS_PURPOSE,
    credentials_key,
    credentials_text,
)
from hotspot.models import HotspotCredential, HotspotUser, Payment
from jobs import services
from jobs.notify import send_to_customer


def send_credentials(payment_id: int) -> str:
    """Enqueue with rq retries: a transient failure raises so rq tries again later.

    Only to the account's own phone: a C2B payer naming someone else's username is not sent
    that account's password.
    """
    s = services()
    with s.sessions() as session:
        credential = session.scalar(
            select(HotspotCredential).where(HotspotCredential.payment_id == payment_id)
        )
        if credential is None:
            return f"nothing to send: payment {payment_id} has no credentials (credit only?)"
        if not credential.password:
            return f"nothing to send: payment {payment_id}'s password is no longer kept"
        user = session.get_one(HotspotUser, credential.user_id)
        if user.phone is None:
            return f"nothing to send: account {user.username} has no phone"
        payment = session.get_one(Payment, payment_id)
        package = payment.package or user.package
        body = credentials_text(
            s.settings.sms_template,
            username=credential.username,
            password=credential.password,
            expires_at=credential.expires_at,
            package=package.name,
            offset_hours=s.settings.sms_timezone_offset_hours,
        )
    return send_to_customer(credentials_key(payment_id), CREDENTIALS_PURPOSE, user, body)
