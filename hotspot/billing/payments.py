"""Payments: STK push initiation, settlement by callback or query, C2B paybill money.

Money taken must become access exactly once. Every step is a `payment_events` row; a payment row
is locked while it is settled; uniqueness of the CheckoutRequestID, the M-Pesa receipt and the
credentials-per-payment row makes a second provisioning fail at commit whatever raced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from hotspot.access.portal_status import normalize_mac
from hotspot.access.provisioning import (
    PASSWORD_LENGTH,
    Credentials,
    constraint_of,
    drawn_usernames,
    provision_purchase,
)
from hotspot.access.retention import kept
from hotspot.adapters.daraja import (
    MAX_AMOUNT,
    GatewayError,
    StkPushAccepted,
    StkQueryResult,
    result_message,
)
from hotspot.adapters.db import transaction
from hotspot.core import storable
from hotspot.core.codes import random_code
from hotspot.core.errors import InvalidInputError, NotFoundError, ProvisioningError
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    INT32_MAX,
    MAX_MONEY,
    HotspotCredential,
    HotspotUser,
    Package,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
)

ACCOUNT_REFERENCE = "HOTSPOT"


class Gateway(Protocol):
    """What payments need from M-Pesa (the Daraja client, or anything speaking like it)."""

    def stk_push(
        self, *, phone: str, amount: int, account_reference: str, description: str,
        callback_url: str,
    ) -> StkPushAccepted: ...  # fmt: skip

    def stk_query(self, checkout_request_id: str) -> StkQueryResult: ...


@dataclass
class AfterCommit:
    """Side effects to run once the transaction is committed (Redis, jobs)."""

    status_changes: list[tuple[int, PaymentStatus]] = field(default_factory=list)
    provisioned: list[tuple[int, Credentials]] = field(default_factory=list)
    to_query: list[int] = field(default_factory=list)
    expiries: list[Credentials] = field(default_factory=list)

    def add_provisioned(self, payment_id: int, credentials: Credentials) -> None:
        """New access: its credentials cached and sent, and its expiry scheduled."""
        self.provisioned.append((payment_id, credentials))
        self.expiries.append(credentials)

    def clear(self) -> None:
        """Forgets what a rolled-back transaction collected."""
        self.status_changes.clear()
        self.provisioned.clear()
        self.to_query.clear()
        self.expiries.clear()


@dataclass(frozen=True)
class Initiated:
    payment: Payment
    package: Package
    portal_token: str


# --- the audit trail ---------------------------------------------------------------------------


def record(session: Session, payment_id: int | None, kind: str, **detail: Any) -> None:
    """Written at once, in order, with plain SQL: the trail is append-only, nothing reads it back
    in the same transaction, and a callback should not pay the ORM's bookkeeping for it."""
    session.execute(
        PAYMENT_EVENTS.insert(),
        {"payment_id": payment_id, "kind": kind, "detail": _jsonable(detail)},
    )


PAYMENT_EVENTS = cast(Table, PaymentEvent.__table__)
CENT = Decimal("0.01")


def _jsonable(value: Any) -> Any:
    """What jsonb holds: even a rejected body with unstorable text is kept, cleaned."""
    return storable.cleaned(json.loads(json.dumps(value, default=str)))


# --- initiation --------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(payment: Payment, token: str | None) -> bool:
    if not token or payment.portal_token_hash is None:
        return False
    return hmac.compare_digest(payment.portal_token_hash, hash_token(token))


def amount_due(session: Session, package: Package, phone: str) -> Decimal:
    """The price less the phone account's credit, in whole shillings (M-Pesa's unit), at least 1."""
    credit = session.scalar(select(HotspotUser.credit).where(HotspotUser.phone == phone))
    due = package.price - (credit or Decimal(0))
    return max(due.to_integral_value(rounding="ROUND_CEILING"), Decimal(1))


