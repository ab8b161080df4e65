"""The SQL fast path (hotspot/billing/settle_paid_callback.sql) writes exactly what the general
path (hotspot/billing/settlement.py) writes for the same callback: every row, column by column,
for a new customer and for renewals of accounts in every state.

Both paths get the same moment, the same drawn usernames and the same password; rows are
compared with what must differ between two customers (ids, phones, the username the draw gave,
the CheckoutRequestID, the receipt) named instead of valued.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access import provisioning
from hotspot.access.provisioning import new_user
from hotspot.billing import callbacks, settlement
from hotspot.billing.callbacks import handle_stk_callback
from hotspot.billing.payment_state import AfterCommit
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Package,
    Payment,
    PaymentEvent,
    RadCheck,
    RadiusSession,
    RadUserGroup,
    UserStatus,
)
from tests.support.factories import make_package
from tests.support.payments import mpesa_payment, random_phone, success_callback

NOW = dt.datetime(2026, 12, 5, 9, 30, 12, 654321, tzinfo=dt.UTC)
PASSWORD = "k7w3xq9tm2hv4pcd"
FAST_PATH = callbacks.settled_in_one_call
# Columns set by the database's clock or sequences, or that name this payment and not another.
VOLATILE = {
    "id",
    "created_at",
    "updated_at",
    "checkout_request_id",
    "merchant_request_id",
    "portal_token_hash",
}


class FrozenClock(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> FrozenClock:
        return cls.fromtimestamp(NOW.timestamp(), tz)


@pytest.fixture
def one_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths read the time as `dt.datetime.now(dt.UTC)` in these two modules."""
    frozen = SimpleNamespace(datetime=FrozenClock, UTC=dt.UTC, timedelta=dt.timedelta)
    for module in (callbacks, settlement):
        monkeypatch.setattr(module, "dt", frozen)


def same_draws(monkeypatch: pytest.MonkeyPatch, usernames: list[str]) -> None:
    """The usernames each path draws and the password it makes, the same for both."""
    monkeypatch.setattr(provisioning, "drawn_usernames", lambda: list(usernames))
    monkeypatch.setattr(provisioning, "random_code", lambda _length: PASSWORD)
    monkeypatch.setattr(callbacks, "drawn_usernames", lambda: list(usernames))
    monkeypatch.setattr(callbacks, "random_code", lambda _length: PASSWORD)


def pending_payment(committed: sessionmaker[Session], package_id: int, phone: str) -> str:
    checkout = f"ws_CO_{secrets.token_hex(8)}"
    with committed.begin() as session:
        payment = mpesa_payment(session, package_id, phone).payment
        payment.checkout_request_id = checkout
    return checkout


def rows(session: Session, model: type[Any], where: Any) -> list[dict[str, Any]]:
    table: Table = model.__table__
    found = session.execute(select(table).where(where).order_by(*table.primary_key)).mappings()
    return [{k: v for k, v in row.items() if k not in VOLATILE} for row in found]


def written(session: Session, checkout: str) -> dict[str, Any]:
    """Every row a settlement wrote for this payment, with its identities named."""
    payment = session.scalars(select(Payment).where(Payment.checkout_request_id == checkout)).one()
    user = session.get_one(HotspotUser, payment.user_id)
    found = {
        "payments": rows(session, Payment, Payment.id == payment.id),
        "payment_events": rows(
            session,
            PaymentEvent,
            (PaymentEvent.payment_id == payment.id) & (PaymentEvent.kind != "initiated"),
        ),
        "hotspot_users": rows(session, HotspotUser, HotspotUser.id == user.id),
        "radcheck": rows(session, RadCheck, RadCheck.username == user.username),
        "radusergroup": rows(session, RadUserGroup, RadUserGroup.username == user.username),
        "hotspot_credentials": rows(
            session, HotspotCredential, HotspotCredential.payment_id == payment.id
        ),
        "radius_sessions": rows(session, RadiusSession, RadiusSession.user_id == user.id),
    }
    ids = {"payment_id": payment.id, "user_id": user.id}
    for table_rows in found.values():
        for row in table_rows:
            row.update(
                {column: f"<{column}>" for column, value in ids.items() if row.get(column) == value}
            )
    texts = {
        user.username: "<username>",
        payment.phone: "<phone>",
        payment.mpesa_receipt: "<receipt>",
        checkout: "<checkout>",
    }
    plain: dict[str, Any] = json.loads(json.dumps(found, default=str))
    return {table: named(found_rows, texts) for table, found_rows in plain.items()}


