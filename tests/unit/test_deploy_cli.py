"""`hotspot deploy init`: docker/.env and docker/hotspot.env, 0600, secrets generated, only ever
adding what is missing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hotspot.cli.deploy import deploy_group
from hotspot.core.deployment import problems
from hotspot.core.settings import Settings, read_env_file

COMPOSE_KEYS = {
    "HOTSPOT_ENVIRONMENT",
    "HOTSPOT_DOMAIN",
    "HOTSPOT_POSTGRES_SUPERUSER_PASSWORD",
    "HOTSPOT_DB_OWNER_PASSWORD",
    "HOTSPOT_DB_APP_PASSWORD",
    "HOTSPOT_RADIUS_DB_PASSWORD",
    "HOTSPOT_REDIS_PASSWORD",
    "HOTSPOT_RADIUS_STATUS_SECRET",
    "HOTSPOT_ALERT_RECEIVER_TOKEN",
    "HOTSPOT_MONITORING",
}
TRIAL_PORT_KEYS = {"HOTSPOT_PROXY_BIND", "HOTSPOT_HTTPS_PORT", "HOTSPOT_HTTP_PORT"}
COMPOSE_SECRETS = COMPOSE_KEYS - {"HOTSPOT_ENVIRONMENT", "HOTSPOT_DOMAIN", "HOTSPOT_MONITORING"}
APP_KEYS = {
    "HOTSPOT_ENVIRONMENT",
    "HOTSPOT_PUBLIC_BASE_URL",
    "HOTSPOT_MPESA_BASE_URL",
    "HOTSPOT_MPESA_CONSUMER_KEY",
    "HOTSPOT_MPESA_CONSUMER_SECRET",
    "HOTSPOT_MPESA_PASSKEY",
    "HOTSPOT_MPESA_CALLBACK_TOKEN",
    "HOTSPOT_MPESA_CALLBACK_KEY",
    "HOTSPOT_SMS_BASE_URL",
    "HOTSPOT_SMS_USERNAME",
    "HOTSPOT_SMS_API_KEY",
    "HOTSPOT_SMS_DELIVERY_REPORT_TOKEN",
    "HOTSPOT_SECRETS_KEY",
}
OPERATOR_KEYS = {
    "HOTSPOT_MPESA_SHORTCODE",
    "HOTSPOT_MPESA_CONSUMER_KEY",
    "HOTSPOT_MPESA_CONSUMER_SECRET",
    "HOTSPOT_MPESA_PASSKEY",
    "HOTSPOT_SMS_USERNAME",
    "HOTSPOT_SMS_API_KEY",
}
OURS = {"HOTSPOT_MPESA_CALLBACK_TOKEN", "HOTSPOT_MPESA_CALLBACK_KEY"} | {
    "HOTSPOT_SMS_DELIVERY_REPORT_TOKEN",
    "HOTSPOT_SECRETS_KEY",
}
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def init(directory: Path, *args: str) -> Result:
    return CliRunner().invoke(deploy_group, ["init", "--dir", str(directory), *args])


def files(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    return read_env_file(directory / ".env"), read_env_file(directory / "hotspot.env")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sandbox_writes_every_key_generated(tmp_path: Path) -> None:
    result = init(tmp_path, "--sandbox")
    assert result.exit_code == 0, result.output
    compose, app = files(tmp_path)
    assert set(compose) == COMPOSE_KEYS | TRIAL_PORT_KEYS
    assert set(app) == APP_KEYS
    assert compose["HOTSPOT_ENVIRONMENT"] == app["HOTSPOT_ENVIRONMENT"] == "sandbox"
    assert compose["HOTSPOT_PROXY_BIND"] == "127.0.0.1"
    assert compose["HOTSPOT_HTTPS_PORT"] == "8443"
    assert compose["HOTSPOT_DOMAIN"] == "127.0.0.1"
    assert app["HOTSPOT_PUBLIC_BASE_URL"] == "https://127.0.0.1:8443"
    assert app["HOTSPOT_MPESA_BASE_URL"] == "http://sandbox-mpesa:8089"
    assert app["HOTSPOT_SMS_BASE_URL"] == "http://sandbox-sms:8090/version1"
    generated = [compose[key] for key in COMPOSE_SECRETS] + [
        app[key] for key in APP_KEYS if key.endswith(("_KEY", "_SECRET", "_PASSKEY", "_TOKEN"))
    ]
    assert len(generated) == len(COMPOSE_SECRETS) + 8
    assert len(set(generated)) == len(generated)
    for value in generated:
        assert len(value) >= 40
        assert set(value) <= URL_SAFE  # they go into database and Redis URLs as they are
    assert mode(tmp_path / ".env") == mode(tmp_path / "hotspot.env") == 0o600
    for value in generated:
        assert value not in result.output


def test_the_sandbox_files_make_a_deployable_sandbox(tmp_path: Path) -> None:
    init(tmp_path, "--sandbox")
    compose, app = files(tmp_path)
    env = {
        **app,
        "HOTSPOT_STATE_DIR": str(tmp_path / "state"),
        # what compose.yaml builds from docker/.env
        "HOTSPOT_DATABASE_URL": f"postgresql+psycopg://app:{compose['HOTSPOT_DB_APP_PASSWORD']}@db/h",
        "HOTSPOT_REDIS_URL": f"redis://:{compose['HOTSPOT_REDIS_PASSWORD']}@redis:6379/0",
        "HOTSPOT_RADIUS_DB_PASSWORD": compose["HOTSPOT_RADIUS_DB_PASSWORD"],
        "HOTSPOT_RADIUS_STATUS_SECRET": compose["HOTSPOT_RADIUS_STATUS_SECRET"],
    }
    assert problems(Settings.from_env(env, dotenv=None)) == []


def test_production_writes_our_secrets_and_leaves_the_operators_empty(tmp_path: Path) -> None:
    result = init(tmp_path, "--domain", "WiFi.Example.com")
    assert result.exit_code == 0, result.output
    compose, app = files(tmp_path)
    assert set(compose) == COMPOSE_KEYS
    assert set(app) == APP_KEYS | {"HOTSPOT_MPESA_SHORTCODE"}
    assert compose["HOTSPOT_ENVIRONMENT"] == app["HOTSPOT_ENVIRONMENT"] == "production"
    assert compose["HOTSPOT_DOMAIN"] == "wifi.example.com"
    assert app["HOTSPOT_PUBLIC_BASE_URL"] == "https://wifi.example.com"
    assert app["HOTSPOT_MPESA_BASE_URL"] == "https://api.safaricom.co.ke"
    assert app["HOTSPOT_SMS_BASE_URL"] == "https://api.africastalking.com/version1"
    assert all(compose[key] for key in COMPOSE_SECRETS)
    assert all(app[key] for key in OURS)
    assert {key for key, value in app.items() if not value} == OPERATOR_KEYS
    text = (tmp_path / "hotspot.env").read_text()
    assert "# FILL IN: your Daraja app's consumer key.\nHOTSPOT_MPESA_CONSUMER_KEY=\n" in text
    assert "fill in before starting" in result.output
    assert mode(tmp_path / ".env") == mode(tmp_path / "hotspot.env") == 0o600


def test_production_refuses_without_a_domain_and_writes_nothing(tmp_path: Path) -> None:
    result = init(tmp_path)
    assert result.exit_code == 2
    assert "--domain" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "domain",
    ["https://wifi.example.com", "wifi.example.com/x", "localhost", "api", "10.0.0.1", "a b.com"],
)
def test_production_refuses_a_domain_no_one_reaches(tmp_path: Path, domain: str) -> None:
    result = init(tmp_path, "--domain", domain)
    assert result.exit_code == 2
    assert "--domain" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_changes_nothing(tmp_path: Path) -> None:
    init(tmp_path, "--domain", "wifi.example.com")
    before = ((tmp_path / ".env").read_text(), (tmp_path / "hotspot.env").read_text())
    result = init(tmp_path, "--domain", "wifi.example.com")
    assert result.exit_code == 0, result.output
    assert result.output.count("unchanged") == 2
    assert ((tmp_path / ".env").read_text(), (tmp_path / "hotspot.env").read_text()) == before
    # and once both files name the domain, it need not be given again
    assert init(tmp_path).exit_code == 0
    assert ((tmp_path / ".env").read_text(), (tmp_path / "hotspot.env").read_text()) == before


def test_a_rerun_keeps_values_and_comments_and_adds_what_is_missing(tmp_path: Path) -> None:
    init(tmp_path, "--sandbox")
    compose, app = files(tmp_path)
    edited = (
        (tmp_path / "hotspot.env")
        .read_text()
        .replace(f"HOTSPOT_SMS_API_KEY={app['HOTSPOT_SMS_API_KEY']}\n", "")
    )
    edited = edited.replace(
        "HOTSPOT_MPESA_PASSKEY=" + app["HOTSPOT_MPESA_PASSKEY"], "HOTSPOT_MPESA_PASSKEY="
    )
    edited += "# my own note\nHOTSPOT_LOG_LEVEL=DEBUG\n"
    (tmp_path / "hotspot.env").write_text(edited)
    (tmp_path / "hotspot.env").chmod(0o644)
    (tmp_path / ".env").write_text(
        (tmp_path / ".env")
        .read_text()
        .replace("HOTSPOT_REDIS_PASSWORD=", "HOTSPOT_REDIS_PASSWORD=mine-")
    )
    result = init(tmp_path, "--sandbox")
    assert result.exit_code == 0, result.output
    compose_after, app_after = files(tmp_path)
    assert compose_after == {
        **compose,
        "HOTSPOT_REDIS_PASSWORD": "mine-" + compose["HOTSPOT_REDIS_PASSWORD"],
    }
    # the removed key is back with a new value; the emptied secret is generated again
    assert app_after["HOTSPOT_SMS_API_KEY"] not in ("", app["HOTSPOT_SMS_API_KEY"])
    assert app_after["HOTSPOT_MPESA_PASSKEY"] not in ("", app["HOTSPOT_MPESA_PASSKEY"])
    unchanged = {key for key in app if key not in ("HOTSPOT_SMS_API_KEY", "HOTSPOT_MPESA_PASSKEY")}
    assert {key: app_after[key] for key in unchanged} == {key: app[key] for key in unchanged}
    assert app_after["HOTSPOT_LOG_LEVEL"] == "DEBUG"
    text = (tmp_path / "hotspot.env").read_text()
    passkey = f"HOTSPOT_MPESA_PASSKEY={app_after['HOTSPOT_MPESA_PASSKEY']}\n"
    assert text.startswith(edited.replace("HOTSPOT_MPESA_PASSKEY=\n", passkey))  # in place
    assert text.endswith(f"HOTSPOT_SMS_API_KEY={app_after['HOTSPOT_SMS_API_KEY']}\n")  # appended
    assert mode(tmp_path / "hotspot.env") == 0o600
    assert "HOTSPOT_SMS_API_KEY" in result.output
    assert app_after["HOTSPOT_SMS_API_KEY"] not in result.output


def test_an_operator_value_left_empty_stays_for_the_operator(tmp_path: Path) -> None:
    init(tmp_path, "--domain", "wifi.example.com")
    path = tmp_path / "hotspot.env"
    path.write_text(
        path.read_text().replace("HOTSPOT_MPESA_PASSKEY=\n", "HOTSPOT_MPESA_PASSKEY=pk\n")
    )
    result = init(tmp_path)
    assert result.exit_code == 0, result.output
    _, app = files(tmp_path)
    assert app["HOTSPOT_MPESA_PASSKEY"] == "pk"
    assert app["HOTSPOT_MPESA_CONSUMER_KEY"] == ""  # never generated: only the operator has it
    assert "HOTSPOT_MPESA_PASSKEY" not in result.output.split("fill in before starting")[1]


def test_the_other_kind_of_deployment_is_refused_not_mixed_in(tmp_path: Path) -> None:
    init(tmp_path, "--sandbox")
    before = files(tmp_path)
    result = init(tmp_path, "--domain", "wifi.example.com")
    assert result.exit_code == 2
    assert "sandbox deployment" in result.output
    assert files(tmp_path) == before