def create_payment(
    session: Session,
    *,
    package_id: Any,
    phone: Any,
    mac: Any = None,
    ip: Any = None,
    region: str,
) -> Initiated:
    """Checks the request and stores the payment as pending, before M-Pesa is asked anything."""
    if not isinstance(package_id, int) or isinstance(package_id, bool):
        raise InvalidInputError("package_id must be an integer")
    if not isinstance(phone, str):
        raise InvalidInputError("phone is required")
    package = session.get(Package, package_id) if 0 < package_id <= INT32_MAX else None
    if package is None or not package.is_active:
        raise NotFoundError(f"no package with id {package_id}")
    normalized = normalize_phone(phone, region)
    if not normalized.startswith("+254"):
        raise InvalidInputError("M-Pesa needs a Kenyan number (+254…)")
    amount = amount_due(session, package, normalized)
    if amount > MAX_AMOUNT:
        raise InvalidInputError(f"M-Pesa takes at most {MAX_AMOUNT:,} in one payment")
    token = secrets.token_urlsafe(24)
    payment = Payment(
        method=PaymentMethod.STK,
        package_id=package.id,
        phone=normalized,
        amount=amount,
        package_price=package.price,
        package_duration_seconds=package.duration_seconds,
        status=PaymentStatus.PENDING,
        portal_token_hash=hash_token(token),
        mac=_optional_text(mac, "mac"),
        ip=_optional_ip(ip),
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "initiated", package=package.name, amount=payment.amount)
    return Initiated(payment, package, token)


def _optional_text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInputError(f"{name} must be a short string")
    return value


def _optional_ip(value: Any) -> str | None:
    text = _optional_text(value, "ip")
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidInputError(f"ip {text!r} is not an IP address") from None


def start_stk_push(
    sessions: sessionmaker[Session],
    gateway: Gateway,
    initiated: Initiated,
    callback_url: str,
    after: AfterCommit,
) -> Payment:
    """Asks M-Pesa to prompt the phone; a gateway failure fails the payment with the reason."""
    payment = initiated.payment
    try:
        accepted = gateway.stk_push(
            phone=(payment.phone or "").lstrip("+"),
            amount=int(payment.amount),
            account_reference=ACCOUNT_REFERENCE,
            description=initiated.package.name[:13],
            callback_url=callback_url,
        )
    except GatewayError as exc:
        with transaction(sessions) as session:
            locked = lock(session, payment.id)
            record(session, payment.id, "stk_push_failed", reason=str(exc), raw=exc.raw)
            if locked.status is PaymentStatus.PENDING:
                locked.status = PaymentStatus.FAILED
                locked.failure_reason = str(exc)
                after.status_changes.append((payment.id, locked.status))
            return locked
    with transaction(sessions) as session:
        lock_checkout(session, accepted.checkout_request_id)
        locked = lock(session, payment.id)
        locked.checkout_request_id = accepted.checkout_request_id
        locked.merchant_request_id = accepted.merchant_request_id
        record(session, payment.id, "stk_push", request=accepted.request, response=accepted.raw)
        session.flush()
        after.to_query.append(payment.id)
        for orphan in orphan_callbacks(session, accepted.checkout_request_id):
            # The callback outran our own bookkeeping of the push: settle with it now.
            try:
                with session.begin_nested():
                    apply_callback(session, locked, orphan, after)
            except IntegrityError:
                after.clear()
                after.to_query.append(payment.id)
                record(session, payment.id, "callback_rejected", reason="receipt already used")
        return locked


