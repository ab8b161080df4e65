"""The portal's auto-login: which credentials a paid payment's browser may be shown."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hotspot.access.portal_status import normalize_mac
from hotspot.access.provisioning import (
    Credentials,
)
from hotspot.access.retention import kept
from hotspot.billing.payments import token_matches
from hotspot.core.errors import InvalidInputError
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Payment,
    PaymentStatus,
)


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
