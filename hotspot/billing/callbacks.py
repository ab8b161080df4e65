"""M-Pesa's STK callbacks: read, matched to their payment, settled (a new customer's in one SQL
call), and kept in the trail even when rejected."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from hotspot.access.provisioning import (
    PASSWORD_LENGTH,
    Credentials,
    constraint_of,
    drawn_usernames,
)
from hotspot.adapters.db import transaction
from hotspot.billing.mpesa import parse_amount, raw_text
from hotspot.billing.payment_state import AfterCommit, lock_checkout, record
from hotspot.billing.settlement import settle
from hotspot.core import storable
from hotspot.core.codes import random_code
from hotspot.core.errors import InvalidInputError, ProvisioningError
from hotspot.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
)


@dataclass(frozen=True)
class StkCallback:
    merchant_request_id: str
    checkout_request_id: str
    result_code: str
    result_desc: str
    amount: Decimal | None
    receipt: str | None
    phone: str | None
    raw: dict[str, Any]


def parse_stk_callback(body: bytes) -> StkCallback:
    """Reads Daraja's callback; metadata items by Name, since their order is not promised."""
    try:
        data = storable.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("body is not JSON") from None
    envelope = data.get("Body") if isinstance(data, dict) else None
    callback = envelope.get("stkCallback") if isinstance(envelope, dict) else None
    if not isinstance(callback, dict):
        raise InvalidInputError("missing Body.stkCallback")
    for name in ("MerchantRequestID", "CheckoutRequestID", "ResultCode"):
        if callback.get(name) in (None, ""):
            raise InvalidInputError(f"missing Body.stkCallback.{name}")
    items: dict[str, Any] = {}
    metadata = callback.get("CallbackMetadata")
    listed = metadata.get("Item") if isinstance(metadata, dict) else None
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and "Name" in item:
            items[str(item["Name"])] = item.get("Value")
    result_code = str(callback["ResultCode"])
    amount = parse_amount(items.get("Amount")) if "Amount" in items else None
    receipt = items.get("MpesaReceiptNumber")
    if result_code == "0" and (amount is None or not receipt):
        raise InvalidInputError("a successful callback needs Amount and MpesaReceiptNumber items")
    return StkCallback(
        merchant_request_id=str(callback["MerchantRequestID"]),
        checkout_request_id=str(callback["CheckoutRequestID"]),
        result_code=result_code,
        result_desc=str(callback.get("ResultDesc") or ""),
        amount=amount,
        receipt=str(receipt) if receipt else None,
        phone=str(items["PhoneNumber"]) if items.get("PhoneNumber") else None,
        raw=data,
    )


def handle_stk_callback(sessions: sessionmaker[Session], body: bytes, after: AfterCommit) -> None:
    """Settles the payment a callback names; raises InvalidInputError (→ 400) for bad ones.

    Whatever is rejected is still kept, raw, in the audit trail.
    """
    try:
        callback = parse_stk_callback(body)
    except InvalidInputError as exc:
        with transaction(sessions) as session:
            record(session, None, "callback_rejected", reason=str(exc), raw=raw_text(body))
        raise
    try:
        rejection = None
        if not settled_in_one_call(sessions, callback, after):
            with transaction(sessions) as session:
                rejection = settle_with_callback(session, callback, after)
    except ProvisioningError as exc:
        # Rolled back whole: the payment stays as it was (the query tries again), and the
        # callback and why it could not be settled are kept on their own.
        after.clear()
        record_alone(sessions, callback, "settlement_failed", str(exc))
        raise
    except IntegrityError as exc:
        if constraint_of(exc) != "uq_payments_mpesa_receipt":
            raise
        # Rare (a forged or replayed receipt), so the happy path pays no savepoint for it:
        # the whole settlement rolled back, and the rejection is recorded on its own.
        after.clear()
        rejection = InvalidInputError(f"receipt {callback.receipt} was already used")
        record_alone(sessions, callback, "callback_rejected", str(rejection))
    if rejection is not None:
        raise rejection


def record_alone(
    sessions: sessionmaker[Session], callback: StkCallback, kind: str, reason: str
) -> None:
    """A callback whose settlement rolled back, and why, in a transaction of their own."""
    with transaction(sessions) as session:
        payment_id = session.scalar(
            select(Payment.id).where(Payment.checkout_request_id == callback.checkout_request_id)
        )
        record(session, payment_id, "callback", raw=callback.raw)
        record(session, payment_id, kind, reason=reason)


