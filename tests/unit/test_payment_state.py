"""A payment's state changes in one place (hotspot/billing/payment_state.py), by its rules."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from hotspot.billing.payment_state import (
    KINDS_OF_FAILURE,
    NEXT_STATES,
    AfterCommit,
    ForbiddenTransitionError,
    expire,
    fail,
    failure_kind,
    pay,
)
from hotspot.models import Payment, PaymentMethod, PaymentStatus
from tests.support.paths import ROOT

HOTSPOT = ROOT / "hotspot"
OWNER = HOTSPOT / "billing" / "payment_state.py"
INITIAL_STATES = {"PENDING", "UNMATCHED"}  # what a payment is created as: STK, C2B money
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def payment_states(node: ast.AST) -> set[str]:
    """The `PaymentStatus.X` members an expression names."""
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "PaymentStatus"
    }


def status_writes(path: Path, root: Path = HOTSPOT) -> list[str]:
    """Where a file sets a payment's status: an assignment to `.status` of a PaymentStatus, or a
    `status=PaymentStatus.X` keyword (a constructor, an UPDATE) for anything but a new payment's
    first state."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets) and (
                node.value is not None and payment_states(node.value)
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
        elif (
            isinstance(node, ast.keyword)
            and node.arg == "status"
            and payment_states(node.value) - INITIAL_STATES
        ):
            found.append(f"{path.relative_to(root)}:{node.value.lineno}")
    return found


def test_no_code_but_payment_state_changes_a_payments_status() -> None:
    assert OWNER.is_file()
    writes = [w for p in sorted(HOTSPOT.rglob("*.py")) if p != OWNER for w in status_writes(p)]
    assert writes == []


def test_the_guard_sees_both_ways_of_writing_a_status(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "payment.status = PaymentStatus.PAID\n"
        "Payment(status=PaymentStatus.PAID if ok else PaymentStatus.UNMATCHED)\n"
        "Payment(status=PaymentStatus.PENDING)\n"
    )
    assert status_writes(sneaky, tmp_path) == ["sneaky.py:1", "sneaky.py:2"]


def a_payment(status: PaymentStatus, **columns: object) -> Payment:
    return Payment(id=7, method=PaymentMethod.STK, amount=Decimal(50), status=status, **columns)


@pytest.mark.parametrize(
    "start", [PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED]
)
def test_money_m_pesa_took_is_paid_even_after_we_stopped_waiting(start: PaymentStatus) -> None:
    payment, after = a_payment(start, failure_reason="cancelled"), AfterCommit()
    pay(payment, receipt="RC1", amount_paid=Decimal(50), now=NOW, after=after)
    assert (payment.status, payment.result_code, payment.failure_reason) == (
        PaymentStatus.PAID,
        "0",
        None,
    )
    assert (payment.mpesa_receipt, payment.amount_paid, payment.paid_at) == (
        "RC1",
        Decimal(50),
        NOW,
    )
    assert after.status_changes == [(7, PaymentStatus.PAID)]


def test_a_query_reports_no_amount_so_the_amount_asked_for_was_paid() -> None:
    payment = a_payment(PaymentStatus.PENDING)
    pay(payment, now=NOW, after=AfterCommit())
    assert (payment.amount_paid, payment.mpesa_receipt) == (Decimal(50), None)


def test_unmatched_c2b_money_keeps_its_receipt_amount_and_arrival_when_paid() -> None:
    arrived = NOW - dt.timedelta(days=2)
    payment = a_payment(
        PaymentStatus.UNMATCHED, mpesa_receipt="C2B1", amount_paid=Decimal(70), paid_at=arrived
    )
    pay(payment, now=NOW, after=AfterCommit())
    assert (payment.status, payment.mpesa_receipt, payment.amount_paid) == (
        PaymentStatus.PAID,
        "C2B1",
        Decimal(70),
    )
    assert (payment.paid_at, payment.updated_at) == (arrived, NOW)


def test_only_a_pending_payment_fails_or_expires() -> None:
    payment, after = a_payment(PaymentStatus.PENDING), AfterCommit()
    fail(payment, reason="Request cancelled by user", result_code="1032", now=NOW, after=after)
    assert (payment.status, payment.result_code) == (PaymentStatus.FAILED, "1032")
    with pytest.raises(ForbiddenTransitionError, match="from failed to expired"):
        expire(payment, reason="late", now=NOW, after=after)
    assert after.status_changes == [(7, PaymentStatus.FAILED)]


@pytest.mark.parametrize("change", [pay, fail, expire])
def test_nothing_undoes_a_success(change: object) -> None:
    payment = a_payment(PaymentStatus.PAID)
    with pytest.raises(ForbiddenTransitionError):
        change(payment, now=NOW, after=AfterCommit(), **({} if change is pay else {"reason": "x"}))  # type: ignore[operator]
    assert payment.status is PaymentStatus.PAID


def test_every_state_has_its_rules() -> None:
    assert set(NEXT_STATES) == set(PaymentStatus)
    assert NEXT_STATES[PaymentStatus.PAID] == frozenset()


@pytest.mark.parametrize(
    ("status", "result_code", "kind"),
    [
        (PaymentStatus.FAILED, "1032", "cancelled"),
        (PaymentStatus.FAILED, "1", "insufficient_funds"),
        (PaymentStatus.FAILED, "1019", "expired"),
        (PaymentStatus.FAILED, "9999", "other"),
        (PaymentStatus.FAILED, None, "not_sent"),
        (PaymentStatus.EXPIRED, None, "expired"),
        (PaymentStatus.PAID, "0", None),
        (PaymentStatus.PENDING, None, None),
    ],
)
def test_the_kind_of_a_failure_comes_from_m_pesas_code_not_its_words(
    status: PaymentStatus, result_code: str | None, kind: str | None
) -> None:
    payment = a_payment(status, result_code=result_code, failure_reason="words change")
    assert failure_kind(payment) == kind
    assert kind is None or kind in KINDS_OF_FAILURE
