"""`hotspot report …`: the operator views as a table, CSV or JSON (see docs/reports.md).

Registered in hotspot/cli/main.py with `cli.add_command(report_command)`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import text
from sqlalchemy.orm import Session

from hotspot.cli.context import CLI_ACTOR
from hotspot.cli.tokens import transaction
from hotspot.core.csvfiles import write_csv
from hotspot.reports import operators, queries
from hotspot.reports.queries import Days

DEFAULT_DAYS = 30
FORMATS = ("table", "csv", "json")


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _range(start: dt.datetime | None, end: dt.datetime | None) -> Days:
    """--to defaults to today (UTC), --from to 29 days before --to: 30 days."""
    last = _date(end) or queries.today()
    first = _date(start) or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise click.BadParameter(f"--from {first} is after --to {last}", param_hint="--from")
    return Days(first, last)


def range_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--from, --to and --format, shared by every report."""
    for option in reversed(
        (
            click.option(
                "--from",
                "start",
                type=click.DateTime(formats=["%Y-%m-%d"]),
                metavar="DATE",
                default=None,
                help="First day, YYYY-MM-DD (UTC). Default: 29 days before --to.",
            ),
            click.option(
                "--to",
                "end",
                type=click.DateTime(formats=["%Y-%m-%d"]),
                metavar="DATE",
                default=None,
                help="Last day, included, YYYY-MM-DD (UTC). Default: today.",
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="table",
                show_default=True,
                help="table for reading; csv and json keep exact values.",
            ),
        )
    ):
        function = option(function)
    return function


# --- output ------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money stays exact
    if isinstance(value, dt.date):  # dates and datetimes
        return value.isoformat()
    return value


