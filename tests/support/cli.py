"""The `hotspot` command run as an operator runs it: a process of its own, with an environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping


def run_hotspot(
    env: Mapping[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotspot", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