def lock_checkout(session: Session, checkout_request_id: str) -> None:
    """Serializes the push's bookkeeping and the callbacks of one CheckoutRequestID (until
    commit): a callback that outruns the bookkeeping is filed as an orphan and committed before
    the bookkeeping looks for orphans, so it is always found by one side or the other."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(checkout_request_id))))


def lock(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        raise NotFoundError(f"no payment {payment_id}")
    return payment


# --- STK callbacks -----------------------------------------------------------------------------


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
    amount = _decimal(items.get("Amount")) if "Amount" in items else None
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


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInputError(f"amount {value!r} is not a number") from None
    if not amount.is_finite():
        raise InvalidInputError(f"amount {value!r} is not a number")
    if abs(amount) > MAX_MONEY:
        raise InvalidInputError(f"amount {value!r} is out of range")
    if amount != amount.quantize(CENT):
        raise InvalidInputError(f"amount {value!r} has more than two decimals")
    return amount


def handle_stk_callback(sessions: sessionmaker[Session], body: bytes, after: AfterCommit) -> None:
    """Settles the payment a callback names; raises InvalidInputError (→ 400) for bad ones.

    Whatever is rejected is still kept, raw, in the audit trail.
    """
    try:
        callback = parse_stk_callback(body)
    except InvalidInputError as exc:
        with transaction(sessions) as session:
            record(session, None, "callback_rejected", reason=str(exc), raw=_raw_text(body))
        raise
    try:
        rejection = None
        if not settled_new_customer(sessions, callback, after):
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


# A paid callback for a new customer, the common case, settled in one call (migration 0005):
# no account for the phone, an unpaid payment, an amount that covers the package. Anything else
# comes back with no row and nothing written, for the general path. One statement is its own
# transaction: no BEGIN and COMMIT round trips around it.
SETTLE_NEW_CUSTOMER = text(
    "SELECT payment_id, user_id, username, expires_at FROM hotspot_settle_new_customer("
    ":checkout_request_id, :receipt, :amount, CAST(:raw AS jsonb), :usernames, :password, :now)"
)


def settled_new_customer(
    sessions: sessionmaker[Session], callback: StkCallback, after: AfterCommit
) -> bool:
    if callback.result_code != "0" or callback.amount is None or callback.receipt is None:
        return False
    password = random_code(PASSWORD_LENGTH)
    with sessions() as session:
        row = (
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            .execute(
                SETTLE_NEW_CUSTOMER,
                {
                    "checkout_request_id": callback.checkout_request_id,
                    "receipt": callback.receipt,
                    "amount": callback.amount,
                    "raw": json.dumps(callback.raw),
                    "usernames": drawn_usernames(),
                    "password": password,
                    "now": dt.datetime.now(dt.UTC),
                },
            )
            .one_or_none()
        )
    if row is None:
        return False
    credentials = Credentials(
        row.username, password, row.expires_at.astimezone(dt.UTC), row.user_id
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


def settle(
    session: Session,
    payment: Payment,
    *,
    result_code: str,
    result_desc: str,
    receipt: str | None,
    amount_paid: Decimal | None,
    source: str,
    after: AfterCommit,
) -> None:
    """Applies M-Pesa's verdict to a locked payment. A success provisions once, even after the
    payment was marked failed or expired (the money was taken); nothing undoes a success."""
    now = dt.datetime.now(dt.UTC)
    if payment.status is PaymentStatus.PAID:
        record(session, payment.id, f"duplicate_{source}", result_code=result_code)
        return
    if result_code != "0":
        record(session, payment.id, f"failed_by_{source}", result_code=result_code)
        if payment.status is PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.result_code = result_code
            payment.failure_reason = result_message(result_code)
            payment.updated_at = now
            after.status_changes.append((payment.id, payment.status))
        return
    package = payment.package or session.get_one(Package, payment.package_id)
    payment.status = PaymentStatus.PAID
    payment.result_code = "0"
    payment.failure_reason = None
    payment.mpesa_receipt = receipt
    payment.amount_paid = amount_paid if amount_paid is not None else payment.amount
    payment.paid_at = now
    payment.updated_at = now
    # Raises anything but InvalidInputError: no caller may commit this payment without it.
    credentials = provision_purchase(session, payment, package, now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        source=source,
        receipt=receipt,
        username=credentials.username if credentials else None,
        expires_at=credentials.expires_at if credentials else None,
    )
    after.status_changes.append((payment.id, payment.status))
    if credentials is not None:
        after.add_provisioned(payment.id, credentials)


def _raw_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")[:20_000]


# --- reconciliation by STK query ---------------------------------------------------------------


def reconcile(
    sessions: sessionmaker[Session],
    gateway: Gateway,
    payment_id: int,
    *,
    window: dt.timedelta,
    after: AfterCommit,
) -> dt.timedelta | None:
    """Queries one pending payment: None once it is settled, else the time left in its window."""
    with sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.status is not PaymentStatus.PENDING:
            return None
        checkout_request_id = payment.checkout_request_id
        created_at = payment.created_at
    result: StkQueryResult | None = None
    error: str | None = None
    if checkout_request_id is not None:
        try:
            result = gateway.stk_query(checkout_request_id)
        except GatewayError as exc:
            error = str(exc)
    with transaction(sessions) as session:
        payment = lock(session, payment_id)
        record(
            session,
            payment_id,
            "query",
            pending=result.pending if result else None,
            result_code=result.result_code if result else None,
            error=error,
            raw=result.raw if result else None,
        )
        if payment.status is not PaymentStatus.PENDING:
            return None
        if result is not None and not result.pending and result.result_code is not None:
            settle(
                session,
                payment,
                result_code=result.result_code,
                result_desc=result.result_desc or "",
                receipt=None,
                amount_paid=None,
                source="query",
                after=after,
            )
            return None
        if dt.datetime.now(dt.UTC) - created_at >= window:
            payment.status = PaymentStatus.EXPIRED
            payment.failure_reason = "No answer from M-Pesa in time. You were not charged."
            payment.updated_at = dt.datetime.now(dt.UTC)
            record(session, payment_id, "expired")
            after.status_changes.append((payment_id, payment.status))
            return None
    return window - (dt.datetime.now(dt.UTC) - created_at)


def query_delay(first: int, attempt: int) -> dt.timedelta:
    """10 s, then 20, 40, 80 … after each unanswered query."""
    return dt.timedelta(seconds=first * 2**attempt)


def longest_query_gap(first: int, window: dt.timedelta) -> dt.timedelta:
    """The longest a pending payment waits between two queries of its chain
    (`jobs.payments.reconcile_payment`): the doubling delays, the last cut to land at the end of
    the window. 150 s for 10 s and 300 s: a payment quiet for longer has lost its chain."""
    at = longest = query_delay(first, 0)
    attempt = 0
    while at < window:
        attempt += 1
        gap = max(min(query_delay(first, attempt), window - at), dt.timedelta(seconds=1))
        longest, at = max(longest, gap), at + gap
    return longest


# --- C2B paybill -------------------------------------------------------------------------------


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    amount: Decimal
    bill_ref: str
    raw: dict[str, Any]


def parse_c2b(body: bytes) -> C2BPayment:
    try:
        data = storable.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInputError("body is not a JSON object")
    for name in ("TransID", "TransAmount", "BillRefNumber"):
        if data.get(name) in (None, ""):
            raise InvalidInputError(f"missing {name}")
    amount = _decimal(data["TransAmount"])
    if amount <= 0:
        raise InvalidInputError("TransAmount must be positive")
    return C2BPayment(str(data["TransID"]), amount, str(data["BillRefNumber"]).strip(), data)


def find_account(session: Session, reference: str, region: str) -> HotspotUser | None:
    """BillRefNumber as customers type it: their username or their phone number.

    The payer's MSISDN is hashed or masked by Safaricom, so it is never used.
    """
    user = session.scalar(
        select(HotspotUser).where(HotspotUser.username == reference.lower()).with_for_update()
    )
    if user is not None:
        return user
    try:
        phone = normalize_phone(reference, region)
    except InvalidInputError:
        return None
    return session.scalar(select(HotspotUser).where(HotspotUser.phone == phone).with_for_update())


def validate_c2b(sessions: sessionmaker[Session], body: bytes, region: str) -> tuple[str, str]:
    """Daraja's validation call: (ResultCode, ResultDesc); money for nobody is refused."""
    try:
        payment = parse_c2b(body)
    except InvalidInputError as exc:
        code = "C2B00013" if "Amount" in str(exc) else "C2B00016"
        return code, f"Rejected: {exc}"
    with sessions() as session:
        if find_account(session, payment.bill_ref, region) is None:
            return "C2B00012", "Rejected: unknown account"
    return "0", "Accepted"


