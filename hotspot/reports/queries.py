"""Operator reports: plain functions over the `report_*` views (migration 0002, docs/reports.md).

Every day is a calendar day in UTC, and a `Days` range includes both its first and last day.
The views do the work; these functions only choose the rows and give them names and types, for
`hotspot report …` and the dashboard. `refresh_rollups` recomputes the rollups of past hours
that keep revenue, the funnel and usage fast; run it hourly or nightly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hotspot.core.errors import InvalidInputError

MAX_DAYS = 366
ROLLUPS = ("report_revenue_closed", "report_funnel_closed", "report_usage_closed")


@dataclass(frozen=True)
class Days:
    """From `first` to `last`, both included (UTC days)."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise InvalidInputError(f"the range starts ({self.first}) after it ends ({self.last})")

    @classmethod
    def ending(cls, last: dt.date, count: int) -> Days:
        if count < 1:
            raise InvalidInputError("a range has at least one day")
        return cls(last - dt.timedelta(days=count - 1), last)

    @property
    def count(self) -> int:
        return (self.last - self.first).days + 1

    def each(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(self.count)]

    @property
    def params(self) -> dict[str, dt.date]:
        return {"first": self.first, "last": self.last}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueRow:
    day: dt.date
    package_id: int | None
    package: str | None
    nas_ip: str | None  # None: nobody got online within 24 h of paying (see docs/reports.md)
    nas: str | None
    payments: int
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class ActiveSession:
    username: str | None
    user_id: int | None
    phone: str | None
    package: str | None
    nas_ip: str
    nas: str | None
    ip: str | None
    mac: str | None
    started_at: dt.datetime | None
    last_update_at: dt.datetime | None
    duration_seconds: int | None
    input_bytes: int
    output_bytes: int
    total_bytes: int
    acct_unique_id: str


@dataclass(frozen=True)
class FunnelRow:
    day: dt.date
    method: str
    initiated: int
    paid: int
    online: int
    failed: int
    expired: int
    pending: int
    unmatched: int
    paid_rate: Decimal
    online_rate: Decimal | None
    amount_paid: Decimal


@dataclass(frozen=True)
class UsageRow:
    username: str
    user_id: int | None
    phone: str | None
    package: str | None
    days_online: int
    sessions: int
    session_seconds: int
    input_bytes: int
    output_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class SmsFailure:
    id: int
    day: dt.date
    created_at: dt.datetime
    state: str  # failed, outcome_unknown, retrying
    purpose: str
    phone: str
    username: str | None
    provider_status_code: int | None
    error: str | None


@dataclass(frozen=True)
class FailedDisconnect:
    id: int
    day: dt.date
    created_at: dt.datetime
    outcome: str  # gave_up, retried, session_gone
    reason: str
    result: str
    attempt: int
    error_cause: int | None
    error_cause_name: str | None
    username: str | None
    nas_ip: str | None
    nas: str | None
    detail: str | None


def rows_of(session: Session, cls: type[Any], query: str, params: dict[str, Any]) -> list[Any]:
    names = [f.name for f in fields(cls)]
    result = session.execute(text(query), params).mappings()
    return [cls(**{name: _plain(row[name]) for name in names}) for row in result]


def _plain(value: Any) -> Any:
    """inet values come back as ipaddress objects; reports show them as text."""
    if value is None or isinstance(value, str | int | Decimal | dt.date | float):
        return value
    return str(value)


# --- the reports ---------------------------------------------------------------------------------


def revenue_daily(session: Session, days: Days) -> list[RevenueRow]:
    """Money received per day paid, package and NAS."""
    rows: list[RevenueRow] = rows_of(
        session,
        RevenueRow,
        """
        SELECT day, package_id, package, nas_ip, nas, payments, amount, currency
          FROM report_revenue_daily
         WHERE day BETWEEN :first AND :last
         ORDER BY day, package, nas NULLS LAST
        """,
        days.params,
    )
    return rows


def active_sessions(session: Session, started: Days | None = None) -> list[ActiveSession]:
    """Open sessions, newest first; `started` keeps those that began on those days."""
    where = "WHERE started_at >= :since AND started_at < :until" if started else ""
    params = (
        {
            "since": dt.datetime.combine(started.first, dt.time(), dt.UTC),
            "until": dt.datetime.combine(started.last + dt.timedelta(days=1), dt.time(), dt.UTC),
        }
        if started
        else {}
    )
    rows: list[ActiveSession] = rows_of(
        session,
        ActiveSession,
        f"""
        SELECT username, user_id, phone, package, nas_ip, nas, ip, mac, started_at,
               last_update_at, duration_seconds, input_bytes, output_bytes, total_bytes,
               acctuniqueid AS acct_unique_id
          FROM report_active_sessions
          {where}
         ORDER BY started_at DESC NULLS LAST, radacctid DESC
        """,  # noqa: S608 - `where` is one of two constants
        params,
    )
    return rows


