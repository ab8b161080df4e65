"""Render and check the FreeRADIUS 3.2 configuration directory (raddb).

FreeRADIUS is configured by a whole directory tree, not by one file.  We take
the distribution's defaults (Debian's /etc/freeradius/3.0) as the base, so
dictionaries, policies and stock modules stay whatever the installed version
expects, and lay our own templates from ``freeradius-config/`` over them: the
``hotspot`` virtual server, the ``hotspot_clients`` one that looks routers up
in the ``nas`` table while the server runs (dynamic clients), the
``hotspot_status`` listener for the API's readiness probe, the PostgreSQL
``sql`` module and ``clients.conf``.  The result runs as whichever user starts
it, so tests and development need no root.

The templates ship inside the package (``hotspot/freeradius_config`` is a
symlink to the top-level ``freeradius-config/``, and pyproject.toml lists them
as package data), so an installed wheel finds them without a checkout.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from sqlalchemy import make_url

from hotspot.core.settings import PRIVATE_DB_NAME, Settings

TEMPLATE_PACKAGE = "hotspot"
TEMPLATE_RESOURCE = "freeradius_config"
"""Our templates: package data of `hotspot` (a symlink to ../freeradius-config in a checkout)."""

MARKER_NAME = ".hotspot-raddb"
"""File marking a directory as rendered by us, so re-rendering may replace it."""

_PLACEHOLDER = re.compile(r"@@([A-Za-z0-9_]*)@@")
_CHECK_OK = "Configuration appears to be OK"
_CHECK_TIMEOUT_S = 60.0
_TAIL_LINES = 40
# Not copied: only EAP uses certs/, we disable EAP, and the directory may
# hold private keys that must not end up in a world-readable copy.
_NOT_COPIED = ("certs",)
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class FreeRadiusConfigError(Exception):
    """The FreeRADIUS configuration cannot be rendered, or FreeRADIUS rejects it."""


@dataclass(frozen=True)
class RaddbParams:
    """Everything that varies between deployments of the rendered raddb."""

    listen_address: str
    auth_port: int
    acct_port: int
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: str
    status_port: int
    status_secret: str
    status_clients: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    client_lifetime: int = 30
    reject_delay: int = 1
    detail_accounting: bool = False
    log_dir: Path | None = None
    debian_raddb: Path = Path("/etc/freeradius/3.0")


def raddb_params(settings: Settings, log_dir: Path) -> RaddbParams:
    """This deployment's raddb: FreeRADIUS reads the database the settings name, as its own role."""
    url = make_url(settings.effective_database_url)
    return RaddbParams(
        listen_address=settings.radius_listen_address,
        auth_port=settings.radius_auth_port,
        acct_port=settings.radius_acct_port,
        status_port=settings.radius_status_port,
        status_secret=settings.radius_status_secret,
        status_clients=tuple(settings.radius_status_clients.split(",")),
        client_lifetime=settings.radius_client_lifetime,
        db_host=url.host or "127.0.0.1",
        db_port=url.port or 5432,
        db_name=url.database or PRIVATE_DB_NAME,
        db_user=settings.radius_db_user,
        db_password=settings.radius_db_password,
        reject_delay=settings.radius_reject_delay,
        detail_accounting=settings.radius_detail_accounting,
        log_dir=log_dir,
        debian_raddb=settings.freeradius_raddb,
    )


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
    _validate(params)
    if not (debian / "radiusd.conf").is_file():
        raise FreeRadiusConfigError(
            f"stock FreeRADIUS config not found: {debian}/radiusd.conf does not exist "
            "(install freeradius, or set RaddbParams.debian_raddb)"
        )
    _check_replaceable(out)
    log_rel = _log_dir_inside(out, log_dir)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-", dir=out.parent))
    try:
        stage = work / "raddb"
        _build(stage, out, log_dir, debian, params)
        if log_rel is not None and log_rel.parts[0] in {p.name for p in stage.iterdir()}:
            raise FreeRadiusConfigError(
                f"log_dir {log_dir} would overlap the rendered {out / log_rel.parts[0]}"
            )
        _swap_in(stage, out, work / "previous", log_rel)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Not made world-readable: logs and detail files hold subscriber data.
    for directory in (log_dir, log_dir / "radacct"):
        directory.mkdir(parents=True, exist_ok=True)
    return out


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


# --- validation -------------------------------------------------------------


