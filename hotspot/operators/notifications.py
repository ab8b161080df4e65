"""Who is told what (issue 15, point 6): events, the recipients HOTSPOT_NOTIFY_RULES names for
each, and the text each gets. Sent by `jobs.notify` through the SMS adapter under a key per
event, subject and recipient, so each goes at most once and is in the SMS log.

- customer: payment received (a subscriber's), reconnected, credit kept;
- operator (its contact phone): payment received, SMS credits bought, low SMS credits;
- platform (HOTSPOT_PLATFORM_PHONES): unmatched money, a failed reconnection, gateway errors,
  alerts Prometheus raised (hotspot.operators.alerts).

Only what a customer gets costs its operator SMS credits: an operator must hear that its credits
ran out, and the platform what went wrong, whatever the credits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotspot.billing.gateways import label
from hotspot.models import AlertEvent, Operator, Payment, PaymentEvent, Subscriber
from hotspot.operators.tenants import default_operator_id

CUSTOMER, OPERATOR, PLATFORM = "customer", "operator", "platform"


@dataclass(frozen=True)
class Notice:
    key: str  # at most one message per key
    event: str
    phone: str
    body: str
    operator_id: int
    metered: bool  # costs the operator credits (a customer's)
    sender_id: str | None


@dataclass(frozen=True)
class Audience:
    rules: frozenset[tuple[str, str]]  # (event, recipient) pairs to tell
    platform_phones: tuple[str, ...]
    now: dt.datetime


@dataclass(frozen=True)
class Subject:
    """What an event is about, and the texts its recipients get."""

    operator: Operator
    customer_phone: str | None
    texts: dict[str, str]  # recipient -> text
    key: str


def notices(session: Session, event: str, subject_id: int, audience: Audience) -> list[Notice]:
    """The messages `event` about `subject_id` (a payment; for low_credits an operator, for
    reconnect_failed a subscriber) sends under the rules; none when the subject is gone."""
    subject = SUBJECTS[event](session, subject_id, audience.now)
    if subject is None:
        return []
    operator = subject.operator
    phones = {
        CUSTOMER: [subject.customer_phone] if subject.customer_phone else [],
        OPERATOR: [operator.contact_phone] if operator.contact_phone else [],
        PLATFORM: list(audience.platform_phones),
    }
    return [
        Notice(
            key=f"notify:{event}:{subject.key}:{recipient}:{phone}",
            event=event,
            phone=phone,
            body=text,
            operator_id=operator.id,
            metered=recipient == CUSTOMER,
            sender_id=operator.sms_sender_id if recipient == CUSTOMER else None,
        )
        for recipient, text in subject.texts.items()
        if (event, recipient) in audience.rules
        for phone in phones[recipient]
    ]


def _payment(session: Session, payment_id: int) -> tuple[Payment, Operator] | None:
    payment = session.get(Payment, payment_id)
    if payment is None:
        return None
    return payment, session.get_one(Operator, payment.operator_id)


def _detail(session: Session, payment_id: int, *kinds: str) -> dict[str, object]:
    """The detail of the payment's latest event of one of these kinds."""
    found = session.scalar(
        select(PaymentEvent.detail)
        .where(PaymentEvent.payment_id == payment_id, PaymentEvent.kind.in_(kinds))
        .order_by(PaymentEvent.id.desc())
        .limit(1)
    )
    return found or {}


