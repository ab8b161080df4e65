"""Notifications (hotspot/operators/notifications.py) sent through the SMS adapter: each under
its own key, so a retry sends only what did not go; a transient failure of one is retried."""

from __future__ import annotations

import datetime as dt

from hotspot.adapters.sms import Outgoing, SmsGateway, SmsTransientError, send_once
from hotspot.core.settings import check_notify_rules
from hotspot.models import HotspotUser, Operator
from hotspot.operators.notifications import Audience, notices, phones
from hotspot.operators.tenants import sender_of
from jobs import services


def send_notices(event: str, subject_id: int) -> str:
    s = services()
    audience = Audience(
        check_notify_rules(s.settings.notify_rules),
        phones(s.settings.platform_phones),
        dt.datetime.now(dt.UTC),
    )
    with s.sessions() as session:
        found = notices(session, event, subject_id, audience)
    gateway = SmsGateway.from_settings(s.settings)
    outcomes, transient = [], []
    for notice in found:
        outgoing = Outgoing(
            key=notice.key,
            purpose=f"notify:{event}",
            phone=notice.phone,
            body=notice.body,
            operator_id=notice.operator_id,
            sender_id=notice.sender_id,
            metered=notice.metered,
        )
        try:
            outcomes.append(send_once(s.sessions, gateway, outgoing))
        except SmsTransientError as exc:
            transient.append(str(exc))
    if transient:
        raise SmsTransientError(f"{len(transient)} not sent yet: {transient[0]}")
    return "; ".join(outcomes) or "nobody to tell"


def send_to_customer(key: str, purpose: str, user: HotspotUser, body: str) -> str:
    """A customer's SMS (credentials, a reminder): under its operator's sender ID, paid in its
    credits; the operator told when they run low."""
    s = services()
    assert user.phone is not None
    with s.sessions() as session:
        sender = sender_of(session, user.operator_id)
    outgoing = Outgoing(
        key=key,
        purpose=purpose,
        phone=user.phone,
        body=body,
        operator_id=user.operator_id,
        sender_id=sender,
        user_id=user.id,
    )
    sent = send_once(s.sessions, SmsGateway.from_settings(s.settings), outgoing)
    tell_if_low(user.operator_id)
    return sent


def tell_if_low(operator_id: int) -> str | None:
    """After a customer SMS: an operator below HOTSPOT_LOW_SMS_CREDITS hears it (once a
    purchase)."""
    s = services()
    with s.sessions() as session:
        left = session.get_one(Operator, operator_id).sms_credits
    if left is None or left >= s.settings.low_sms_credits:
        return None
    return send_notices("low_credits", operator_id)
