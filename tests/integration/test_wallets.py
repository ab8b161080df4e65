"""Operators' wallets (issue 15, point 3): every paid payment credits its operator once, less the
platform's commission, in balanced postings nobody can change; payouts never exceed the balance.
Balances are sums of the ledger, under concurrent and repeated callbacks."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from hotspot.billing.wallets import RecordPayout, record_payout, wallet
from hotspot.core.errors import ConflictError, ForbiddenError
from hotspot.models import LedgerPosting, Package, Payment, PaymentStatus
from hotspot.operators.actor import Actor
from tests.support.factories import make_operator, make_package, make_payment
from tests.support.harness import ApiUnderTest
from tests.support.payments import random_phone, receipt, success_callback

PLATFORM = Actor("test-platform", None)


def new_operator(committed: sessionmaker[Session], rate: str) -> tuple[str, int]:
    with committed.begin() as session:
        operator = make_operator(session, commission_rate=Decimal(rate))
        package = make_package(session, operator=operator, price=Decimal("33.33"))
        return operator.code, package.id


def pending_payments(committed: sessionmaker[Session], package_id: int, count: int) -> list[str]:
    with committed.begin() as session:
        package = session.get_one(Package, package_id)
        return [
            make_payment(
                session,
                package,
                phone=random_phone(),
                checkout_request_id=f"ws_CO_{secrets.token_hex(8)}",
                package_price=package.price,
                package_duration_seconds=package.duration_seconds,
            ).checkout_request_id
            or ""
            for _ in range(count)
        ]


def unbalanced_postings(session: Session) -> list[int]:
    balance = (
        LedgerPosting.received
        + LedgerPosting.wallet
        + LedgerPosting.commission
        + LedgerPosting.payouts
        + LedgerPosting.sms_sales
    )
    return list(session.scalars(select(LedgerPosting.id).where(balance != 0)))


def test_concurrent_and_repeated_callbacks_credit_each_payment_once_less_commission(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    code, package_id = new_operator(committed, "0.05")
    checkouts = pending_payments(committed, package_id, 24)
    bodies = [success_callback(c, "33.33", receipt()) for c in checkouts]

    def post(body: dict[str, Any]) -> int:
        return requests.post(api.callback_url, json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:  # every callback twice, all at once
        assert set(pool.map(post, bodies + bodies)) == {200}

    with committed() as session:
        found = wallet(session, PLATFORM, code)
        paid = session.scalar(
            select(func.count()).where(
                Payment.checkout_request_id.in_(checkouts), Payment.status == "paid"
            )
        )
        postings = session.scalar(
            select(func.count())
            .select_from(LedgerPosting)
            .join(Payment, Payment.id == LedgerPosting.payment_id)
            .where(Payment.checkout_request_id.in_(checkouts))
        )
        assert paid == postings == 24
        assert found.received == Decimal("33.33") * 24
        assert found.commission == Decimal("1.67") * 24  # 5 % of 33.33, to the cent
        assert found.balance == Decimal("31.66") * 24
        assert found.balance + found.commission == found.received
        assert unbalanced_postings(session) == []


def test_payouts_never_exceed_the_balance_even_at_once(
    committed: sessionmaker[Session],
) -> None:
    code, package_id = new_operator(committed, "0")
    with committed.begin() as session:
        package = session.get_one(Package,
                                  package_id)  # fmt: skip
        for _ in range(3):  # 3 x 33.33 paid: 99.99 in the wallet
            make_payment(session, package, status=PaymentStatus.PAID, amount_paid=package.price)

    def pay_out(amount: str) -> str:
        try:
            with committed.begin() as session:
                record_payout(session, PLATFORM, RecordPayout(code, Decimal(amount), "B2C1"))
            return "ok"
        except ConflictError:
            return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(pay_out, ["60", "60"]))
    assert outcomes == ["ok", "refused"]
    with committed() as session:
        found = wallet(session, PLATFORM, code)
        assert found.balance == Decimal("39.99")
        assert found.paid_out == Decimal("60.00")
        with pytest.raises(ForbiddenError):
            record_payout(session, Actor("their-admin", found.operator.id),
                          RecordPayout(code, Decimal(1)))  # fmt: skip


def test_the_ledger_is_append_only_and_every_posting_balances(
    committed: sessionmaker[Session],
) -> None:
    with committed() as session:
        any_posting = session.scalar(select(LedgerPosting.id).limit(1))
    assert any_posting is not None
    for statement in (
        "UPDATE ledger SET wallet = wallet + 1, received = received - 1 WHERE id = :id",
        "DELETE FROM ledger WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), committed.begin() as session:
            session.execute(text(statement), {"id": any_posting})
    half_a_posting = text(
        "INSERT INTO ledger (operator_id, kind, wallet) SELECT min(id), 'payout', 10 FROM operators"
    )
    with pytest.raises(DBAPIError, match="ck_ledger_balanced"), committed.begin() as session:
        session.execute(half_a_posting)
    with committed() as session:
        assert unbalanced_postings(session) == []
