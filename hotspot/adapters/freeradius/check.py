"""Finding the FreeRADIUS binary and asking it (`freeradius -XC`) whether a raddb loads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from hotspot.adapters.freeradius import FreeRadiusConfigError

_CHECK_OK = "Configuration appears to be OK"
_CHECK_TIMEOUT_S = 60.0
_TAIL_LINES = 40


def freeradius_binary() -> str:
    """Return the FreeRADIUS server binary; /usr/sbin is often not on a user's PATH."""
    for name in ("freeradius", "radiusd"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in (Path("/usr/sbin/freeradius"), Path("/usr/sbin/radiusd")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise FreeRadiusConfigError(
        "FreeRADIUS server binary not found (looked for `freeradius` and `radiusd` "
        "on PATH and in /usr/sbin): install freeradius, e.g. "
        "`apt-get install freeradius freeradius-postgresql freeradius-utils`"
    )


def check_raddb(raddb: Path) -> None:
    """Runs `freeradius -XC -d raddb`; raises FreeRadiusConfigError (with the output's tail).

    ``-C`` instantiates the modules, so the sql module connects to the
    database (and reads the ``nas`` table): the database must be reachable.
    """
    cmd = [freeradius_binary(), "-XC", "-d", str(raddb)]
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=_CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FreeRadiusConfigError(
            f"`{' '.join(cmd)}` did not finish within {_CHECK_TIMEOUT_S:.0f} s"
        ) from exc
    except OSError as exc:
        raise FreeRadiusConfigError(f"cannot run `{' '.join(cmd)}`: {exc}") from exc
    if proc.returncode != 0 or _CHECK_OK not in proc.stdout:
        tail = "\n".join(_redact(proc.stdout).splitlines()[-_TAIL_LINES:])
        raise FreeRadiusConfigError(
            f"`{' '.join(cmd)}` failed (exit status {proc.returncode}):\n{tail}"
        )


def _redact(output: str) -> str:
    """Hide database passwords that FreeRADIUS debug output may echo."""
    output = re.sub(r"(password\s*=\s*)'(?:[^'\\]|\\.)*'", r"\1'<redacted>'", output)
    return re.sub(r'(password\s*=\s*)"(?:[^"\\]|\\.)*"', r'\1"<redacted>"', output)
