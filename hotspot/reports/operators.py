"""Reports of one operator (issue 15, point 7), over the views of migration 0015: its revenue
per day and purpose, its subscribers due and in arrears, its wallet statement. Each reads one
operator's rows through an index on its operator_id, however many operators there are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal

from sqlalchemy.orm import Session

from hotspot.reports.queries import Days, rows_of


@dataclass(frozen=True)
class OperatorRevenueRow:
    day: dt.date
    purpose: str
    payments: int
    amount: Decimal


@dataclass(frozen=True)
class SubscriberDueRow:
    account_number: str
    username: str
    phone: str | None
    plan: str
    price: Decimal
    due_date: dt.date
    status: str
    credit: Decimal
    days_overdue: int
    to_pay: Decimal


@dataclass(frozen=True)
class WalletRow:
    posting_id: int
    created_at: dt.datetime
    kind: str
    amount: Decimal
    balance: Decimal
    payment_id: int | None
    reference: str | None


def operator_revenue(session: Session, operator_id: int, days: Days) -> list[OperatorRevenueRow]:
    """Money received per day paid and purpose (access, subscription, sms_credits, wallet)."""
    found: list[OperatorRevenueRow] = rows_of(
        session,
        OperatorRevenueRow,
        """
        SELECT day, purpose, payments, amount
          FROM report_operator_revenue_daily
         WHERE operator_id = :operator AND day BETWEEN :first AND :last
         ORDER BY day, purpose
        """,
        {"operator": operator_id, **days.params},
    )
    return found


SUBSCRIBER_COLUMNS = ", ".join(f.name for f in fields(SubscriberDueRow))


def subscribers_due(session: Session, operator_id: int, within: int) -> list[SubscriberDueRow]:
    """Subscribers whose due date is within `within` days, or past: soonest first."""
    found: list[SubscriberDueRow] = rows_of(
        session,
        SubscriberDueRow,
        f"""
        SELECT {SUBSCRIBER_COLUMNS} FROM report_subscribers_due
         WHERE operator_id = :operator
           AND due_date <= (now() AT TIME ZONE 'UTC')::date + :within
         ORDER BY due_date, account_number
        """,  # noqa: S608 - the dataclass's own field names
        {"operator": operator_id, "within": within},
    )
    return found


def arrears(session: Session, operator_id: int) -> list[SubscriberDueRow]:
    """Subscribers past their due date, longest overdue first."""
    found: list[SubscriberDueRow] = rows_of(
        session,
        SubscriberDueRow,
        f"""
        SELECT {SUBSCRIBER_COLUMNS} FROM report_arrears
         WHERE operator_id = :operator
         ORDER BY days_overdue DESC, account_number
        """,  # noqa: S608 - the dataclass's own field names
        {"operator": operator_id},
    )
    return found


def wallet_statement(session: Session, operator_id: int, days: Days) -> list[WalletRow]:
    """The wallet's movements over the days, each with the balance after it."""
    found: list[WalletRow] = rows_of(
        session,
        WalletRow,
        """
        SELECT posting_id, created_at, kind, amount, balance, payment_id, reference
          FROM report_wallet_statement
         WHERE operator_id = :operator
           AND created_at >= :since AND created_at < :until
         ORDER BY posting_id
        """,
        {
            "operator": operator_id,
            "since": dt.datetime.combine(days.first, dt.time(), dt.UTC),
            "until": dt.datetime.combine(days.last + dt.timedelta(days=1), dt.time(), dt.UTC),
        },
    )
    return found
