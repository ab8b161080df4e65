"""`hotspot config` as an operator runs it: the settings in force as JSON, secrets masked."""

import json
import subprocess
import sys
from pathlib import Path

from hotspot.core.settings import read_env_file


def test_hotspot_config_prints_json_with_secrets_masked(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hotspot", "config"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOTSPOT_STATE_DIR": str(tmp_path),
            "HOTSPOT_DATABASE_URL": "postgresql+psycopg://app:hunter2@db/hotspot",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql+psycopg://app:***@db/hotspot"
    assert shown["redis_url"] == "redis://127.0.0.1:6389/0"
    assert shown["radius_db_password"] == "***"
    token = read_env_file(tmp_path / "secrets.env")["HOTSPOT_SMS_DELIVERY_REPORT_TOKEN"]
    assert token
    assert shown["sms_delivery_report_token"] == "***"
    assert token not in result.stdout
    assert "hunter2" not in result.stdout