def settle_with_callback(
    session: Session, callback: StkCallback, after: AfterCommit
) -> InvalidInputError | None:
    payment = locked_by_checkout(session, callback.checkout_request_id)
    if payment is None:
        # Not visible yet: the push's bookkeeping may be committing it right now.
        lock_checkout(session, callback.checkout_request_id)
        payment = locked_by_checkout(session, callback.checkout_request_id)
    if payment is None:
        record(
            session,
            None,
            "orphan_callback",
            checkout_request_id=callback.checkout_request_id,
            raw=callback.raw,
        )
        return InvalidInputError(f"unknown CheckoutRequestID {callback.checkout_request_id!r}")
    record(session, payment.id, "callback", raw=callback.raw)
    return apply_callback(session, payment, callback, after)


# A paid callback settled in one call, the common cases (settle_paid_callback.sql, held to the
# general path by tests/integration/test_settlement_parity.py): an unpaid payment whose money
# covers a new customer's package, or a renewal with the account's credit. Anything else comes
# back with no row and nothing written, for the general path. One statement is its own
# transaction: no BEGIN and COMMIT round trips around it.
SETTLE_PAID_CALLBACK = text(
    "SELECT payment_id, user_id, username, expires_at FROM hotspot_settle_paid_callback("
    ":checkout_request_id, :receipt, :amount, CAST(:raw AS jsonb), :usernames, :password, :now)"
)


def settled_in_one_call(
    sessions: sessionmaker[Session], callback: StkCallback, after: AfterCommit
) -> bool:
    if callback.result_code != "0" or callback.amount is None or callback.receipt is None:
        return False
    password = random_code(PASSWORD_LENGTH)
    usernames = drawn_usernames()
    with sessions() as session:
        row = (
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            .execute(
                SETTLE_PAID_CALLBACK,
                {
                    "checkout_request_id": callback.checkout_request_id,
                    "receipt": callback.receipt,
                    "amount": callback.amount,
                    "raw": json.dumps(callback.raw),
                    "usernames": usernames,
                    "password": password,
                    "now": dt.datetime.now(dt.UTC),
                },
            )
            .one_or_none()
        )
    if row is None:
        return False
    credentials = Credentials(
        row.username,
        password,
        row.expires_at.astimezone(dt.UTC),
        row.user_id,
        # A new customer is under one of the drawn names, a renewal under its own (the same as a
        # drawn one by a chance of about 1 in 10^8, when its sessions keep their old end).
        renewal=row.username not in usernames,
    )
    after.status_changes.append((row.payment_id, PaymentStatus.PAID))
    after.add_provisioned(row.payment_id, credentials)
    return True


def locked_by_checkout(session: Session, checkout_request_id: str) -> Payment | None:
    """The payment a CheckoutRequestID names, locked. A committed row is found without the
    advisory lock: its bookkeeping is done, and the row lock serializes the rest."""
    return session.scalar(
        select(Payment)
        .options(joinedload(Payment.package))
        .where(Payment.checkout_request_id == checkout_request_id)
        .with_for_update(of=Payment)
    )


def apply_callback(
    session: Session, payment: Payment, callback: StkCallback, after: AfterCommit
) -> InvalidInputError | None:
    """Settles with one callback; an inconsistent one is recorded and changes nothing (its
    checks come before any write)."""
    try:
        settle_from_callback(session, payment, callback, after)
    except InvalidInputError as exc:
        record(session, payment.id, "callback_rejected", reason=str(exc))
        return exc
    return None


def orphan_callbacks(session: Session, checkout_request_id: str) -> list[StkCallback]:
    rows = session.scalars(
        select(PaymentEvent.detail).where(
            PaymentEvent.kind == "orphan_callback",
            PaymentEvent.payment_id.is_(None),
            PaymentEvent.detail["checkout_request_id"].astext == checkout_request_id,
        )
    )
    return [parse_stk_callback(json.dumps(detail["raw"]).encode()) for detail in rows]


def settle_from_callback(
    session: Session, payment: Payment, callback: StkCallback, after: AfterCommit
) -> None:
    if (
        callback.result_code == "0"
        and callback.amount is not None
        and callback.amount < payment.amount
    ):
        raise InvalidInputError(f"amount {callback.amount} is below the {payment.amount} asked for")
    settle(
        session,
        payment,
        result_code=callback.result_code,
        result_desc=callback.result_desc,
        receipt=callback.receipt,
        amount_paid=callback.amount,
        source="callback",
        after=after,
    )
