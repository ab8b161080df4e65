"""The private stack: PostgreSQL, Redis and FreeRADIUS under the state dir, as child processes.

`hotspot run` and the test harness both use this, so the tests start the stack exactly the way a
newcomer's `make run` does. Children get their own session so a Ctrl-C in the terminal reaches only
us, and we stop them in reverse order.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg
from sqlalchemy.engine import URL

from hotspot.adapters.db_roles import create_roles_and_database, plan
from hotspot.adapters.freeradius.check import check_raddb, freeradius_binary
from hotspot.adapters.freeradius.params import raddb_params
from hotspot.adapters.freeradius.render import render_raddb
from hotspot.core.settings import Settings

POSTGRES_SUPERUSER = "postgres"
PR_SET_PDEATHSIG = 1
STARTUP_TIMEOUT = 30.0
MAX_CONNECTIONS = 200


class StackError(RuntimeError):
    """Something the operator must fix before the stack can start; the message says what."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    stop_signal: signal.Signals = signal.SIGTERM

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@dataclass
class Stack:
    settings: Settings
    fast: bool = False  # tests: no fsync, no Redis persistence
    say: Callable[[str], None] = field(default=functools.partial(print, flush=True))
    children: list[Child] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.settings.state_dir

    @property
    def log_dir(self) -> Path:
        return self.state / "log"

    # --- lifecycle -------------------------------------------------------------------------

    def start_databases(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.private_postgres:
            self.start_postgres()
        if self.settings.private_redis:
            self.start_redis()

    def stop(self) -> None:
        while self.children:
            child = self.children.pop()
            self.say(f"stopping {child.name}")
            child.stop()

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        user: str | None = None,
        env: dict[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> Child:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=user,
            env=env,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - spawned from one thread
        )
        child = Child(name, process, log, stop_signal)
        self.children.append(child)
        return child

    def fail_with_log(self, child: Child, what: str) -> StackError:
        tail = (self.log_dir / f"{child.name}.log").read_text(errors="replace")[-2000:]
        return StackError(f"{what}; the end of {self.log_dir / (child.name + '.log')}:\n{tail}")

    # --- PostgreSQL ------------------------------------------------------------------------

    def start_postgres(self) -> None:
        port = self.settings.postgres_port
        ensure_port_free(port, "PostgreSQL (HOTSPOT_POSTGRES_PORT)")
        bindir = postgres_bindir()
        data = self.state / "postgres"
        user = postgres_os_user()
        if not (data / "PG_VERSION").is_file():
            self.init_postgres(bindir, data, user)
        options = [
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            # The API's pools (a connection per thread per worker), FreeRADIUS's and the workers'
            # together can pass PostgreSQL's default of 100.
            "-c",
            f"max_connections={MAX_CONNECTIONS}",
        ]
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            options += ["-c", "full_page_writes=off"]
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        child = self.spawn(
            "postgres", [str(bindir / "postgres"), *options], user=user, stop_signal=signal.SIGINT
        )
        self.say(f"PostgreSQL on 127.0.0.1:{port} (data in {data})")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                psycopg.connect(self.superuser_dsn(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if not child.alive() or time.monotonic() > deadline:
                    raise self.fail_with_log(child, "PostgreSQL did not start") from None
                time.sleep(0.1)
        self.ensure_database()

    def init_postgres(self, bindir: Path, data: Path, user: str | None) -> None:
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True, mode=0o700)
        pwfile = data.parent / "postgres.pw"
        pwfile.write_text(self.settings.postgres_superuser_password + "\n")
        if user is not None:
            check_reachable(data, user)
            shutil.chown(data, user, user)
            shutil.chown(pwfile, user, user)
        pwfile.chmod(0o600)
        try:
            result = subprocess.run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    POSTGRES_SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
                user=user,
                group=user,
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            pwfile.unlink()
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1",
            port=self.settings.postgres_port,
            user=POSTGRES_SUPERUSER,
            password=self.settings.postgres_superuser_password,
            dbname=dbname,
        )

    def ensure_database(self) -> None:
        """The roles and the database a deployment's `hotspot db provision` makes, here with one
        role as owner and application (the private stack's), and FreeRADIUS's of its own."""
        admin = URL.create(
            "postgresql+psycopg",
            username=POSTGRES_SUPERUSER,
            password=self.settings.postgres_superuser_password,
            host="127.0.0.1",
            port=self.settings.postgres_port,
            database="postgres",
        )
        admin_url = admin.render_as_string(hide_password=False)
        create_roles_and_database(admin_url, plan(self.settings), say=lambda _: None)

    # --- Redis -----------------------------------------------------------------------------

    def start_redis(self) -> None:
        port = self.settings.redis_port
        ensure_port_free(port, "Redis (HOTSPOT_REDIS_PORT)")
        data = self.state / "redis"
        data.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--save", "", "--appendonly", "no"]
            if self.fast
            else [
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ]
        )
        child = self.spawn(
            "redis",
            [
                redis_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data),
                "--daemonize",
                "no",
                *persistence,
            ],
        )
        self.say(f"Redis on 127.0.0.1:{port}")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not redis_answers(port):
            if not child.alive() or time.monotonic() > deadline:
                raise self.fail_with_log(child, "Redis did not start")
            time.sleep(0.05)

    # --- FreeRADIUS ------------------------------------------------------------------------

    def run_freeradius(self, name: str, raddb: Path) -> Child:
        """FreeRADIUS on a rendered raddb, checked first, returned once it serves requests."""
        check_raddb(raddb)
        child = self.spawn(
            name,
            [freeradius_binary(), "-f", "-d", str(raddb), "-l", "stdout"],
            env={**os.environ, "TZ": "UTC"},
        )
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while b"Ready to process requests" not in log.read_bytes():
            if not child.alive() or time.monotonic() > deadline:
                raise self.fail_with_log(child, f"FreeRADIUS ({name}) did not start")
            time.sleep(0.05)
        return child

    def start_freeradius(self) -> None:
        """Renders our raddb and starts FreeRADIUS; it looks routers up in `nas` as they send."""
        s = self.settings
        for port in (s.radius_auth_port, s.radius_acct_port, s.radius_status_port):
            ensure_port_free(port, "FreeRADIUS", kind=socket.SOCK_DGRAM)
        self.run_freeradius(
            "freeradius",
            render_raddb(
                self.state / "raddb", raddb_params(self.settings, self.log_dir / "radius")
            ),
        )
        self.say(
            f"FreeRADIUS on {self.settings.radius_listen_address}: auth "
            f"{self.settings.radius_auth_port}, accounting {self.settings.radius_acct_port}, "
            f"status {self.settings.radius_status_port}"
        )


