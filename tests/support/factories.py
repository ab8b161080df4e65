"""Factories: each call makes fresh rows with unique names, so tests never collide."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from hotspot.access.provisioning import Credentials, new_user, provision_purchase
from hotspot.catalog.packages import NO_QUOTAS, Quotas, create_package
from hotspot.models import (
    Nas,
    Operator,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RadAcct,
    RadiusSession,
    SessionStatus,
)
from hotspot.operators.tenants import default_operator_id

GIB = 2**30


def expiration_value(expires_at: dt.datetime) -> str:
    """radcheck's Expiration for an end (the spec, written out for the tests): rlm_expiration's
    format in UTC, one second early."""
    return (expires_at - dt.timedelta(seconds=1)).astimezone(dt.UTC).strftime("%d %b %Y %H:%M:%S")


def unique_nas_address() -> str:
    """A router address no other test has taken: 10.x.y.z has 16 million, so two draws in one
    database do not meet (a /24 of 250 did, one run in a few hundred)."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def make_package(
    session: Session,
    *,
    price: Decimal = Decimal("20"),
    duration_seconds: int = 3600,
    data_cap_bytes: int | None = GIB,
    rate_limit: str = "2M/5M",
    devices: int = 1,
    interim_interval: int = 60,
    quotas: Quotas = NO_QUOTAS,
    operator: Operator | None = None,
) -> Package:
    owner = operator or default_operator(session)
    return create_package(
        session,
        owner,
        name=f"test {secrets.token_hex(4)}",
        currency=owner.currency or "KES",
        price=price,
        duration_seconds=duration_seconds,
        data_cap_bytes=data_cap_bytes,
        quotas=quotas,
        rate_limit=rate_limit,
        devices=devices,
        interim_interval=interim_interval,
    )


def default_operator(session: Session) -> Operator:
    """The installation's own operator, which every test's rows belong to unless it says."""
    return session.get_one(Operator, default_operator_id(session))


def make_operator(session: Session, **settings: Any) -> Operator:
    """A new operator with a code no other test has taken."""
    operator = Operator(code=f"T{secrets.token_hex(4).upper()}", name="Test ISP", **settings)
    session.add(operator)
    session.flush()
    return operator


def make_user(
    session: Session,
    *,
    package: Package | None = None,
    phone: str | None = None,
    now: dt.datetime | None = None,
    duration_seconds: int = 3600,
    devices: int = 1,
) -> Credentials:
    package = package or make_package(session, duration_seconds=duration_seconds, devices=devices)
    return new_user(session, package, phone=phone, now=now or dt.datetime.now(dt.UTC))


def make_nas(
    session: Session,
    *,
    address: str | None = None,
    secret: str | None = None,
    shortname: str = "test",
    hotspot_address: str | None = None,
    require_message_authenticator: bool = True,
    operator_id: int | None = None,
) -> Nas:
    """A router's row, flushed: an address no other test has taken and a secret of its own
    unless the test names them."""
    nas = Nas(
        operator_id=operator_id or default_operator_id(session),
        nasname=address or unique_nas_address(),
        shortname=shortname,
        secret=secret or secrets.token_urlsafe(18),
        hotspot_address=hotspot_address,
        require_message_authenticator=require_message_authenticator,
    )
    session.add(nas)
    session.flush()
    return nas


def make_payment(
    session: Session,
    package: Package,
    *,
    method: PaymentMethod = PaymentMethod.STK,
    status: PaymentStatus = PaymentStatus.PENDING,
    phone: str | None = "+254700000009",
    **columns: Any,
) -> Payment:
    """A payment for `package` at its price, flushed; any other column as the test gives it."""
    payment = Payment(
        **{
            "operator_id": package.operator_id,
            "method": method,
            "package_id": package.id,
            "phone": phone,
            "amount": package.price,
            "status": status,
            **columns,
        }
    )
    session.add(payment)
    session.flush()
    return payment


def make_purchase(
    session: Session,
    package: Package,
    *,
    phone: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Payment, Credentials]:
    """A paid STK payment provisioned the way a settled one is: the buyer's account, its
    credentials and a pending RADIUS session."""
    now = now or dt.datetime.now(dt.UTC)
    payment = make_payment(
        session,
        package,
        status=PaymentStatus.PAID,
        phone=phone,
        amount_paid=package.price,
        paid_at=now,
    )
    credentials = provision_purchase(session, payment, package, now)
    assert credentials is not None
    return payment, credentials


def synced_session(acct: RadAcct, user_id: int) -> RadiusSession:
    """Our copy of a radacct row as the accounting sync makes it, for tests that write radacct
    directly (the reports find a payment's first session among ours)."""
    return RadiusSession(
        user_id=user_id,
        status=SessionStatus.ACTIVE if acct.acctstoptime is None else SessionStatus.CLOSED,
        acct_unique_id=acct.acctuniqueid,
        acct_session_id=acct.acctsessionid,
        nas_ip=acct.nasipaddress,
        started_at=acct.acctstarttime,
        stopped_at=acct.acctstoptime,
        last_update_at=acct.acctupdatetime,
        input_octets=acct.acctinputoctets or 0,
        output_octets=acct.acctoutputoctets or 0,
    )
