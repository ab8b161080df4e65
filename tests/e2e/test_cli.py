"""`hotspot users create`: credentials on success, one line and exit code 2 on bad input; it and
`hotspot users disconnect` go through the admin API's use cases, audited with the actor `cli`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import redis
from pyrad import packet
from rq.job import Job
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import AuditEntry, HotspotUser, RadCheck
from tests.support.cli import run_hotspot
from tests.support.factories import make_package, make_user
from tests.support.radius import pyrad_login
from tests.support.stack import StackUnderTest


def hotspot(stack: StackUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hotspot(stack.env(), *args)


def counts(committed: sessionmaker[Session]) -> tuple[int | None, int | None]:
    with committed() as session:
        return (
            session.scalar(select(func.count()).select_from(HotspotUser)),
            session.scalar(select(func.count()).select_from(RadCheck)),
        )


def test_create_prints_credentials_that_freeradius_accepts(stack: StackUnderTest) -> None:
    result = hotspot(stack, "users", "create", "--package", "1 Hour", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"username", "password", "expires_at"}
    reply = pyrad_login(stack, created["username"], created["password"])
    assert reply.code == packet.AccessAccept


def test_create_with_a_phone_normalises_it(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    result = hotspot(stack, "users", "create", "--package", "1 Day", "--phone", "0799000111")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("username: ")
    with committed() as session:
        phone = session.scalar(
            select(HotspotUser.phone).where(HotspotUser.phone == "+254799000111")
        )
    assert phone == "+254799000111"


def test_an_unknown_package_is_one_line_and_exit_2(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    before = counts(committed)
    result = hotspot(stack, "users", "create", "--package", "1 Year")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no package named '1 Year'" in result.stderr
    assert counts(committed) == before


def test_a_bad_phone_is_one_line_and_exit_2(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    before = counts(committed)
    result = hotspot(stack, "users", "create", "--package", "1 Hour", "--phone", "07123")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: '07123' is not a valid phone number"
    assert counts(committed) == before


def audit_of(committed: sessionmaker[Session], target: str) -> list[AuditEntry]:
    """The audit rows about `target`, newest first."""
    with committed() as session:
        stmt = select(AuditEntry).where(AuditEntry.target == target)
        return list(session.scalars(stmt.order_by(AuditEntry.id.desc())))


def test_create_is_audited_as_the_cli_and_schedules_the_expiry(
    stack: StackUnderTest, committed: sessionmaker[Session], redis_conn: redis.Redis
) -> None:
    result = hotspot(stack, "users", "create", "--package", "1 Hour", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    [entry] = audit_of(committed, f"user:{created['username']}")
    assert (entry.actor, entry.action) == ("cli", "user.create")
    assert entry.detail["package"] == "1 Hour"
    assert created["password"] not in json.dumps(entry.detail)
    second = int(dt.datetime.fromisoformat(created["expires_at"]).timestamp())
    assert Job.fetch(f"expire-at-{second}", connection=redis_conn).func_name == (
        "jobs.expiry.expire_due"
    )


def test_disconnect_goes_through_the_admin_use_case_audited_as_the_cli(
    stack: StackUnderTest, committed: sessionmaker[Session], redis_conn: redis.Redis
) -> None:
    with committed.begin() as session:
        user = make_user(session, package=make_package(session))
    result = hotspot(stack, "users", "disconnect", user.username.upper())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"0 open session(s) of {user.username}: disconnecting")
    [entry] = audit_of(committed, f"user:{user.username}")
    assert (entry.actor, entry.action, entry.detail) == (
        "cli",
        "user.disconnect",
        {"open_sessions": 0},
    )
    queued = Job.fetch(f"admin-disconnect-{entry.id}", connection=redis_conn)
    assert queued.func_name == "jobs.expiry.disconnect_user"
    assert list(queued.args) == [user.username, "admin"]


def test_disconnecting_an_unknown_user_is_one_line_and_exit_2(stack: StackUnderTest) -> None:
    result = hotspot(stack, "users", "disconnect", "nobody-here")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no user 'nobody-here'"


def test_render_writes_a_raddb_that_freeradius_accepts(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    result = hotspot(stack, "freeradius", "render", "--out", str(tmp_path / "raddb"))
    assert result.returncode == 0, result.stderr
    assert "detail" not in accounting_modules(tmp_path / "raddb")
    assert not (tmp_path / "raddb" / "sites-enabled" / "default").exists()


def test_detail_files_only_when_configured(stack: StackUnderTest, tmp_path: Path) -> None:
    env = {**stack.env(), "HOTSPOT_RADIUS_DETAIL_ACCOUNTING": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "hotspot", "freeradius", "render", "--out", str(tmp_path / "r")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "detail" in accounting_modules(tmp_path / "r")


def accounting_modules(raddb: Path) -> list[str]:
    """The modules our virtual server's `accounting` section calls, comments left out."""
    site = (raddb / "sites-enabled" / "hotspot").read_text()
    section = site.split("\naccounting {")[1].split("\n}")[0]
    lines = (line.split("#")[0].strip() for line in section.splitlines())
    return [line for line in lines if line]
