"""Money taken is access given, at the terms the customer was asked for, on every path that
settles a payment, whatever fails on the way (issue 11, item 3).

The failure points: an operator changes the package (price up, time down) or retires it while
the customer types the PIN; the database refuses a provisioning write. After each, a payment is
either paid with access or credit, or not paid at all (and a later query settles it)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import product
from typing import Any

import pytest
import requests
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.billing.payment_admin import ResolvePayment, resolve_payment
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import reconcile
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Package,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from hotspot.operators.actor import Actor
from hotspot.operators.followups import Followups
from tests.support.factories import make_package, make_user
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest
from tests.support.payments import c2b_body, pay, random_phone, receipt, success_callback

HOUR = 3600

PAID_WITHOUT_ACCESS_OR_CREDIT = text(
    """
    SELECT p.id FROM payments p
     WHERE p.status = 'paid' AND p.id > :before
       AND NOT EXISTS (SELECT 1 FROM hotspot_credentials c WHERE c.payment_id = p.id)
       AND NOT EXISTS (SELECT 1 FROM payment_events e
                        WHERE e.payment_id = p.id AND e.kind = 'credited')
    """
)


@pytest.fixture(autouse=True)
def nothing_is_ever_paid_without_access_or_credit(
    committed: sessionmaker[Session],
) -> Iterator[None]:
    """Of the payments this test made (other modules' tests write rows of their own making)."""
    with committed() as session:
        before = session.scalar(text("SELECT coalesce(max(id), 0) FROM payments"))
    yield
    with committed() as session:
        found = session.scalars(PAID_WITHOUT_ACCESS_OR_CREDIT, {"before": before}).all()
        assert found == []


@pytest.fixture
def package(committed: sessionmaker[Session]) -> Package:
    with committed.begin() as session:
        return make_package(session, price=Decimal("20"), duration_seconds=HOUR)


def change_package(committed: sessionmaker[Session], package: Package, **values: Any) -> None:
    """What an operator's edit leaves in the table (the admin API's own tests cover the API)."""
    with committed.begin() as session:
        session.execute(update(Package).where(Package.id == package.id).values(**values))


OPERATOR_EDITS = [
    {"price": Decimal("200")},
    {"price": Decimal("200"), "duration_seconds": 60},
    {"is_active": False},
]


def silent_push(
    api: ApiUnderTest, mpesa: MpesaSandboxUnderTest, package: Package, phone: str
) -> dict[str, Any]:
    """An STK push whose outcome only the test will tell (the sandbox stays silent; a query
    would say it succeeded)."""
    mpesa.next_outcome("no_callback", phone="+254" + phone[1:])
    created: dict[str, Any] = pay(api, phone, package.id).json()
    assert created["status"] == "pending", created
    return created


def callback(api: ApiUnderTest, created: dict[str, Any]) -> requests.Response:
    body = success_callback(created["checkout_request_id"], created["amount"], receipt())
    return requests.post(api.callback_url, json=body, timeout=10)


def query(api: ApiUnderTest, payment_id: int) -> None:
    """STK Query until M-Pesa has an answer (the sandbox holds one back for a moment)."""
    deadline = time.monotonic() + 5
    while (
        reconcile(
            api.services.sessions,
            api.services.gateway_for,
            payment_id,
            window=dt.timedelta(minutes=5),
            after=AfterCommit(),
        )
        is not None
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)


def settled(committed: sessionmaker[Session], payment_id: int) -> tuple[Payment, Any]:
    with committed() as session:
        payment = session.get_one(Payment, payment_id)
        credential = session.scalar(
            select(HotspotCredential).where(HotspotCredential.payment_id == payment_id)
        )
        return payment, credential


def assert_access_for_an_hour(
    committed: sessionmaker[Session], payment_id: int, since: dt.datetime
) -> None:
    payment, credential = settled(committed, payment_id)
    assert payment.status is PaymentStatus.PAID
    assert credential is not None
    given = (credential.expires_at - since).total_seconds()
    assert HOUR - 5 <= given <= HOUR + 5  # the hour asked for, not the operator's new minute


# --- an operator changes the package while the customer types the PIN --------------------------


@pytest.mark.parametrize(
    "case", list(product(["callback", "callback of a renewal", "query"], OPERATOR_EDITS))
)
def test_an_stk_payment_settles_at_the_terms_it_asked(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    committed: sessionmaker[Session],
    package: Package,
    case: tuple[str, dict[str, Any]],
) -> None:
    """The callback of a new customer takes the one-call SQL path; the others Python's."""
    settled_by, edit = case
    phone = random_phone()
    lapsed = None
    if settled_by == "callback of a renewal":
        with committed.begin() as session:
            lapsed = make_user(
                session,
                phone="+254" + phone[1:],
                now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
            )
    created = silent_push(api, mpesa, package, phone)
    change_package(committed, package, **edit)
    since = dt.datetime.now(dt.UTC)
    if settled_by == "query":
        query(api, created["id"])
    else:
        assert callback(api, created).status_code == 200
    assert_access_for_an_hour(committed, created["id"], since)
    if lapsed is not None:
        assert settled(committed, created["id"])[0].user_id == lapsed.user_id


def test_paybill_money_below_a_raised_price_becomes_credit(
    api: ApiUnderTest, committed: sessionmaker[Session], package: Package
) -> None:
    with committed.begin() as session:
        user = make_user(session, package=package)
    change_package(committed, package, price=Decimal("200"))
    trans_id = receipt()
    answer = requests.post(
        api.c2b_url("confirm"), json=c2b_body(user.username, "20.00", trans_id), timeout=5
    )
    assert answer.status_code == 200
    with committed() as session:
        payment = session.scalars(select(Payment).where(Payment.mpesa_receipt == trans_id)).one()
        assert payment.status is PaymentStatus.PAID
        assert session.get_one(HotspotUser, user.user_id).credit == Decimal("20")


def test_an_operator_resolving_money_below_a_raised_price_gives_credit(
    api: ApiUnderTest, committed: sessionmaker[Session], package: Package
) -> None:
    with committed.begin() as session:
        user = make_user(session, package=package)
    trans_id = receipt()
    requests.post(
        api.c2b_url("confirm"),
        json=c2b_body(f"typo-{secrets.token_hex(3)}", "20", trans_id),
        timeout=5,
    ).raise_for_status()
    change_package(committed, package, price=Decimal("200"))
    with committed.begin() as session:
        payment_id = session.scalars(
            select(Payment.id).where(Payment.mpesa_receipt == trans_id)
        ).one()
        _, _, credentials = resolve_payment(
            session,
            Actor("test", None),
            ResolvePayment(payment_id, account=user.username),
            region="KE",
            now=dt.datetime.now(dt.UTC),
            followups=Followups(),
        )
    assert credentials is None
    with committed() as session:
        assert session.get_one(HotspotUser, user.user_id).credit == Decimal("20")


# --- the database refuses a provisioning write ---------------------------------------------------


@contextmanager
def refused_credentials(committed: sessionmaker[Session], payment_id: int) -> Iterator[None]:
    """A real failure inside the settlement's transaction: PostgreSQL refuses the credentials
    row of one payment (as a full disk or a killed connection would, at the worst moment)."""
    name = f"refuse_{secrets.token_hex(4)}"
    with committed.begin() as session:
        session.execute(
            text(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
            )
        )
        session.execute(
            text(
                f"CREATE TRIGGER {name} BEFORE INSERT ON hotspot_credentials FOR EACH ROW "
                f"WHEN (NEW.payment_id = {int(payment_id)}) EXECUTE FUNCTION {name}()"
            )
        )
    try:
        yield
    finally:
        with committed.begin() as session:
            session.execute(text(f"DROP TRIGGER {name} ON hotspot_credentials"))
            session.execute(text(f"DROP FUNCTION {name}()"))


def assert_untouched(committed: sessionmaker[Session], payment_id: int, phone: str) -> None:
    payment, credential = settled(committed, payment_id)
    assert payment.status is PaymentStatus.PENDING
    assert payment.mpesa_receipt is None
    assert credential is None
    with committed() as session:
        assert (
            session.scalar(select(HotspotUser.id).where(HotspotUser.phone == "+254" + phone[1:]))
            is None
        )


@pytest.mark.parametrize("renewal", [False, True], ids=["new customer", "renewal"])
def test_a_failed_provisioning_leaves_the_payment_unpaid_until_a_query_settles_it(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    committed: sessionmaker[Session],
    package: Package,
    renewal: bool,
) -> None:
    phone = random_phone()
    if renewal:
        with committed.begin() as session:
            make_user(session, phone="+254" + phone[1:])
    created = silent_push(api, mpesa, package, phone)
    with refused_credentials(committed, created["id"]):
        answer = callback(api, created)
        assert answer.status_code >= 400
        if not renewal:
            assert_untouched(committed, created["id"], phone)
        payment, credential = settled(committed, created["id"])
        assert (payment.status, credential) == (PaymentStatus.PENDING, None)
    since = dt.datetime.now(dt.UTC)
    query(api, created["id"])
    payment, credential = settled(committed, created["id"])
    assert payment.status is PaymentStatus.PAID
    assert credential is not None
    if not renewal:
        assert_access_for_an_hour(committed, created["id"], since)


def test_a_failed_provisioning_by_query_leaves_the_payment_unpaid(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    committed: sessionmaker[Session],
    package: Package,
) -> None:
    phone = random_phone()
    created = silent_push(api, mpesa, package, phone)
    with refused_credentials(committed, created["id"]), pytest.raises(Exception, match="injected"):
        query(api, created["id"])
    assert_untouched(committed, created["id"], phone)


def test_money_that_can_become_neither_access_nor_credit_is_not_marked_paid(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    committed: sessionmaker[Session],
    package: Package,
) -> None:
    """A payment from before terms were kept (none on it), a price raised since, and no account
    to keep the money on: the settlement rolls back whole and says why."""
    phone = random_phone()
    created = silent_push(api, mpesa, package, phone)
    with committed.begin() as session:
        session.execute(
            update(Payment)
            .where(Payment.id == created["id"])
            .values(package_price=None, package_duration_seconds=None)
        )
    change_package(committed, package, price=Decimal("200"))
    answer = callback(api, created)
    assert answer.status_code == 409
    assert "no account to keep it as credit" in answer.json()["error"]
    assert_untouched(committed, created["id"], phone)
    with committed() as session:
        kinds = session.scalars(
            select(PaymentEvent.kind).where(PaymentEvent.payment_id == created["id"])
        ).all()
    assert kinds[-2:] == ["callback", "settlement_failed"]