def payment_received(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    found = _payment(session, payment_id)
    if found is None:
        return None
    payment, operator = found
    money = f"{operator.currency or 'KES'} {payment.amount}"
    subscriber = session.get(Subscriber, payment.subscriber_id) if payment.subscriber_id else None
    paid_up = f", paid until {subscriber.due_date:%d %b %Y}" if subscriber else ""
    receipt = f"M-Pesa {payment.mpesa_receipt}"
    texts = {
        CUSTOMER: f"{brand(operator)}: we received {money} ({receipt}){paid_up}.",
        OPERATOR: f"Payment {money} for account {payment.bill_ref_number or '-'} ({receipt}).",
    }
    return Subject(operator, payment.phone, texts, str(payment_id))


def reconnected(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    found = _payment(session, payment_id)
    if found is None or found[0].subscriber_id is None:
        return None
    payment, operator = found
    subscriber = session.get_one(Subscriber, payment.subscriber_id)
    until = f"{subscriber.due_date:%d %b %Y}"
    text = f"{brand(operator)}: your internet is back on, paid until {until}."
    return Subject(operator, payment.phone, {CUSTOMER: text}, str(payment_id))


def credit_kept(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    found = _payment(session, payment_id)
    if found is None:
        return None
    payment, operator = found
    credit = _detail(session, payment_id, "credited").get("credit", payment.amount)
    text = (
        f"{brand(operator)}: we received {operator.currency or 'KES'} {payment.amount} and kept "
        f"it as credit ({credit} in all); it is not yet a whole month or package."
    )
    return Subject(operator, payment.phone, {CUSTOMER: text}, str(payment_id))


def credits_bought(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    found = _payment(session, payment_id)
    if found is None:
        return None
    _, operator = found
    bought = _detail(session, payment_id, "sms_credits_bought")
    text = f"{bought.get('credits', 0)} SMS credits added; {operator.sms_credits} left."
    return Subject(operator, None, {OPERATOR: text}, str(payment_id))


def low_credits(session: Session, operator_id: int, now: dt.datetime) -> Subject | None:
    """Once per purchase: the key counts the operator's credit purchases so far."""
    operator = session.get(Operator, operator_id)
    if operator is None or operator.sms_credits is None:
        return None
    purchases = session.scalar(
        select(func.count()).where(
            Payment.operator_id == operator_id, Payment.purpose == "sms_credits"
        )
    )
    text = (
        f"{operator.sms_credits} SMS credits left: customer SMS stop at 0 (their logins stay on "
        f"the portal). Buy more by paybill, account SMS{operator.code}."
    )
    return Subject(operator, None, {OPERATOR: text}, f"{operator_id}-{purchases}")


def unmatched(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    found = _payment(session, payment_id)
    if found is None:
        return None
    payment, operator = found
    text = (
        f"Unmatched paybill money: {payment.amount} to {operator.code}, account reference "
        f"{payment.bill_ref_number!r}, M-Pesa {payment.mpesa_receipt}: resolve payment "
        f"{payment.id}."
    )
    return Subject(operator, None, {PLATFORM: text}, str(payment_id))


def reconnect_failed(session: Session, subscriber_id: int, now: dt.datetime) -> Subject | None:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    operator = session.get_one(Operator, subscriber.operator_id)
    text = (
        f"Subscriber {subscriber.account_number} ({operator.code}) paid, but its router did not "
        "take the Disconnect-Request that reconnects it: check the router."
    )
    return Subject(operator, None, {PLATFORM: text}, f"{subscriber_id}-{now:%Y%m%d%H%M}")


def gateway_error(session: Session, payment_id: int, now: dt.datetime) -> Subject | None:
    """A gateway refusing, timing out, holding or reversing: at most one an hour, however many
    payments it touches."""
    found = _payment(session, payment_id)
    if found is None:
        return None
    payment, operator = found
    events = ("stk_push_failed", "stk_push_unknown", "held", "reversed_by_gateway")
    reason = _detail(session, payment_id, *events).get("reason", "unknown")
    text = f"{label(payment.gateway)} payment {payment_id} ({operator.code}) needs a look: {reason}"
    return Subject(operator, None, {PLATFORM: text[:300]}, f"{now:%Y%m%d%H}")


def brand(operator: Operator) -> str:
    return operator.portal_name or operator.name


def alert(session: Session, event_id: int, now: dt.datetime) -> Subject | None:
    """An alert Prometheus raised (hotspot.operators.alerts), to the platform's admins; only
    events within the hourly limit are told."""
    event = session.get(AlertEvent, event_id)
    if event is None or not event.notify:
        return None
    operator = session.get_one(Operator, default_operator_id(session))
    severity = f" ({event.severity})" if event.severity else ""
    text = f"ALERT {event.alertname}{severity}: {event.summary}"[:300]
    return Subject(operator, None, {PLATFORM: text}, str(event_id))


SUBJECTS: dict[str, Callable[[Session, int, dt.datetime], Subject | None]] = {
    "payment_received": payment_received,
    "reconnected": reconnected,
    "credit_kept": credit_kept,
    "credits_bought": credits_bought,
    "low_credits": low_credits,
    "unmatched": unmatched,
    "reconnect_failed": reconnect_failed,
    "gateway_error": gateway_error,
    "alert": alert,
}


def phones(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())
