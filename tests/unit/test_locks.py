"""The images install requirements.lock; the tests run in a venv from requirements-dev.lock. The
second is resolved under the first (`make lock`), so what the tests ran is what the images hold."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {package.lower(): version for package, version in PIN.findall(text)}


def test_the_tests_run_every_version_the_images_install() -> None:
    application, development = pins("requirements.lock"), pins("requirements-dev.lock")
    assert application
    differ = {
        package: (version, development.get(package))
        for package, version in application.items()
        if development.get(package) != version
    }
    assert differ == {}


def test_every_lock_entry_is_pinned_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        entries = PIN.findall(text)
        assert text.count("--hash=sha256:") >= len(entries), name
