"""HOTSPOT_ENVIRONMENT: development generates its secrets; sandbox and production generate nothing
and refuse to start without every secret, production also without the real gateways at public https
addresses, or with a router still holding a published demo secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.deployment import (
    DEMO_NAS_SECRET,
    DEPLOYMENT_SECRETS,
    demo_nas_problems,
    problems,
    require_deployable,
    require_no_demo_nas,
)
from hotspot.core.settings import (
    GENERATED_SECRETS,
    ConfigurationError,
    Settings,
    env_name,
    write_env_file,
)
from hotspot.models import Nas
from hotspot.web.app import create_app
from tests.support.factories import make_nas
from tests.support.stack import StackUnderTest

# Distinctive values, so a test can tell that none of them is ever shown.
SECRETS = {env_name(name): f"secret-{name}-Zq8" for name in DEPLOYMENT_SECRETS}
SECRETS["HOTSPOT_DATABASE_URL"] = "postgresql+psycopg://app:pw-Zq8@postgres:5432/hotspot"
SECRETS["HOTSPOT_REDIS_URL"] = "redis://:pw-Zq8@redis:6379/0"
PRODUCTION = {
    **SECRETS,
    "HOTSPOT_ENVIRONMENT": "production",
    "HOTSPOT_PUBLIC_BASE_URL": "https://wifi.example.com",
    "HOTSPOT_MPESA_BASE_URL": "https://api.safaricom.co.ke",
    "HOTSPOT_MPESA_SHORTCODE": "600123",
    "HOTSPOT_SMS_BASE_URL": "https://api.africastalking.com/version1",
    "HOTSPOT_SMS_USERNAME": "wificafe",
}


def settings_from(state_dir: Path, **env: str) -> Settings:
    return Settings.from_env({"HOTSPOT_STATE_DIR": str(state_dir), **env}, dotenv=None)


def test_a_complete_production_configuration_may_start(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, **PRODUCTION)
    assert problems(settings) == []
    require_deployable(settings)


def test_a_complete_sandbox_may_use_the_stand_in_gateways(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        **SECRETS,
        HOTSPOT_ENVIRONMENT="sandbox",
        HOTSPOT_PUBLIC_BASE_URL="https://127.0.0.1:8443",
        HOTSPOT_MPESA_BASE_URL="http://sandbox-mpesa:8089",
        HOTSPOT_SMS_BASE_URL="http://sandbox-sms:8090/version1",
    )
    assert problems(settings) == []


def test_development_has_no_problems_and_generates_its_secrets(tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    assert problems(settings) == []
    assert all(getattr(settings, name) for name in GENERATED_SECRETS)
    assert (tmp_path / "secrets.env").is_file()


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_a_deployment_generates_and_writes_nothing(tmp_path: Path, environment: str) -> None:
    settings = settings_from(tmp_path, HOTSPOT_ENVIRONMENT=environment)
    assert list(tmp_path.iterdir()) == []
    assert not any(getattr(settings, name) for name in GENERATED_SECRETS)
    with pytest.raises(ConfigurationError) as refused:
        require_deployable(settings)
    assert list(tmp_path.iterdir()) == []
    assert {f"{env_name(name)} is not set" for name in DEPLOYMENT_SECRETS} <= set(
        refused.value.problems
    )


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_a_deployment_ignores_secrets_a_development_run_generated(
    tmp_path: Path, environment: str
) -> None:
    write_env_file(tmp_path / "secrets.env", {"HOTSPOT_SMS_API_KEY": "generated-in-development"})
    env = {**PRODUCTION, "HOTSPOT_ENVIRONMENT": environment}
    del env["HOTSPOT_SMS_API_KEY"]
    settings = settings_from(tmp_path, **env)
    assert settings.sms_api_key == ""
    assert problems(settings) == ["HOTSPOT_SMS_API_KEY is not set"]


def test_the_private_postgres_passwords_are_not_needed(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, **PRODUCTION)
    assert settings.postgres_password == settings.postgres_superuser_password == ""
    assert problems(settings) == []


@pytest.mark.parametrize("value", ["prod", "Production", "", "staging"])
def test_an_unknown_environment_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="HOTSPOT_ENVIRONMENT"):
        settings_from(tmp_path, HOTSPOT_ENVIRONMENT=value)
    assert problems(Settings(environment=value)) == [
        "HOTSPOT_ENVIRONMENT must be one of development, sandbox, production"
    ]


@pytest.mark.parametrize("name", DEPLOYMENT_SECRETS)
@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_each_missing_secret_is_named(tmp_path: Path, name: str, environment: str) -> None:
    env = {**PRODUCTION, "HOTSPOT_ENVIRONMENT": environment, env_name(name): ""}
    assert problems(settings_from(tmp_path, **env)) == [f"{env_name(name)} is not set"]


REFUSALS: list[tuple[str, str, str]] = [
    ("HOTSPOT_PUBLIC_BASE_URL", "http://wifi.example.com", "is not https"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://127.0.0.1:8443", "loopback"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://[::1]", "loopback"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://localhost", "not a public host"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://192.168.1.10", "private address"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://10.0.0.5", "private address"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://100.64.0.1", "private address"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://api", "without a dot"),
    ("HOTSPOT_PUBLIC_BASE_URL", "https://router.lan", "not a public host"),
    ("HOTSPOT_MPESA_BASE_URL", "http://api.safaricom.co.ke", "is not https"),
    ("HOTSPOT_MPESA_BASE_URL", "https://sandbox.safaricom.co.ke", "Safaricom's sandbox"),
    ("HOTSPOT_MPESA_BASE_URL", "http://sandbox-mpesa:8089", "is not https"),
    ("HOTSPOT_MPESA_BASE_URL", "https://sandbox-mpesa:8089", "without a dot"),
    ("HOTSPOT_MPESA_BASE_URL", "https://127.0.0.1:8089", "loopback"),
    ("HOTSPOT_MPESA_BASE_URL", "https://172.17.0.3", "private address"),
    ("HOTSPOT_MPESA_BASE_URL", "https://daraja.example.com", "not Safaricom's production"),
    ("HOTSPOT_SMS_BASE_URL", "http://api.africastalking.com/version1", "is not https"),
    ("HOTSPOT_SMS_BASE_URL", "https://api.sandbox.africastalking.com/version1", "sandbox"),
    ("HOTSPOT_SMS_BASE_URL", "http://sandbox-sms:8090/version1", "is not https"),
    ("HOTSPOT_SMS_BASE_URL", "https://sandbox-sms:8090/version1", "without a dot"),
    ("HOTSPOT_SMS_BASE_URL", "https://127.0.0.1:8090/version1", "loopback"),
    ("HOTSPOT_SMS_BASE_URL", "https://192.168.0.2/version1", "private address"),
    ("HOTSPOT_SMS_USERNAME", "sandbox", "Africa's Talking's sandbox account"),
    ("HOTSPOT_SMS_USERNAME", "", "is not set"),
    ("HOTSPOT_MPESA_SHORTCODE", "174379", "Daraja sandbox's test shortcode"),
    ("HOTSPOT_MPESA_SHORTCODE", "", "is not set"),
]


@pytest.mark.parametrize(("variable", "value", "reason"), REFUSALS)
def test_production_refuses(tmp_path: Path, variable: str, value: str, reason: str) -> None:
    settings = settings_from(tmp_path, **{**PRODUCTION, variable: value})
    found = problems(settings)
    assert len(found) == 1
    assert found[0].startswith(variable)
    assert reason in found[0]
    # The sandbox takes what production refuses (stand-ins, no TLS, AT's sandbox account).
    sandbox = {**PRODUCTION, variable: value, "HOTSPOT_ENVIRONMENT": "sandbox"}
    assert problems(settings_from(tmp_path, **sandbox)) == []


def test_production_defaults_are_all_refused(tmp_path: Path) -> None:
    found = problems(settings_from(tmp_path, **SECRETS, HOTSPOT_ENVIRONMENT="production"))
    named = {problem.split()[0] for problem in found}
    assert named == {
        "HOTSPOT_PUBLIC_BASE_URL",
        "HOTSPOT_MPESA_BASE_URL",
        "HOTSPOT_SMS_BASE_URL",
        "HOTSPOT_SMS_USERNAME",
        "HOTSPOT_MPESA_SHORTCODE",
    }


def test_the_refusal_lists_every_problem_and_no_secret(tmp_path: Path) -> None:
    env = {**PRODUCTION, "HOTSPOT_MPESA_PASSKEY": "", "HOTSPOT_SMS_USERNAME": "sandbox"}
    with pytest.raises(ConfigurationError) as refused:
        require_deployable(settings_from(tmp_path, **env))
    message = str(refused.value)
    assert message.startswith("the production configuration cannot start:")
    assert "HOTSPOT_MPESA_PASSKEY is not set" in message
    assert "HOTSPOT_SMS_USERNAME" in message
    assert "Zq8" not in message  # no secret value, nor a URL's password


def hotspot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotspot", *args],
        env={"PATH": "/usr/bin:/bin", "HOTSPOT_STATE_DIR": str(tmp_path / "state"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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


def test_the_api_factory_refuses_before_touching_anything(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, HOTSPOT_ENVIRONMENT="sandbox")
    with pytest.raises(ConfigurationError, match="HOTSPOT_DATABASE_URL is not set"):
        create_app(settings)


def test_hotspot_run_is_for_development_only(tmp_path: Path) -> None:
    result = hotspot(tmp_path, "run", **PRODUCTION)
    assert result.returncode == 1
    assert "development stack" in result.stderr


# --- the demo NAS (a real database) ------------------------------------------------------------


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