# --- helpers -----------------------------------------------------------------------------------


class RunLock:
    """One `hotspot run` per state dir: a second one must not touch the running stack's data."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "run.lock"
        self.handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StackError(
                f"the stack is already running from {self.path.parent} (pid {holder}); "
                "use it, or stop it with Ctrl-C in its terminal first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def die_with_parent() -> None:
    """Runs in the child before exec: should `hotspot run` itself be killed outright, the
    kernel stops its children too, instead of leaving them holding the stack's ports."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def ensure_port_free(port: int, what: str, kind: int = socket.SOCK_STREAM) -> None:
    with socket.socket(socket.AF_INET, kind) as probe:
        # As servers do, so connections still in TIME_WAIT from a previous run do not count.
        if kind == socket.SOCK_STREAM:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(
                f"port {port} on 127.0.0.1 is taken, so {what} cannot start; "
                "stop what uses it or choose another port"
            ) from None


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def isolated_environ(state_dir: Path) -> dict[str, str]:
    """Settings for a stack of its own beside any other (tests, benchmarks): free ports, plus
    the external servers the environment names."""
    environ = {
        "HOTSPOT_STATE_DIR": str(state_dir),
        "HOTSPOT_API_PORT": str(free_port()),
        "HOTSPOT_POSTGRES_PORT": str(free_port()),
        "HOTSPOT_REDIS_PORT": str(free_port()),
        "HOTSPOT_RADIUS_AUTH_PORT": str(free_port(socket.SOCK_DGRAM)),
        "HOTSPOT_RADIUS_ACCT_PORT": str(free_port(socket.SOCK_DGRAM)),
        "HOTSPOT_RADIUS_STATUS_PORT": str(free_port(socket.SOCK_DGRAM)),
        "HOTSPOT_SANDBOX_MPESA_PORT": str(free_port()),
        "HOTSPOT_SANDBOX_SMS_PORT": str(free_port()),
        **sandbox_gateways(free_port(), free_port()),
        "HOTSPOT_NAS_SIM_COA_PORT": str(free_port(socket.SOCK_DGRAM)),
        "HOTSPOT_NAS_SIM_HTTP_PORT": str(free_port()),
        "HOTSPOT_RADIUS_REJECT_DELAY": "0",
    }
    for name in ("HOTSPOT_DATABASE_URL", "HOTSPOT_REDIS_URL"):
        if os.environ.get(name):
            environ[name] = os.environ[name]
    return environ


def sandbox_gateways(iotec_port: int, campay_port: int) -> dict[str, str]:
    """The ioTec and CamPay sandboxes' ports, and the app's URLs of them."""
    iotec = f"http://127.0.0.1:{iotec_port}"
    return {
        "HOTSPOT_SANDBOX_IOTEC_PORT": str(iotec_port),
        "HOTSPOT_SANDBOX_CAMPAY_PORT": str(campay_port),
        "HOTSPOT_IOTEC_BASE_URL": iotec,
        "HOTSPOT_IOTEC_TOKEN_URL": f"{iotec}/connect/token",
        "HOTSPOT_CAMPAY_BASE_URL": f"http://127.0.0.1:{campay_port}/api",
    }


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def postgres_bindir() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise StackError("PostgreSQL server binaries not found: install the postgresql package")
    return candidates[-1].parent


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise StackError("redis-server not found: install the redis-server package")
    return found


def postgres_os_user() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackError("running as root needs the `postgres` system user") from None
    return "postgres"


def check_reachable(path: Path, user: str) -> None:
    result = subprocess.run(["test", "-x", str(path.parent)], user=user, check=False)
    if result.returncode != 0:
        raise StackError(
            f"PostgreSQL runs as the system user {user!r}, which cannot reach {path.parent}; "
            "set HOTSPOT_STATE_DIR to a directory it can reach"
        )
