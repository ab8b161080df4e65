"""The alert rules we ship (docker/prometheus/alerts.yml): valid, each tested with promtool's own
rule tests, and about metrics the API really exports."""

from __future__ import annotations

import re
import shutil
import subprocess

import requests

from tests.support.harness import ApiUnderTest
from tests.support.paths import ROOT

RULES = ROOT / "docker" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool is not None, "promtool is missing: `make test` installs Debian's prometheus"
    return subprocess.run(
        [tool, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_rules_are_valid_and_pass_their_promtool_tests() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_test() -> None:
    alerts = set(re.findall(r"^\s+- alert: (\w+)", (RULES / "alerts.yml").read_text(), re.M))
    tested = set(re.findall(r"alertname: (\w+)", (RULES / "alerts.test.yml").read_text()))
    assert alerts
    assert alerts == tested


def test_every_metric_the_rules_read_is_one_the_api_exports(api: ApiUnderTest) -> None:
    used = set(re.findall(r"\bhotspot_[a-z_]+", (RULES / "alerts.yml").read_text()))
    text = requests.get(f"{api.url}/metrics", timeout=30).text
    exported = set(re.findall(r"^# TYPE (\w+) ", text, re.M))
    assert used
    assert used <= exported, used - exported