def payment_funnel(session: Session, days: Days) -> list[FunnelRow]:
    """Per day initiated and method: initiated → paid → online within 24 h."""
    rows: list[FunnelRow] = rows_of(
        session,
        FunnelRow,
        """
        SELECT day, method::text AS method, initiated, paid, online, failed, expired, pending,
               unmatched, paid_rate, online_rate, amount_paid
          FROM report_payment_funnel
         WHERE day BETWEEN :first AND :last
         ORDER BY day, method
        """,
        days.params,
    )
    return rows


def usage_per_user(session: Session, days: Days, limit: int | None = None) -> list[UsageRow]:
    """Each user's sessions and bytes over the days (sessions count on the day they started),
    most bytes first."""
    rows: list[UsageRow] = rows_of(
        session,
        UsageRow,
        """
        SELECT username, user_id, phone, package, days_online, sessions, session_seconds,
               input_bytes, output_bytes, total_bytes
          FROM report_usage_totals(:first, :last)
         ORDER BY total_bytes DESC, username
         LIMIT :limit
        """,
        {**days.params, "limit": limit},
    )
    return rows


def sms_failures(session: Session, days: Days) -> list[SmsFailure]:
    """SMS that failed or whose fate is unknown, newest first."""
    rows: list[SmsFailure] = rows_of(
        session,
        SmsFailure,
        """
        SELECT id, day, created_at, state, purpose, phone, username, provider_status_code, error
          FROM report_sms_failures
         WHERE day BETWEEN :first AND :last
         ORDER BY created_at DESC, id DESC
        """,
        days.params,
    )
    return rows


def failed_disconnects(session: Session, days: Days) -> list[FailedDisconnect]:
    """Disconnect-Requests the NAS did not ACK, newest first."""
    rows: list[FailedDisconnect] = rows_of(
        session,
        FailedDisconnect,
        """
        SELECT id, day, created_at, outcome, reason, result, attempt, error_cause,
               error_cause_name, username, nas_ip, nas, detail
          FROM report_failed_disconnects
         WHERE day BETWEEN :first AND :last
         ORDER BY created_at DESC, id DESC
        """,
        days.params,
    )
    return rows


# --- the rollups ----------------------------------------------------------------------------------


def rollups_closed_at(session: Session) -> dict[str, dt.datetime | None]:
    """Per rollup, the instant it holds every row before (None: it holds none, all are live)."""
    return {
        name: session.scalar(text(f"SELECT closed_at FROM {name} LIMIT 1"))  # noqa: S608
        for name in ROLLUPS
    }


def refresh_rollups(session: Session) -> dict[str, dt.datetime | None]:
    """Recomputes the rollups from the current rows (CONCURRENTLY: readers are not blocked).

    Every row from before the start of this hour (UTC) is then read from them; the rows since
    are computed live (migration 0021). On a year of data (100 M radacct rows, 10 M payments)
    this takes about four minutes.
    """
    for name in ROLLUPS:
        # REFRESH and ANALYZE need the views' owner; the function (migration 0007) runs as it,
        # so the application role of a production deployment, which owns nothing, may call it.
        session.execute(text("SELECT hotspot_refresh_rollup(:name)"), {"name": name})
    return rollups_closed_at(session)


# --- the dashboard -------------------------------------------------------------------------------


def dashboard(session: Session, days: Days, operator_id: int | None = None) -> dict[str, Any]:
    """What /admin/dashboard draws: revenue per day (per package), open sessions per NAS, and
    per day the share of STK pushes paid and of paid payments online within 24 h; of one
    operator (its packages, its routers, its payments), or of all (None)."""
    calendar = days.each()
    revenue, currencies = _revenue_per_package(session, days, calendar, operator_id)
    packages = sorted(revenue, key=lambda name: -sum(revenue[name]))
    by_nas = _open_sessions_per_nas(session, operator_id)
    stk = (
        _stk_funnel(session, days, calendar)
        if operator_id is None
        else _operator_stk_funnel(session, days, calendar, operator_id)
    )
    closed = rollups_closed_at(session)
    oldest = min((moment for moment in closed.values() if moment is not None), default=None)
    return {
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "days": [day.isoformat() for day in calendar],
        "currency": ", ".join(sorted(currencies)) or None,
        "revenue": {
            "packages": [
                {"package": name, "amounts": [str(a) for a in revenue[name]]} for name in packages
            ],
            "total": str(sum((sum(v) for v in revenue.values()), Decimal(0))),
        },
        "active_sessions": {"total": sum(n["sessions"] for n in by_nas), "by_nas": by_nas},
        "stk": stk,
        # Rows from here on are computed live: a time long ago means the rollups need a refresh.
        "rollups_closed_before": oldest.isoformat() if oldest else None,
    }


