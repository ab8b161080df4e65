"""A hotspot router on its own network (a namespace with a veth to the host), as the deployment
meets routers: packets from a real address that FreeRADIUS must see as it is, Disconnect-Requests
sent back to it. Run inside the namespace (`ip netns exec NS python -m tests.deploy.router ...`);
each command prints one JSON line.

    login SERVER SECRET USER PASSWORD [--hold SECONDS]
        log in (Access-Request, Accounting Start); with --hold, then wait for a Disconnect-Request
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass

from pyrad.client import Timeout

from radius.nas_sim import NasSimulator

NAMESPACE = "hotspot-test-router"
HOST_SIDE = ("hs-router-h", "10.99.0.1")
ROUTER_SIDE = ("hs-router-r", "10.99.0.2")
COA_PORT = 3799


@dataclass(frozen=True)
class RouterNetwork:
    """The namespace, made afresh (root), torn down by `remove`."""

    namespace: str = NAMESPACE
    address: str = ROUTER_SIDE[1]
    server: str = HOST_SIDE[1]

    def create(self) -> None:
        self.remove()
        host, host_ip = HOST_SIDE
        router, router_ip = ROUTER_SIDE
        for command in (
            f"ip netns add {self.namespace}",
            f"ip link add {host} type veth peer name {router}",
            f"ip link set {router} netns {self.namespace}",
            f"ip addr add {host_ip}/30 dev {host}",
            f"ip link set {host} up",
            f"ip netns exec {self.namespace} ip addr add {router_ip}/30 dev {router}",
            f"ip netns exec {self.namespace} ip link set {router} up",
            f"ip netns exec {self.namespace} ip link set lo up",
            f"ip netns exec {self.namespace} ip route add default via {host_ip}",
        ):
            subprocess.run(command.split(), check=True, capture_output=True)

    def remove(self) -> None:
        subprocess.run(["ip", "link", "del", HOST_SIDE[0]], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)

    def command(self, *arguments: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, sys.executable, "-m", __name__, *arguments]


def login(options: argparse.Namespace) -> dict[str, object]:
    nas = NasSimulator(
        options.server,
        options.secret,
        auth_port=options.auth_port,
        acct_port=options.acct_port,
        nas_ip=ROUTER_SIDE[1],
        coa_listen_address=ROUTER_SIDE[1],
        coa_port=COA_PORT if options.hold else 0,
        listen=bool(options.hold),
        enforce_session_timeout=False,  # only a Disconnect-Request from the backend ends it
        enforce_data_limit=False,
    )
    try:
        try:
            result = nas.login(options.user, options.password)
        except Timeout:
            return {"answered": False, "accepted": False}
        shown: dict[str, object] = {"answered": True, "accepted": result.accepted}
        if result.accepted and options.hold:
            received = nas.wait_for_requests(1, timeout=options.hold)
            shown["received"] = [
                {"kind": r.kind, "user": r.attributes.get("User-Name", [None])[0]} for r in received
            ]
        return shown
    finally:
        nas.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["login"])
    parser.add_argument("server")
    parser.add_argument("secret")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("--auth-port", type=int, default=1812)
    parser.add_argument("--acct-port", type=int, default=1813)
    parser.add_argument("--hold", type=float, default=0.0)
    print(json.dumps(login(parser.parse_args())), flush=True)


if __name__ == "__main__":
    main()
