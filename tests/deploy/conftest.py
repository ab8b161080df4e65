"""The production deployment (docker/compose.yaml) built and started on this machine, offline.

One deployment for the whole module, in a project of its own (`hotspot-test`) with its own ports,
network and volumes, so a trial the developer runs (`make deploy-up`) is left alone. Every request
goes through the TLS proxy, trusting the deployment's own local CA.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
PROJECT = "hotspot-test"
# Ports and a network of the test's own, clear of a developer's trial and of `make test`.
TEST_SETTINGS = {
    "HOTSPOT_HTTP_PORT": "18080",
    "HOTSPOT_HTTPS_PORT": "18443",
    "HOTSPOT_PROXY_BIND": "127.0.0.1",
    "HOTSPOT_POSTGRES_HOST_PORT": "55433",
    "HOTSPOT_RADIUS_AUTH_PORT": "21812",
    "HOTSPOT_RADIUS_ACCT_PORT": "21813",
    "HOTSPOT_RADIUS_STATUS_PORT": "28121",
    "HOTSPOT_RADIUS_SECONDARY_AUTH_PORT": "21822",
    "HOTSPOT_RADIUS_SECONDARY_ACCT_PORT": "21823",
    "HOTSPOT_RADIUS_SECONDARY_STATUS_PORT": "28122",
    "HOTSPOT_DOCKER_SUBNET": "172.30.87.0/24",
    "HOTSPOT_MONITORING": "true",
    "HOTSPOT_PROMETHEUS_PORT": "19091",
    "HOTSPOT_PROMETHEUS_SCRAPE_INTERVAL": "2s",
}
GATEWAY = "172.30.87.1"  # the host's side of the test network: a "router" the containers reach
DEMO_NAS_SECRET = "hotspot-demo-secret"


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def set_env_values(path: Path, values: dict[str, str]) -> None:
    """Sets keys in an env file in place (values replaced, new keys appended, mode kept)."""
    lines = path.read_text().splitlines()
    seen: set[str] = set()
    for n, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if key in values:
            lines[n] = f"{key}={values[key]}"
            seen.add(key)
    lines += [f"{key}={value}" for key, value in values.items() if key not in seen]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Deployment:
    directory: Path
    ca: Path

    @property
    def env(self) -> dict[str, str]:
        return read_env(self.directory / ".env")

    @property
    def app_env(self) -> dict[str, str]:
        return read_env(self.directory / "hotspot.env")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{TEST_SETTINGS['HOTSPOT_HTTPS_PORT']}"

    def deploy(self, *arguments: str, timeout: float = 900) -> str:
        return run(
            str(ROOT / "docker" / "deploy"),
            *arguments,
            env={"HOTSPOT_DEPLOY_DIR": str(self.directory), "COMPOSE_PROJECT_NAME": PROJECT},
            timeout=timeout,
        )

    def compose(self, *arguments: str, timeout: float = 600) -> str:
        return self.deploy("compose", *arguments, timeout=timeout)

    def hotspot(self, *arguments: str) -> str:
        """A `hotspot` command in a running api container, as the application's role."""
        return self.compose("exec", "-T", "api", "hotspot", *arguments)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).split()

    def inspect(self, container: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(run(DOCKER, "inspect", container))
        return found[0]

    def crash(self, container: str) -> None:
        """SIGKILL of the container's main process, as a crash (docker kill counts as a stop)."""
        pid = self.inspect(container)["State"]["Pid"]
        assert pid, f"{container} is not running"
        run("kill", "-9", str(pid))

    def wait_healthy(self, timeout: float = 180) -> None:
        self.deploy("wait", str(int(timeout)), timeout=timeout + 30)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", verify=str(self.ca), timeout=15, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", verify=str(self.ca), timeout=15, **kwargs)

    def database(self) -> psycopg.Connection[Any]:
        """The database as its superuser, through the port published on the host's loopback."""
        return psycopg.connect(
            host="127.0.0.1",
            port=int(TEST_SETTINGS["HOTSPOT_POSTGRES_HOST_PORT"]),
            user="postgres",
            password=self.env["HOTSPOT_POSTGRES_SUPERUSER_PASSWORD"],
            dbname="hotspot",
            autocommit=True,
        )

    def admin_token(self) -> str:
        return self.hotspot("tokens", "create", "--name", "deploy-test", "--role", "admin").strip()


def remove_leftovers() -> None:
    """An interrupted run's containers, volumes and networks, found by the project's label.

    Its env files went with its temporary directory, so compose cannot take it down; left in
    place, its database volume (other passwords) would fail every provision of the new one.
    """
    label = f"label=com.docker.compose.project={PROJECT}"
    for listing, removal in (
        (("ps", "-aq"), ("rm", "-f", "-v")),
        (("volume", "ls", "-q"), ("volume", "rm", "-f")),
        (("network", "ls", "-q"), ("network", "rm")),
    ):
        found = run(DOCKER, *listing, "--filter", label).split()
        if found:
            run(DOCKER, *removal, *found)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    run(str(ROOT / "scripts" / "install-docker"))
    directory = tmp_path_factory.mktemp("deployment")
    remove_leftovers()
    leftover = Deployment(directory, directory / "ca.crt")
    leftover.deploy("init", "--sandbox")
    set_env_values(directory / ".env", TEST_SETTINGS)
    set_env_values(
        directory / "hotspot.env",
        {
            "HOTSPOT_PUBLIC_BASE_URL": f"https://127.0.0.1:{TEST_SETTINGS['HOTSPOT_HTTPS_PORT']}",
            # Every test customer pays from this machine's one address.
            "HOTSPOT_RATE_LIMIT_PAYMENTS_PER_CLIENT": "100000/600",
            "HOTSPOT_RATE_LIMIT_PAYMENTS_PER_IP": "100000/600",
        },
    )
    started = time.monotonic()
    leftover.deploy("up")
    print(f"deploy up: {time.monotonic() - started:.0f} s")
    (directory / "ca.crt").write_text(leftover.deploy("ca"))
    try:
        yield leftover
    finally:
        if os.environ.get("HOTSPOT_KEEP_DEPLOYMENT") != "1":
            leftover.compose("down", "-v", "--remove-orphans")
            shutil.rmtree(directory, ignore_errors=True)
