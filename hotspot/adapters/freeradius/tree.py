"""The rendered directory on disk: replaced only when it is ours, swapped in whole, kept private."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from hotspot.adapters.freeradius import FreeRadiusConfigError

MARKER_NAME = ".hotspot-raddb"
"""File marking a directory as rendered by us, so re-rendering may replace it."""


def check_replaceable(out: Path) -> None:
    """Only ever replace an empty directory or one we rendered ourselves."""
    if not os.path.lexists(out):
        return
    if out.is_symlink() or not out.is_dir():
        raise FreeRadiusConfigError(f"{out} exists and is not a directory")
    if any(out.iterdir()) and not (out / MARKER_NAME).is_file():
        raise FreeRadiusConfigError(
            f"refusing to replace {out}: it is not empty and was not rendered by render_raddb "
            f"(no {MARKER_NAME} file)"
        )


def log_dir_inside(out: Path, log_dir: Path) -> Path | None:
    """log_dir relative to out when it lies inside out (it is then preserved)."""
    try:
        rel = log_dir.relative_to(out)
    except ValueError:
        return None
    if not rel.parts:
        raise FreeRadiusConfigError("log_dir must not be the raddb directory itself")
    return rel


def swap_in(stage: Path, out: Path, previous: Path, log_rel: Path | None) -> None:
    """Replace `out` with `stage`, carrying over the log directory inside it.

    The logs move into `stage` first and move back on failure, so they are
    never inside the scratch directory that the caller deletes.
    """
    old_logs = out / log_rel if log_rel is not None else None
    new_logs = stage / log_rel if log_rel is not None else None
    logs_moved = False

    def restore_logs() -> None:
        if logs_moved and old_logs is not None and new_logs is not None:
            new_logs.rename(old_logs)

    try:
        if os.path.lexists(out):
            if old_logs is not None and new_logs is not None and old_logs.is_dir():
                new_logs.parent.mkdir(parents=True, exist_ok=True)
                old_logs.rename(new_logs)
                logs_moved = True
            try:
                out.rename(previous)
            except OSError:
                restore_logs()
                raise
        try:
            stage.rename(out)
        except OSError:
            if os.path.lexists(previous):
                previous.rename(out)
                restore_logs()
            raise
    except OSError as exc:
        raise FreeRadiusConfigError(f"cannot move the rendered config into {out}: {exc}") from exc


def clear_dir(directory: Path) -> None:
    """Remove every entry of `directory` (not following symlinks)."""
    if directory.is_dir():
        for entry in directory.iterdir():
            remove(entry)
    else:
        directory.mkdir(parents=True)


def remove(path: Path) -> None:
    """Remove a file, symlink or directory tree if it exists."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def make_private(root: Path) -> None:
    """Owner-only: the tree holds the database password; the server runs as its renderer.

    The copied stock files are 0640 root:freerad. Symlinks are skipped: chmod would follow them
    out of the tree.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, ""]:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            mode = (stat.S_IMODE(st.st_mode) | 0o600) & 0o700
            if stat.S_ISDIR(st.st_mode):
                mode = 0o700
            if mode != stat.S_IMODE(st.st_mode):
                os.chmod(path, mode)
