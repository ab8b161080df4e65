"""Rendering a complete raddb: the stock tree, our templates over it, radiusd.conf patched."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hotspot.adapters.freeradius import FreeRadiusConfigError
from hotspot.adapters.freeradius.params import RaddbParams, validate_params
from hotspot.adapters.freeradius.quoting import quoted_path
from hotspot.adapters.freeradius.templates import write_templates
from hotspot.adapters.freeradius.tree import (
    MARKER_NAME,
    check_replaceable,
    clear_dir,
    log_dir_inside,
    make_private,
    remove,
    swap_in,
)

# Not copied: only EAP uses certs/, we disable EAP, and the directory may
# hold private keys that must not end up in a world-readable copy.
_NOT_COPIED = ("certs",)


def render_raddb(out: Path, params: RaddbParams) -> Path:
    """Writes a complete raddb into `out` (created/replaced idempotently), returns out.

    The tree is built next to `out` and swapped in, so a failed render leaves
    the previous one intact.  A log directory inside `out` (the default
    ``out/log``) survives re-rendering.  Refuses to replace a non-empty
    directory that we did not render.
    """
    out = Path(os.path.abspath(out))
    log_dir = Path(os.path.abspath(params.log_dir if params.log_dir is not None else out / "log"))
    debian = Path(params.debian_raddb)
    validate_params(params)
    if not (debian / "radiusd.conf").is_file():
        raise FreeRadiusConfigError(
            f"stock FreeRADIUS config not found: {debian}/radiusd.conf does not exist "
            "(install freeradius, or set RaddbParams.debian_raddb)"
        )
    check_replaceable(out)
    log_rel = log_dir_inside(out, log_dir)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-", dir=out.parent))
    try:
        stage = work / "raddb"
        _build(stage, out, log_dir, debian, params)
        if log_rel is not None and log_rel.parts[0] in {p.name for p in stage.iterdir()}:
            raise FreeRadiusConfigError(
                f"log_dir {log_dir} would overlap the rendered {out / log_rel.parts[0]}"
            )
        swap_in(stage, out, work / "previous", log_rel)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Not made world-readable: logs and detail files hold subscriber data.
    for directory in (log_dir, log_dir / "radacct"):
        directory.mkdir(parents=True, exist_ok=True)
    return out


def _build(stage: Path, out: Path, log_dir: Path, debian: Path, params: RaddbParams) -> None:
    """Create the complete raddb in `stage`, with paths pointing at `out`."""
    try:
        shutil.copytree(debian, stage, symlinks=True, ignore=_ignore_top_level(debian))
    except (OSError, shutil.Error) as exc:
        raise FreeRadiusConfigError(f"cannot copy {debian}: {exc}") from exc

    # Only our site: the stock "default" would answer on 1812/1813 from the
    # stock users file, and "inner-tunnel" listens on 127.0.0.1:18120.
    clear_dir(stage / "sites-enabled")
    # eap fails to load without root-readable certificates, and we do not
    # offer 802.1X.
    remove(stage / "mods-enabled" / "eap")

    write_templates(stage, params)
    _patch_radiusd_conf(stage / "radiusd.conf", out, log_dir, params.reject_delay)
    (stage / "run").mkdir(exist_ok=True)
    (stage / MARKER_NAME).write_text(
        "Rendered by hotspot.adapters.freeradius.render.render_raddb; "
        "re-rendering replaces this directory.\n",
        encoding="utf-8",
    )
    make_private(stage)


def _ignore_top_level(root: Path) -> Callable[[str, list[str]], set[str]]:
    """Return a copytree ignore-callback dropping `_NOT_COPIED` at the top level only."""
    top = str(root)

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_COPIED} if directory == top else set()

    return ignore


def _patch_radiusd_conf(path: Path, out: Path, log_dir: Path, reject_delay: int) -> None:
    """Edit the stock radiusd.conf; each edit must match exactly once.

    Patching (instead of templating) keeps the installed version's own paths
    (libdir, dictionaries); failing on a mismatch catches a changed upstream file.
    """

    def setting(line: str) -> Callable[[re.Match[str]], str]:
        return lambda _match: line

    def reject_delay_line(match: re.Match[str]) -> str:
        return f"{match.group(1)}reject_delay = {reject_delay}"

    edits: list[tuple[str, Callable[[re.Match[str]], str], str]] = [
        (r"^raddbdir = .*$", setting(f'raddbdir = "{quoted_path("out", out)}"'), "raddbdir"),
        (r"^logdir = .*$", setting(f'logdir = "{quoted_path("log_dir", log_dir)}"'), "logdir"),
        (r"^radacctdir = .*$", setting("radacctdir = ${logdir}/radacct"), "radacctdir"),
        (r"^run_dir = .*$", setting(f'run_dir = "{quoted_path("out", out / "run")}"'), "run_dir"),
        (r"^pidfile = .*$", setting("pidfile = ${run_dir}/${name}.pid"), "pidfile"),
        # Run as whoever starts the server; switching to freerad needs root
        # and then cannot write our log directory.
        (r"^[ \t]*user = \S+[ \t]*\n", setting(""), "security.user"),
        (r"^[ \t]*group = \S+[ \t]*\n", setting(""), "security.group"),
        (r"^([ \t]*)reject_delay = \S+[ \t]*$", reject_delay_line, "reject_delay"),
    ]
    text = path.read_text(encoding="utf-8")
    for pattern, replacement, what in edits:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        if count != 1:
            raise FreeRadiusConfigError(
                f"{path}: expected exactly one '{what}' setting in the stock radiusd.conf, "
                f"found {count}"
            )
    path.write_text(text, encoding="utf-8")