def named(value: Any, texts: dict[Any, str]) -> Any:
    if isinstance(value, dict):
        return {k: named(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [named(v, texts) for v in value]
    return texts.get(value, value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Account:
    """An account the payer's phone already has, as the callback finds it."""

    status: UserStatus
    ends_in: dt.timedelta  # from the callback's moment; negative: lapsed
    credit: Decimal = Decimal(0)


def open_account(
    committed: sessionmaker[Session], package_id: int, phone: str, account: Account
) -> None:
    with committed.begin() as session:
        package = session.get_one(Package, package_id)
        payer = normalize_phone(phone, "KE")
        made = new_user(session, package, phone=payer, now=NOW - dt.timedelta(days=1))
        user = session.get_one(HotspotUser, made.user_id)
        user.status, user.credit = account.status, account.credit
        user.expires_at = NOW + account.ends_in
        user.data_used_bytes = 12345


def settle_by(
    committed: sessionmaker[Session],
    package_id: int,
    *,
    fast: bool,
    monkeypatch: pytest.MonkeyPatch,
    account: Account | None = None,
) -> tuple[dict[str, Any], AfterCommit]:
    usernames = [f"p{secrets.token_hex(3)}" for _ in range(3)]
    same_draws(monkeypatch, usernames)
    phone = random_phone()
    if account is not None:
        open_account(committed, package_id, phone, account)
    checkout = pending_payment(committed, package_id, phone)
    with committed() as session:
        asked = session.scalars(
            select(Payment.amount).where(Payment.checkout_request_id == checkout)
        ).one()
    receipt = f"T{secrets.token_hex(4).upper()}"
    body = json.dumps(success_callback(checkout, str(asked), receipt)).encode()
    taken: list[bool] = []

    def spied(*args: Any) -> bool:
        took = fast and FAST_PATH(*args)
        taken.append(took)
        return took

    monkeypatch.setattr(callbacks, "settled_in_one_call", spied)
    after = AfterCommit()
    handle_stk_callback(committed, body, after)
    assert taken == [fast]
    with committed() as session:
        return written(session, checkout), after


def same_either_way(
    committed: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    account: Account | None = None,
) -> dict[str, Any]:
    with committed.begin() as session:
        package = make_package(session, price=Decimal(20), duration_seconds=3600, devices=2)
    general, general_after = settle_by(
        committed, package.id, fast=False, monkeypatch=monkeypatch, account=account
    )
    fast, fast_after = settle_by(
        committed, package.id, fast=True, monkeypatch=monkeypatch, account=account
    )
    assert fast == general
    assert [status for _, status in fast_after.status_changes] == [
        status for _, status in general_after.status_changes
    ]
    assert [c.expires_at for _, c in fast_after.provisioned] == [
        c.expires_at for _, c in general_after.provisioned
    ]
    assert {row["kind"] for row in general["payment_events"]} == {"callback", "provisioned"}
    return general


@pytest.mark.usefixtures("one_moment")
def test_a_new_customers_paid_callback_writes_the_same_rows_either_way(
    committed: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = same_either_way(committed, monkeypatch)
    # What is compared is what a customer gets: an hour from the callback, to the second.
    [expires_at] = {row["expires_at"] for row in rows["hotspot_users"]}
    assert expires_at.startswith("2026-12-05 10:30:12+00")


RENEWALS = {
    "time left": Account(UserStatus.ACTIVE, dt.timedelta(minutes=30)),
    "lapsed": Account(UserStatus.EXPIRED, -dt.timedelta(hours=2)),
    "capped": Account(UserStatus.CAPPED, dt.timedelta(minutes=30)),
    "disabled": Account(UserStatus.DISABLED, dt.timedelta(minutes=30)),
    "with credit": Account(UserStatus.ACTIVE, dt.timedelta(minutes=5), credit=Decimal("7.50")),
}


@pytest.mark.usefixtures("one_moment")
@pytest.mark.parametrize("account", RENEWALS.values(), ids=RENEWALS.keys())
def test_a_renewals_paid_callback_writes_the_same_rows_either_way(
    committed: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    rows = same_either_way(committed, monkeypatch, account)
    [user] = rows["hotspot_users"]
    assert user["data_used_bytes"] == 0  # the account's, renewed: it had used 12345 bytes
    valid_from = NOW + max(account.ends_in, dt.timedelta(0))
    assert user["expires_at"] == str((valid_from + dt.timedelta(hours=1)).replace(microsecond=0))
    blocked = [r for r in rows["radcheck"] if r["attribute"] == "Auth-Type"]
    assert bool(blocked) == (account.status is UserStatus.DISABLED)


def test_the_database_runs_the_function_the_file_defines(committed: sessionmaker[Session]) -> None:
    """Migration 0009 loaded the files; the parity above holds for what PostgreSQL runs."""
    for package, name, function in (
        ("hotspot.billing", "settle_paid_callback.sql", "hotspot_settle_paid_callback"),
        ("hotspot.access", "renew_user.sql", "hotspot_renew_user"),
    ):
        body = files(package).joinpath(name).read_text().split("$$")[1]
        with committed() as session:
            installed = session.scalar(
                text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": function}
            )
        assert installed is not None
        assert " ".join(installed.split()) == " ".join(body.split())
