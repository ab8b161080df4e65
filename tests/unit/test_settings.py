import json
from pathlib import Path

import pytest

from hotspot.core.settings import Settings, mask_url, setting_docs
from tests.support.paths import ROOT


def settings_from(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"HOTSPOT_STATE_DIR": str(tmp_path), **env}, dotenv=None)


def test_defaults_are_a_local_development_stack(tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    assert settings.api_port == 8000
    assert (settings.radius_auth_port, settings.radius_acct_port) == (1812, 1813)
    assert settings.private_postgres
    assert settings.private_redis
    assert settings.effective_database_url.startswith("postgresql+psycopg://hotspot:")
    assert settings.effective_redis_url == "redis://127.0.0.1:6389/0"


def test_environment_overrides_defaults(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        HOTSPOT_API_PORT="9000",
        HOTSPOT_RADIUS_DETAIL_ACCOUNTING="yes",
        HOTSPOT_DATABASE_URL="postgresql+psycopg://app:pw@db.internal/hotspot",
    )
    assert settings.api_port == 9000
    assert settings.radius_detail_accounting is True
    assert not settings.private_postgres


def test_numbers_are_parsed_as_numbers(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, HOTSPOT_DISCONNECT_TIMEOUT="0.5", HOTSPOT_API_PORT="81")
    assert settings.disconnect_timeout == 0.5
    assert settings.api_port == 81


def test_a_malformed_number_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="HOTSPOT_API_PORT"):
        settings_from(tmp_path, HOTSPOT_API_PORT="eighty")


def test_generated_secrets_are_stable_across_loads(tmp_path: Path) -> None:
    first = settings_from(tmp_path)
    second = settings_from(tmp_path)
    assert first.radius_db_password
    assert first.radius_db_password == second.radius_db_password
    assert (tmp_path / "secrets.env").stat().st_mode & 0o077 == 0


def test_masked_settings_hide_every_secret(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        HOTSPOT_DATABASE_URL="postgresql+psycopg://app:hunter2@db/hotspot",
        HOTSPOT_REDIS_URL="redis://:s3cret@cache:6379/0",
    )
    shown = json.dumps(settings.masked())
    for secret in ("hunter2", "s3cret", settings.radius_db_password, settings.postgres_password):
        assert secret not in shown
    assert settings.masked()["database_url"] == "postgresql+psycopg://app:***@db/hotspot"


def test_mask_url_leaves_passwordless_urls_alone() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    missing = [name for name in setting_docs() if f"{name}=" not in example]
    assert missing == []


def test_an_unknown_time_zone_fails_at_start(tmp_path: Path) -> None:
    environ = {"HOTSPOT_STATE_DIR": str(tmp_path), "HOTSPOT_TIMEZONE": "Africa/Nairobbi"}
    with pytest.raises(ValueError, match="HOTSPOT_TIMEZONE: unknown time zone 'Africa/Nairobbi'"):
        Settings.from_env(environ, dotenv=None)
    zone = Settings.from_env({**environ, "HOTSPOT_TIMEZONE": "Africa/Kampala"}, dotenv=None)
    assert zone.timezone == "Africa/Kampala"


def test_an_alert_webhook_without_its_signing_key_fails_at_start(tmp_path: Path) -> None:
    """Signed with an empty key, anyone could forge its alerts."""
    with pytest.raises(
        ValueError, match="HOTSPOT_ALERT_WEBHOOK_URL needs HOTSPOT_ALERT_WEBHOOK_SECRET"
    ):
        settings_from(tmp_path, HOTSPOT_ALERT_WEBHOOK_URL="https://ops.example.com/hook")
    signed = settings_from(
        tmp_path,
        HOTSPOT_ALERT_WEBHOOK_URL="https://ops.example.com/hook",
        HOTSPOT_ALERT_WEBHOOK_SECRET="k",
    )
    assert signed.alert_webhook_url == "https://ops.example.com/hook"


def test_retention_names_known_tables_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="HOTSPOT_RETENTION_MONTHS: 'payments:3'"):
        settings_from(tmp_path, HOTSPOT_RETENTION_MONTHS="radacct:13,payments:3")
    with pytest.raises(ValueError, match="HOTSPOT_RETENTION_MONTHS: 'radacct:a year'"):
        settings_from(tmp_path, HOTSPOT_RETENTION_MONTHS="radacct:a year")
