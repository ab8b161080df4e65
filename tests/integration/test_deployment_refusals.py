"""An incomplete or unsafe deployment refused: by the `hotspot` commands, run as processes, and
by the API and the worker before a database with a router still holding a published demo secret
(tests/unit/test_deployment.py: the settings' own checks)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.deployment import DEMO_NAS_SECRET, demo_nas_problems, require_no_demo_nas
from hotspot.core.settings import ConfigurationError, Settings
from hotspot.models import Nas
from hotspot.web.app import create_app
from tests.support.cli import run_hotspot
from tests.support.deployment import PRODUCTION
from tests.support.factories import make_nas
from tests.support.stack import StackUnderTest


def hotspot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_hotspot(
        {"PATH": "/usr/bin:/bin", "HOTSPOT_STATE_DIR": str(tmp_path / "state"), **env}, *args
    )


@pytest.mark.parametrize(
    ("command", "gateways_checked"),
    [
        (["db", "upgrade"], True),
        # FreeRADIUS talks to neither gateway: only its own secrets are asked of it.
        (["freeradius", "render", "--out", "raddb", "--no-check"], False),
    ],
)
def test_migrations_and_freeradius_render_refuse_an_incomplete_deployment(
    tmp_path: Path, command: list[str], gateways_checked: bool
) -> None:
    env = {**PRODUCTION, "HOTSPOT_RADIUS_DB_PASSWORD": "", "HOTSPOT_SMS_USERNAME": "sandbox"}
    result = hotspot(tmp_path, *command, **env)
    assert result.returncode == 2, result.stderr
    assert "HOTSPOT_RADIUS_DB_PASSWORD is not set" in result.stderr
    gateway_problem = "HOTSPOT_SMS_USERNAME is Africa's Talking's sandbox account"
    assert (gateway_problem in result.stderr) is gateways_checked
    assert "Zq8" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_the_worker_and_scheduler_refuse_in_one_json_line(tmp_path: Path, command: str) -> None:
    result = hotspot(tmp_path, command, HOTSPOT_ENVIRONMENT="sandbox")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "critical"
    assert "HOTSPOT_REDIS_URL is not set" in entry["problems"]
    assert not (tmp_path / "state").exists()


def test_a_malformed_environment_is_one_json_line_from_the_worker(tmp_path: Path) -> None:
    result = hotspot(tmp_path, "worker", HOTSPOT_ENVIRONMENT="prod")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "HOTSPOT_ENVIRONMENT" in json.loads(line)["message"]


def test_hotspot_run_is_for_development_only(tmp_path: Path) -> None:
    result = hotspot(tmp_path, "run", **PRODUCTION)
    assert result.returncode == 1
    assert "development stack" in result.stderr


def production_settings(stack: StackUnderTest, **changes: Any) -> Settings:
    return stack.settings.with_changes(
        environment="production",
        database_url=stack.settings.effective_database_url,
        redis_url=stack.settings.effective_redis_url,
        public_base_url="https://wifi.example.com",
        mpesa_base_url="https://api.safaricom.co.ke",
        mpesa_shortcode="600123",
        sms_base_url="https://api.africastalking.com/version1",
        sms_username="wificafe",
        **changes,
    )


@pytest.mark.parametrize("secret", [DEMO_NAS_SECRET, "testing123"])
def test_a_router_with_a_demo_secret_is_named_never_its_secret(
    stack: StackUnderTest, session: Session, secret: str
) -> None:
    address = make_nas(session, shortname="cafe", secret=secret).nasname
    problems = demo_nas_problems(session)
    mine = [problem for problem in problems if address in problem]
    assert len(mine) == 1
    assert secret not in mine[0]
    sessions = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    with pytest.raises(ConfigurationError) as refused:
        require_no_demo_nas(production_settings(stack), sessions)
    assert address in str(refused.value)
    assert secret not in str(refused.value)
    for environment in ("development", "sandbox"):
        require_no_demo_nas(stack.settings.with_changes(environment=environment), sessions)


def test_routers_with_secrets_of_their_own_pass(stack: StackUnderTest, session: Session) -> None:
    make_nas(session, shortname="own", secret="x" * 24)
    assert demo_nas_problems(session) == []
    sessions = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    require_no_demo_nas(production_settings(stack), sessions)


def test_the_api_and_the_worker_refuse_a_production_database_with_a_demo_nas(
    stack: StackUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = production_settings(stack)
    with committed.begin() as session:
        address = make_nas(session, shortname="demo-left", secret=DEMO_NAS_SECRET).nasname
    try:
        with pytest.raises(ConfigurationError, match=f"the NAS {address} has a published demo"):
            create_app(settings)
        servers = {
            "HOTSPOT_DATABASE_URL": settings.database_url,
            "HOTSPOT_REDIS_URL": settings.redis_url,
        }
        result = hotspot(tmp_path, "worker", **{**PRODUCTION, **servers})
    finally:
        with committed.begin() as session:
            session.execute(delete(Nas).where(Nas.nasname == address))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert any(address in problem for problem in json.loads(line)["problems"])
    assert DEMO_NAS_SECRET not in result.stderr