def confirm_c2b(
    sessions: sessionmaker[Session], body: bytes, region: str, after: AfterCommit
) -> None:
    """Money has moved: it becomes a renewal, credit, or an unmatched payment — never lost."""
    try:
        c2b = parse_c2b(body)
    except InvalidInputError as exc:
        with transaction(sessions) as session:
            record(session, None, "c2b_rejected", reason=str(exc), raw=_raw_text(body))
        raise
    try:
        with transaction(sessions) as session:
            _confirm(session, c2b, region, after)
    except IntegrityError as exc:
        if constraint_of(exc) != "uq_payments_mpesa_receipt":
            raise
        with transaction(sessions) as session:  # a repeat of a confirmation we already hold
            existing = session.scalar(
                select(Payment.id).where(Payment.mpesa_receipt == c2b.trans_id)
            )
            record(session, existing, "duplicate_c2b", raw=c2b.raw)


def _confirm(session: Session, c2b: C2BPayment, region: str, after: AfterCommit) -> None:
    existing = session.scalar(select(Payment).where(Payment.mpesa_receipt == c2b.trans_id))
    if existing is not None:
        record(session, existing.id, "duplicate_c2b", raw=c2b.raw)
        return
    user = find_account(session, c2b.bill_ref, region)
    now = dt.datetime.now(dt.UTC)
    payment = Payment(
        method=PaymentMethod.C2B,
        amount=c2b.amount,
        amount_paid=c2b.amount,
        mpesa_receipt=c2b.trans_id,
        bill_ref_number=c2b.bill_ref,
        status=PaymentStatus.PAID if user else PaymentStatus.UNMATCHED,
        user_id=user.id if user else None,
        phone=user.phone if user else None,
        package_id=user.package_id if user else None,
        paid_at=now,
        result_code="0",
    )
    session.add(payment)
    session.flush()
    record(session, payment.id, "c2b_confirmation", raw=c2b.raw)
    if user is None:
        record(session, payment.id, "unmatched", reference=c2b.bill_ref)
        return
    credentials = provision_purchase(session, payment, user.package, now)
    record(
        session,
        payment.id,
        "provisioned" if credentials else "credited",
        username=user.username,
        credit=user.credit,
        expires_at=credentials.expires_at if credentials else None,
    )
    if credentials is not None:
        after.add_provisioned(payment.id, credentials)


