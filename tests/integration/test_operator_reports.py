"""Reports of one operator (issue 15, point 7): revenue per day and purpose, subscribers due,
arrears and the wallet statement, from the views, in `hotspot report` too; another operator's
rows never show."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.subscribers import CreatePlan, CreateSubscriber, add_plan, add_subscriber
from hotspot.cli.reports import report_command
from hotspot.models import Operator, PaymentPurpose, PaymentStatus
from hotspot.reports import operators as reports
from hotspot.reports.queries import Days
from tests.support.factories import make_operator, make_package, make_payment
from tests.support.stack import StackUnderTest

UTC = zoneinfo.ZoneInfo("UTC")


def filled(session: Session) -> Operator:
    """An operator with a paid package, a wallet payment, and three subscribers: one past due,
    one due in three days, one in a month."""
    operator = make_operator(session, commission_rate=Decimal("0.1"))
    package = make_package(session, operator=operator, price=Decimal(50))
    now = dt.datetime.now(dt.UTC)
    paid = PaymentStatus.PAID
    make_payment(session, package, status=paid, paid_at=now)
    make_payment(session, package, status=paid, paid_at=now, purpose=PaymentPurpose.WALLET.value,
                 package_id=None, amount=Decimal(500))  # fmt: skip
    home = CreatePlan(f"Home {secrets.token_hex(2)}", Decimal(1500), "5M/5M")
    plan = add_plan(session, operator, home)
    for days, name in ((-4, "late"), (3, "soon"), (30, "later")):
        tag = secrets.token_hex(3)
        due = now.date() + dt.timedelta(days=days)
        add_subscriber(
            session, plan, CreateSubscriber(plan.id, f"R{tag}", f"{name}-{tag}", due), UTC
        )
    session.flush()
    return operator


def test_one_operators_reports(committed: sessionmaker[Session], stack: StackUnderTest) -> None:
    with committed.begin() as session:
        operator = filled(session)
        other = filled(session)  # the same again, for another operator: never in the first's
        operator_id, code = operator.id, operator.code
        assert other.id != operator_id
    today = dt.datetime.now(dt.UTC).date()
    with committed() as session:
        revenue = reports.operator_revenue(session, operator_id, Days(today, today))
        assert {(r.purpose, r.payments, r.amount) for r in revenue} == {
            ("access", 1, Decimal(50)), ("wallet", 1, Decimal(500)),
        }  # fmt: skip
        due = reports.subscribers_due(session, operator_id, within=7)
        assert [r.username.split("-")[0] for r in due] == ["late", "soon"]
        late = reports.arrears(session, operator_id)
        assert [(r.days_overdue, r.to_pay) for r in late] == [(4, Decimal(1500))]
        statement = reports.wallet_statement(session, operator_id, Days(today, today))
        assert [(r.kind, r.amount, r.balance) for r in statement] == [
            ("payment", Decimal(45), Decimal(45)), ("payment", Decimal(500), Decimal(545)),
        ]  # fmt: skip
    result = CliRunner().invoke(
        report_command, ["arrears", "--operator", code, "--format", "json"], env=stack.env()
    )
    assert result.exit_code == 0, result.output
    assert '"days_overdue": 4' in result.output