def _revenue_per_package(
    session: Session, days: Days, calendar: list[dt.date], operator_id: int | None
) -> tuple[dict[str, list[Decimal]], set[str]]:
    """Each package's revenue per day of `calendar`, and the currencies it came in."""
    index = {day: n for n, day in enumerate(calendar)}
    revenue: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(calendar))
    currencies: set[str] = set()
    for row in session.execute(
        text(
            """
            SELECT day, COALESCE(package, 'no package') AS package, sum(amount) AS amount,
                   min(currency) AS currency
              FROM report_revenue_daily
             WHERE day BETWEEN :first AND :last
               AND (CAST(:operator AS int) IS NULL
                    OR package_id IN (SELECT id FROM packages WHERE operator_id = :operator))
             GROUP BY day, 2
            """
        ),
        {**days.params, "operator": operator_id},
    ):
        revenue[row.package][index[row.day]] += row.amount
        if row.currency:
            currencies.add(row.currency)
    return revenue, currencies


def _open_sessions_per_nas(session: Session, operator_id: int | None) -> list[dict[str, Any]]:
    """Open sessions per NAS (of the operator's routers), most first."""
    return [
        {"nas": row.nas or row.nas_ip, "sessions": int(row.sessions)}
        for row in session.execute(
            text(
                """
                SELECT nas, host(nas_ip) AS nas_ip, count(*) AS sessions
                  FROM report_active_sessions
                 WHERE CAST(:operator AS int) IS NULL
                    OR host(nas_ip) IN (SELECT nasname FROM nas WHERE operator_id = :operator)
                 GROUP BY nas, nas_ip
                 ORDER BY sessions DESC, nas_ip
                """
            ),
            {"operator": operator_id},
        )
    ]


def _stk_funnel(session: Session, days: Days, calendar: list[dt.date]) -> dict[str, Any]:
    """Per day of `calendar` and overall: STK pushes initiated, paid, and online within 24 h."""
    counts = {
        row.day: (int(row.initiated), int(row.paid), int(row.online))
        for row in session.execute(
            text(
                """
                SELECT day, initiated, paid, online
                  FROM report_payment_funnel
                 WHERE day BETWEEN :first AND :last AND method = 'stk'
                """
            ),
            days.params,
        )
    }
    return _funnel_of([counts.get(day, (0, 0, 0)) for day in calendar])


def _funnel_of(per_day: list[tuple[int, int, int]]) -> dict[str, Any]:
    initiated = [i for i, _, _ in per_day]
    paid = [p for _, p, _ in per_day]
    online = [o for _, _, o in per_day]
    return {
        "initiated": initiated,
        "paid": paid,
        "online": online,
        "success_rate": [_rate(p, i) for p, i in zip(paid, initiated, strict=True)],
        "online_rate": [_rate(o, p) for o, p in zip(online, paid, strict=True)],
        "overall_success_rate": _rate(sum(paid), sum(initiated)),
        "overall_online_rate": _rate(sum(online), sum(paid)),
    }


def _operator_stk_funnel(
    session: Session, days: Days, calendar: list[dt.date], operator_id: int
) -> dict[str, Any]:
    """The funnel of one operator's payments: report_payments (the same "online") read live,
    as the rollups hold every operator's together."""
    counts = {
        row.day: (int(row.initiated), int(row.paid), int(row.online))
        for row in session.execute(
            text(
                """
                SELECT rp.created_day AS day, count(*) AS initiated,
                       count(*) FILTER (WHERE rp.status = 'paid') AS paid,
                       count(*) FILTER (WHERE rp.first_session_at IS NOT NULL) AS online
                  FROM report_payments rp
                 WHERE rp.payment_id IN (
                         SELECT id FROM payments
                          WHERE operator_id = :operator AND method = 'stk'
                            AND created_at >= :since AND created_at < :until)
                 GROUP BY rp.created_day
                """
            ),
            {
                "operator": operator_id,
                "since": dt.datetime.combine(days.first, dt.time(), dt.UTC),
                "until": dt.datetime.combine(days.last + dt.timedelta(days=1), dt.time(), dt.UTC),
            },
        )
    }
    return _funnel_of([counts.get(day, (0, 0, 0)) for day in calendar])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
