"""`hotspot run` (what `make run` calls) brings the whole stack up and Ctrl-C takes it down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pyrad import packet

from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.dev.stack import isolated_environ
from radius.client import login, make_client
from tests.support.cli import run_hotspot

READY_TIMEOUT = 90


@pytest.fixture
def run_env() -> Iterator[dict[str, str]]:
    state = Path(tempfile.mkdtemp(prefix="hotspot-run-"))
    state.chmod(0o755)
    env = {
        **isolated_environ(state),
        "PATH": os.environ["PATH"],
        "HOTSPOT_API_WORKERS": "1",
        "HOTSPOT_WORKER_PROCESSES": "1",
    }
    yield env
    shutil.rmtree(state, ignore_errors=True)


hotspot = run_hotspot


def wait_until_ready(process: subprocess.Popen[str], output: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while "ready:" not in output.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"hotspot run did not get ready:\n{output.read_text()}")
        time.sleep(0.2)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_run_serves_the_demo_and_ctrl_c_stops_everything(
    run_env: dict[str, str], tmp_path: Path
) -> None:
    output = tmp_path / "run.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotspot", "run"],
            env=run_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_until_ready(process, output)

        api = f"http://127.0.0.1:{run_env['HOTSPOT_API_PORT']}"
        with urllib.request.urlopen(f"{api}/api/packages", timeout=5) as response:  # noqa: S310
            packages = json.load(response)["packages"]
        assert [(p["name"], p["price"]) for p in packages] == [
            ("1 Hour", "20.00"),
            ("1 Day", "50.00"),
            ("1 Week", "300.00"),
        ]

        # The demo NAS is a registered router: the portal posts logins to its hotspot pages
        # (`hotspot nas-sim --http-port HOTSPOT_NAS_SIM_HTTP_PORT`).
        simulator = f"http://127.0.0.1:{run_env['HOTSPOT_NAS_SIM_HTTP_PORT']}"
        query = urlencode({"link-login-only": f"{simulator}/login"})
        with urllib.request.urlopen(f"{api}/portal?{query}", timeout=5) as response:  # noqa: S310
            policy = response.headers["Content-Security-Policy"]
        assert f"form-action 'self' {simulator};" in policy

        # Only the state dir: the command finds the running stack's ports by itself.
        only_state = {"PATH": run_env["PATH"], "HOTSPOT_STATE_DIR": run_env["HOTSPOT_STATE_DIR"]}
        created = hotspot(only_state, "users", "create", "--package", "1 Hour", "--json")
        assert created.returncode == 0, created.stderr
        user = json.loads(created.stdout)
        client = make_client(
            "127.0.0.1",
            DEMO_NAS_SECRET,
            auth_port=int(run_env["HOTSPOT_RADIUS_AUTH_PORT"]),
            acct_port=int(run_env["HOTSPOT_RADIUS_ACCT_PORT"]),
        )
        assert login(client, user["username"], user["password"]).code == packet.AccessAccept

        second = hotspot(run_env, "run")
        assert second.returncode == 1
        assert "already running" in second.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0, output.read_text()
    assert port_is_free(int(run_env["HOTSPOT_API_PORT"]))
    assert port_is_free(int(run_env["HOTSPOT_POSTGRES_PORT"]))
    assert not (Path(run_env["HOTSPOT_STATE_DIR"]) / "runtime.env").exists()
