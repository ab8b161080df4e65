"""HOTSPOT_ENVIRONMENT: development generates its secrets; sandbox and production generate nothing
and refuse to start without every secret, production also without the real gateways at public https
addresses (tests/integration/test_deployment_refusals.py: the commands as processes, and a router
still holding a published demo secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotspot.core.deployment import DEPLOYMENT_SECRETS, problems, require_deployable
from hotspot.core.settings import (
    GENERATED_SECRETS,
    ConfigurationError,
    Settings,
    env_name,
    write_env_file,
)
from hotspot.web.app import create_app
from tests.support.deployment import PRODUCTION, SECRETS


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


def test_the_api_factory_refuses_before_touching_anything(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, HOTSPOT_ENVIRONMENT="sandbox")
    with pytest.raises(ConfigurationError, match="HOTSPOT_DATABASE_URL is not set"):
        create_app(settings)