def _csv_value(value: Any) -> Any:
    """Numbers stay numbers (exact, and never taken for a formula); dates become ISO text."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _human_bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _table_value(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.endswith("_bytes") and isinstance(value, int):
        return _human_bytes(value)
    if name.endswith("_seconds") and isinstance(value, int):
        return str(dt.timedelta(seconds=value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def emit(rows: Sequence[Any], columns: Sequence[str], fmt: str, empty: str) -> None:
    """Rows (dataclasses) on stdout: a table with a header, CSV with a header, or a JSON list."""
    records = [{name: getattr(row, name) for name in columns} for row in rows]
    if fmt == "json":
        click.echo(json.dumps([{k: _json_value(v) for k, v in r.items()} for r in records]))
        return
    if fmt == "csv":
        write_csv(sys.stdout, [columns, *([_csv_value(v) for v in r.values()] for r in records)])
        return
    if not records:
        click.echo(empty)
        return
    cells = [[_table_value(k, v) for k, v in r.items()] for r in records]
    numeric = [
        all(isinstance(r[name], int | Decimal) or r[name] is None for r in records)
        or name.endswith(("_bytes", "_seconds"))
        for name in columns
    ]
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    click.echo(line(columns))
    click.echo(line(["-" * w for w in widths]))
    for row in cells:
        click.echo(line(row))


def _columns(cls: type[Any], leave_out: Sequence[str] = ()) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in leave_out]


def _read(query: Callable[[Session], Sequence[Any]]) -> Sequence[Any]:
    with transaction() as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        return query(session)


# --- the commands ------------------------------------------------------------------------------


@click.group("report")
def report_command() -> None:
    """Operator reports from the report_* views; days are UTC, --from and --to both included."""


@report_command.command("refresh")
def report_refresh() -> None:
    """Recompute the rollups of every row before this hour (the scheduler runs it hourly)."""
    started = time.monotonic()
    with transaction() as session:
        closed = queries.refresh_rollups(session)
    moments = sorted({moment for moment in closed.values() if moment is not None})
    held = f"every row before {moments[0]:%Y-%m-%d %H:%M} UTC" if moments else "no rows yet"
    click.echo(f"rollups refreshed in {time.monotonic() - started:.1f} s: they hold {held}")


@report_command.command("revenue")
@range_options
def report_revenue(start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """Money received per day, package and NAS (the NAS of the first session after paying)."""
    days = _range(start, end)
    rows = _read(lambda s: queries.revenue_daily(s, days))
    emit(rows, _columns(queries.RevenueRow), fmt, f"no payments from {days.first} to {days.last}")


@report_command.command("sessions")
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    default=None,
    help="Only sessions started on or after this day (UTC). Default: every open session.",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    default=None,
    help="Only sessions started on or before this day (UTC).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def report_sessions(start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """Sessions open now, newest first."""
    started = None
    if start is not None or end is not None:
        last = _date(end) or queries.today()
        first = _date(start) or dt.date(1970, 1, 1)
        if first > last:
            raise click.BadParameter(f"--from {first} is after --to {last}", param_hint="--from")
        started = Days(first, last)
    rows = _read(lambda s: queries.active_sessions(s, started))
    emit(rows, _columns(queries.ActiveSession), fmt, "no open sessions")


@report_command.command("usage")
@range_options
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the top N users.")
def report_usage(
    start: dt.datetime | None, end: dt.datetime | None, fmt: str, limit: int | None
) -> None:
    """Sessions and bytes per user, most bytes first (input: from the user, output: to it)."""
    days = _range(start, end)
    rows = _read(lambda s: queries.usage_per_user(s, days, limit))
    emit(rows, _columns(queries.UsageRow), fmt, f"no sessions from {days.first} to {days.last}")


@report_command.command("payments")
@range_options
def report_payments(start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """The funnel per day and method: initiated, paid, online within 24 h of paying."""
    days = _range(start, end)
    rows = _read(lambda s: queries.payment_funnel(s, days))
    emit(rows, _columns(queries.FunnelRow), fmt, f"no payments from {days.first} to {days.last}")


@report_command.command("sms")
@range_options
def report_sms(start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """SMS that failed, or whose outcome is unknown, or that wait for a retry."""
    days = _range(start, end)
    rows = _read(lambda s: queries.sms_failures(s, days))
    emit(rows, _columns(queries.SmsFailure), fmt, f"no failed SMS from {days.first} to {days.last}")


@report_command.command("disconnects")
@range_options
def report_disconnects(start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """Disconnect-Requests that were not ACKed (outcome gave_up: the user may still be online)."""
    days = _range(start, end)
    rows = _read(lambda s: queries.failed_disconnects(s, days))
    emit(
        rows,
        _columns(queries.FailedDisconnect),
        fmt,
        f"no failed Disconnect-Requests from {days.first} to {days.last}",
    )


# --- one operator's -----------------------------------------------------------------------------

operator_option = click.option(
    "--operator", "code", required=True, help="The operator's code (e.g. DEFAULT)."
)


def _operator_id(session: Session, code: str) -> int:
    return CLI_ACTOR.owner(session, code).id


@report_command.command("operator-revenue")
@operator_option
@range_options
def report_operator_revenue(
    code: str, start: dt.datetime | None, end: dt.datetime | None, fmt: str
) -> None:
    """One operator's money per day paid and purpose (access, subscription, sms_credits,
    wallet)."""
    days = _range(start, end)
    rows = _read(lambda s: operators.operator_revenue(s, _operator_id(s, code), days))
    emit(rows, _columns(operators.OperatorRevenueRow), fmt, f"no payments to {code}")


@report_command.command("subscribers-due")
@operator_option
@click.option("--within", type=click.IntRange(0, 366), default=7, show_default=True,
              help="Days ahead.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def report_subscribers_due(code: str, within: int, fmt: str) -> None:
    """One operator's PPPoE subscribers due within the days, or past due, soonest first."""
    rows = _read(lambda s: operators.subscribers_due(s, _operator_id(s, code), within))
    emit(rows, _columns(operators.SubscriberDueRow), fmt, f"nobody of {code} is due")


@report_command.command("arrears")
@operator_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def report_arrears(code: str, fmt: str) -> None:
    """One operator's subscribers past their due date, longest overdue first."""
    rows = _read(lambda s: operators.arrears(s, _operator_id(s, code)))
    emit(rows, _columns(operators.SubscriberDueRow), fmt, f"nobody of {code} is in arrears")


@report_command.command("wallet")
@operator_option
@range_options
def report_wallet(code: str, start: dt.datetime | None, end: dt.datetime | None, fmt: str) -> None:
    """One operator's wallet statement: each movement and the balance after it."""
    days = _range(start, end)
    rows = _read(lambda s: operators.wallet_statement(s, _operator_id(s, code), days))
    emit(rows, _columns(operators.WalletRow), fmt, f"no wallet movements of {code}")