def _validate(params: RaddbParams) -> None:
    """Reject values that would produce a broken or injectable config."""
    if not isinstance(params.listen_address, str):
        raise FreeRadiusConfigError("listen_address must be a string")
    if params.listen_address != "*":
        try:
            ipaddress.ip_address(params.listen_address)
        except ValueError as exc:
            raise FreeRadiusConfigError(
                f"listen_address must be an IP address or '*', not {params.listen_address!r}"
            ) from exc
    _validate_numbers(params)
    _status_secret(params.status_secret)
    status_networks(params.status_clients)
    for name in ("db_host", "db_name", "db_user", "db_password"):
        value = getattr(params, name)
        if not isinstance(value, str):
            raise FreeRadiusConfigError(f"{name} must be a string, not {type(value).__name__}")
        _check_config_string(name, value)
    for name in ("db_host", "db_name", "db_user"):
        if not getattr(params, name):
            raise FreeRadiusConfigError(f"{name} must not be empty")
    if "=" in params.db_name:
        # rlm_sql_postgresql takes a radius_db containing "=" for a complete
        # libpq conninfo string instead of a database name.
        raise FreeRadiusConfigError(f"db_name must not contain '=': {params.db_name!r}")


def _validate_numbers(params: RaddbParams) -> None:
    """Ports, reject delay and client lifetime."""
    for name in ("auth_port", "acct_port", "status_port", "db_port"):
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise FreeRadiusConfigError(f"{name} must be a port number 1-65535, not {value!r}")
    ports = {name: getattr(params, name) for name in ("auth_port", "acct_port", "status_port")}
    if len(set(ports.values())) != len(ports):
        raise FreeRadiusConfigError(
            "auth_port, acct_port and status_port must differ: "
            + ", ".join(f"{name}={port}" for name, port in ports.items())
        )
    lifetime = params.client_lifetime
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 1 <= lifetime <= 86400:
        # 0 would be FreeRADIUS's "forever": a changed or deleted router would stay served.
        raise FreeRadiusConfigError(f"client_lifetime must be 1-86400 seconds, not {lifetime!r}")
    delay = params.reject_delay
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 10:
        raise FreeRadiusConfigError(f"reject_delay must be 0-10 seconds, not {delay!r}")


def _check_config_string(name: str, value: str) -> None:
    """Refuse what FreeRADIUS cannot hold inside a double-quoted string."""
    if _CONTROL_CHARS.search(value):
        raise FreeRadiusConfigError(f"{name} contains a control character")
    # Double-quoted config strings are expanded at load time ("${var}",
    # "$ENV{var}"), and no escape for "$" exists.
    if "${" in value or "$ENV{" in value:
        raise FreeRadiusConfigError(
            f"{name} must not contain '${{' or '$ENV{{': FreeRADIUS would expand it"
        )


def _status_secret(secret: object) -> str:
    """The status listener's shared secret, ready for a "..." config string."""
    if not isinstance(secret, str) or not secret:
        raise FreeRadiusConfigError("status_secret must be a non-empty string")
    _check_config_string("status_secret", secret)
    if "\\" in secret:
        # FreeRADIUS keeps a backslash pair as written; refused rather than guessed at.
        raise FreeRadiusConfigError("status_secret must not contain a backslash")
    return _conf_quoted(secret)


