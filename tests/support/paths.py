"""Where the checkout is, for tests that read its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The login page routers are given (docs/routeros.md), as the NAS simulator serves it too.
LOGIN_HTML = ROOT / "docs" / "mikrotik" / "login.html"
