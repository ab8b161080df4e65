r"""Values made safe for the strings of the rendered configuration.

FreeRADIUS 3.2 (where the 3.0 option ``correct_escapes = true`` became the
fixed behaviour) reads a double-quoted config string almost verbatim:
``\"`` becomes ``"``, but every other backslash pair is kept as it is
(``\\`` stays two backslashes; verified with 3.2.1).  So only ``"`` is
escaped, and backslashes are left to the consumer's own quoting (libpq).
"""

from __future__ import annotations

import re
from pathlib import Path

from hotspot.adapters.freeradius import FreeRadiusConfigError

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def check_config_string(name: str, value: str) -> None:
    """Refuse what FreeRADIUS cannot hold inside a double-quoted string."""
    if _CONTROL_CHARS.search(value):
        raise FreeRadiusConfigError(f"{name} contains a control character")
    # Double-quoted config strings are expanded at load time ("${var}",
    # "$ENV{var}"), and no escape for "$" exists.
    if "${" in value or "$ENV{" in value:
        raise FreeRadiusConfigError(
            f"{name} must not contain '${{' or '$ENV{{': FreeRADIUS would expand it"
        )


def quoted_status_secret(secret: object) -> str:
    """The status listener's shared secret, ready for a "..." config string."""
    if not isinstance(secret, str) or not secret:
        raise FreeRadiusConfigError("status_secret must be a non-empty string")
    check_config_string("status_secret", secret)
    if "\\" in secret:
        # FreeRADIUS keeps a backslash pair as written; refused rather than guessed at.
        raise FreeRadiusConfigError("status_secret must not contain a backslash")
    return conf_quoted(secret)


def quoted_path(name: str, path: Path) -> str:
    """A path for a "..." config string; backslashes cannot be written there."""
    value = str(path)
    check_config_string(name, value)
    if "\\" in value:
        raise FreeRadiusConfigError(f"{name} must not contain a backslash: {value!r}")
    return conf_quoted(value)


def conf_quoted(value: str) -> str:
    """Escape for the inside of a FreeRADIUS 3.2 "..." string.

    Only valid for values without a lone trailing backslash and without
    ``\\"``; libpq-quoted values and validated paths satisfy that.
    """
    return value.replace('"', '\\"')


def libpq_quoted(value: str) -> str:
    """Escape for the inside of a libpq conninfo '...' value.

    rlm_sql_postgresql builds ``password='%s'`` etc. without escaping.
    """
    return value.replace("\\", "\\\\").replace("'", "\\'")