# --- reading -----------------------------------------------------------------------------------


def credentials_for(
    session: Session,
    payment_id: int,
    token: str | None,
    cached: Callable[[int], Credentials | None],
) -> Credentials:
    """The portal's auto-login: only with the payment's portal token, only once it is paid, and
    an existing account's only to a device that account has used (`hands_out_credentials`)."""
    payment = session.get(Payment, payment_id)
    if payment is None or not token_matches(payment, token):
        raise PermissionError("wrong or missing portal token")
    if payment.status is not PaymentStatus.PAID:
        raise PaymentNotPaidError(f"payment {payment_id} is {payment.status.value}")
    if not hands_out_credentials(session, payment):
        raise PermissionError(
            "this renews an existing account: its new password was sent by SMS to the "
            "account's phone"
        )
    hit = cached(payment_id)
    if hit is not None:
        return hit
    row = session.scalar(
        select(HotspotCredential).where(HotspotCredential.payment_id == payment_id)
    )
    if row is None:
        raise PaymentNotPaidError(f"payment {payment_id} kept as credit: it gave no credentials")
    return Credentials(row.username, kept(row.password), row.expires_at)


class PaymentNotPaidError(Exception):
    pass


# Whoever starts an STK push names the phone; its owner approving the prompt must not hand the
# account to the browser that started it. So the portal gets the credentials of an account the
# payment created, or of one that device (the router's MAC for it) has been online with or paid
# for before; anyone else gets them by SMS on the account's phone. (A MAC can be spoofed by
# someone on the same WiFi, who could as well take over the session itself: the hotspot binds
# sessions to MAC and IP.)
KNOWN_DEVICE = text(
    "SELECT EXISTS (SELECT 1 FROM radius_sessions "
    "               WHERE user_id = :user_id AND upper(replace(mac, '-', ':')) = :mac) "
    "    OR EXISTS (SELECT 1 FROM payments "
    "               WHERE user_id = :user_id AND status = 'paid' AND id <> :payment_id "
    "                 AND upper(replace(mac, '-', ':')) = :mac)"
)


def hands_out_credentials(session: Session, payment: Payment) -> bool:
    user = session.get(HotspotUser, payment.user_id) if payment.user_id is not None else None
    if user is None or user.created_at >= payment.created_at:
        return True  # the account was made by this payment (or one begun alongside it)
    try:
        mac = normalize_mac(payment.mac or "")
    except InvalidInputError:
        return False  # no device named, or not one a router would name
    known = session.scalar(KNOWN_DEVICE, {"user_id": user.id, "mac": mac, "payment_id": payment.id})
    return bool(known)


def timeline(session: Session, payment_id: int) -> list[PaymentEvent]:
    return list(
        session.scalars(
            select(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id)
            .order_by(PaymentEvent.created_at, PaymentEvent.id)
        )
    )