def status_networks(
    clients: str | tuple[str, ...] | list[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks allowed to probe the status listener: a comma-separated string (the
    setting) or a sequence; an address alone is its own /32 or /128."""
    items = clients.split(",") if isinstance(clients, str) else list(clients)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in items:
        if not isinstance(item, str):
            raise FreeRadiusConfigError(f"status client {item!r} is not a string")
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise FreeRadiusConfigError(
                f"status client {text!r} is not an IP network (e.g. 10.0.0.0/8 or 127.0.0.1): {exc}"
            ) from exc
    if not networks:
        raise FreeRadiusConfigError("status_clients must name at least one network")
    return networks


def _path_string(name: str, path: Path) -> str:
    """A path for a "..." config string; backslashes cannot be written there."""
    value = str(path)
    _check_config_string(name, value)
    if "\\" in value:
        raise FreeRadiusConfigError(f"{name} must not contain a backslash: {value!r}")
    return _conf_quoted(value)


# --- quoting ----------------------------------------------------------------
#
# FreeRADIUS 3.2 (where the 3.0 option ``correct_escapes = true`` became the
# fixed behaviour) reads a double-quoted config string almost verbatim:
# ``\"`` becomes ``"``, but every other backslash pair is kept as it is
# (``\\`` stays two backslashes; verified with 3.2.1).  So only ``"`` is
# escaped, and backslashes are left to the consumer's own quoting (libpq).


def _conf_quoted(value: str) -> str:
    """Escape for the inside of a FreeRADIUS 3.2 "..." string.

    Only valid for values without a lone trailing backslash and without
    ``\\"``; libpq-quoted values and validated paths satisfy that.
    """
    return value.replace('"', '\\"')


def _libpq_quoted(value: str) -> str:
    """Escape for the inside of a libpq conninfo '...' value.

    rlm_sql_postgresql builds ``password='%s'`` etc. without escaping.
    """
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _placeholder_values(params: RaddbParams) -> dict[str, str]:
    """The @@NAME@@ values; string ones are pre-escaped for their quoted context."""

    def db(value: str) -> str:
        return _conf_quoted(_libpq_quoted(value))

    detail = (
        "#  Every accounting packet is also written to ${radacctdir} (detail_accounting).\n\tdetail"
        if params.detail_accounting
        else "#  detail: off (RaddbParams.detail_accounting is False)"
    )
    return {
        "LISTEN_ADDRESS": params.listen_address,
        "AUTH_PORT": str(params.auth_port),
        "ACCT_PORT": str(params.acct_port),
        "STATUS_PORT": str(params.status_port),
        "STATUS_CLIENTS": _status_clients(params),
        "CLIENT_LIFETIME": str(params.client_lifetime),
        "DB_HOST": db(params.db_host),
        "DB_PORT": str(params.db_port),
        "DB_NAME": db(params.db_name),
        "DB_USER": db(params.db_user),
        "DB_PASSWORD": db(params.db_password),
        "DETAIL_ACCOUNTING": detail,
    }


def _status_clients(params: RaddbParams) -> str:
    """One client section per network; validated networks are written unquoted."""
    secret = _status_secret(params.status_secret)
    sections = []
    for number, network in enumerate(status_networks(params.status_clients), start=1):
        family = "ipv4addr" if network.version == 4 else "ipv6addr"
        sections.append(
            f"\tclient status{number} {{\n"
            f"\t\t{family} = {network.with_prefixlen}\n"
            f'\t\tsecret = "{secret}"\n'
            "\t\trequire_message_authenticator = yes\n"
            "\t}"
        )
    return "\n".join(sections)


def _substitute(text: str, values: Mapping[str, str], source: str) -> str:
    """Replace @@NAME@@ placeholders; unknown or malformed ones are errors."""
    stray = _PLACEHOLDER.sub("", text)
    if "@@" in stray:
        line = stray[: stray.index("@@")].count("\n") + 1
        raise FreeRadiusConfigError(f"{source}: malformed placeholder near line {line}")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise FreeRadiusConfigError(f"{source}: unknown placeholder @@{key}@@")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


# --- building the tree ------------------------------------------------------


def _build(stage: Path, out: Path, log_dir: Path, debian: Path, params: RaddbParams) -> None:
    """Create the complete raddb in `stage`, with paths pointing at `out`."""
    try:
        shutil.copytree(debian, stage, symlinks=True, ignore=_ignore_top_level(debian))
    except (OSError, shutil.Error) as exc:
        raise FreeRadiusConfigError(f"cannot copy {debian}: {exc}") from exc

    # Only our site: the stock "default" would answer on 1812/1813 from the
    # stock users file, and "inner-tunnel" listens on 127.0.0.1:18120.
    _clear_dir(stage / "sites-enabled")
    # eap fails to load without root-readable certificates, and we do not
    # offer 802.1X.
    _remove(stage / "mods-enabled" / "eap")

    _write_templates(stage, _placeholder_values(params))
    _patch_radiusd_conf(stage / "radiusd.conf", out, log_dir, params.reject_delay)
    (stage / "run").mkdir(exist_ok=True)
    (stage / MARKER_NAME).write_text(
        "Rendered by hotspot.freeradius.render_raddb; re-rendering replaces this directory.\n",
        encoding="utf-8",
    )
    _make_private(stage)


def _ignore_top_level(root: Path) -> Callable[[str, list[str]], set[str]]:
    """Return a copytree ignore-callback dropping `_NOT_COPIED` at the top level only."""
    top = str(root)

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_COPIED} if directory == top else set()

    return ignore


def template_root() -> Traversable:
    """The templates as package resources (a directory in a checkout or an installed wheel)."""
    return files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_RESOURCE)


def template_resources() -> Iterator[tuple[Path, Traversable]]:
    """(path relative to the template root, resource) of every file there, sorted."""

    def walk(node: Traversable, rel: Path) -> Iterator[tuple[Path, Traversable]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                yield from walk(child, rel / child.name)
            elif child.is_file():
                yield rel / child.name, child

    root = template_root()
    if root.is_dir():
        yield from walk(root, Path())


@dataclass(frozen=True)
class _Template:
    source: Path  # relative to the template root
    resource: Traversable
    target: Path  # relative to the raddb


def _template_files() -> list[_Template]:
    """Every template and where it goes; fails if the templates are missing."""
    root = template_root()
    if not root.joinpath("sites", "hotspot").is_file():
        raise FreeRadiusConfigError(
            f"FreeRADIUS templates not found in the package ({TEMPLATE_PACKAGE}/"
            f"{TEMPLATE_RESOURCE}: {root})"
        )
    templates: list[_Template] = []
    for rel, resource in template_resources():
        if any(p.startswith(".") or p.endswith("~") for p in rel.parts):
            continue
        if len(rel.parts) == 1:
            if rel.suffix.lower() == ".md":
                continue  # documentation
            target = rel
        elif len(rel.parts) == 2 and rel.parts[0] in ("sites", "mods"):
            target = Path(f"{rel.parts[0]}-available", rel.name)
        else:
            raise FreeRadiusConfigError(
                f"unexpected template location {TEMPLATE_RESOURCE}/{rel} "
                "(use sites/, mods/ or the top level)"
            )
        templates.append(_Template(rel, resource, target))
    return templates


def _write_templates(stage: Path, values: Mapping[str, str]) -> None:
    """Render every template; sites/ and mods/ ones are enabled by symlink."""
    for template in _template_files():
        source = f"{TEMPLATE_RESOURCE}/{template.source}"
        text = _substitute(template.resource.read_text(encoding="utf-8"), values, source)
        rel = template.target
        dest = stage / rel
        _remove(dest)
        dest.write_text(text, encoding="utf-8")
        kind = rel.parts[0].removesuffix("-available")
        if kind in ("sites", "mods") and len(rel.parts) == 2:
            link = stage / f"{kind}-enabled" / rel.name
            _remove(link)
            link.symlink_to(Path("..") / rel)


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
        (r"^raddbdir = .*$", setting(f'raddbdir = "{_path_string("out", out)}"'), "raddbdir"),
        (r"^logdir = .*$", setting(f'logdir = "{_path_string("log_dir", log_dir)}"'), "logdir"),
        (r"^radacctdir = .*$", setting("radacctdir = ${logdir}/radacct"), "radacctdir"),
        (r"^run_dir = .*$", setting(f'run_dir = "{_path_string("out", out / "run")}"'), "run_dir"),
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


# --- filesystem helpers -----------------------------------------------------


def _check_replaceable(out: Path) -> None:
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


def _log_dir_inside(out: Path, log_dir: Path) -> Path | None:
    """log_dir relative to out when it lies inside out (it is then preserved)."""
    try:
        rel = log_dir.relative_to(out)
    except ValueError:
        return None
    if not rel.parts:
        raise FreeRadiusConfigError("log_dir must not be the raddb directory itself")
    return rel


def _swap_in(stage: Path, out: Path, previous: Path, log_rel: Path | None) -> None:
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


def _clear_dir(directory: Path) -> None:
    """Remove every entry of `directory` (not following symlinks)."""
    if directory.is_dir():
        for entry in directory.iterdir():
            _remove(entry)
    else:
        directory.mkdir(parents=True)


def _remove(path: Path) -> None:
    """Remove a file, symlink or directory tree if it exists."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _make_private(root: Path) -> None:
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


def _redact(output: str) -> str:
    """Hide database passwords that FreeRADIUS debug output may echo."""
    output = re.sub(r"(password\s*=\s*)'(?:[^'\\]|\\.)*'", r"\1'<redacted>'", output)
    return re.sub(r'(password\s*=\s*)"(?:[^"\\]|\\.)*"', r'\1"<redacted>"', output)
