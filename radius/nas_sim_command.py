"""`hotspot nas-sim`: a simulator in the foreground, like a router that boots, keeps its
customers online and reboots, logging every step on stdout.

Apart from the simulator because only the command needs signals, stdout logging and the demo
customers; `radius.nas_sim_http.run` (`--http-port`) shares `foreground`, `start_up` and
`shut_down`.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from pyrad.client import Timeout

from radius.nas_sim import NasSimulator
from radius.nas_sim_demo import DemoTiming, start_demo_customer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NasSetup:
    """The NAS a simulator command plays and the RADIUS server it talks to: what both commands
    (`run` here, `radius.nas_sim_http.run`) are told."""

    server: str
    secret: str
    auth_port: int
    acct_port: int
    coa_port: int
    coa_listen_address: str = "127.0.0.1"
    nas_ip: str = "127.0.0.1"
    nas_identifier: str = "nas-sim"
    interim_interval: float | None = None
    accounting_on: bool = True
    message_authenticator: bool = True

    def simulator(self, *, default_interim: float | None = None) -> NasSimulator:
        """The simulator; Interim-Updates every `interim_interval`, else `default_interim`."""
        interim = self.interim_interval if self.interim_interval is not None else default_interim
        return NasSimulator(
            self.server,
            self.secret,
            auth_port=self.auth_port,
            acct_port=self.acct_port,
            nas_ip=self.nas_ip,
            nas_identifier=self.nas_identifier,
            coa_listen_address=self.coa_listen_address,
            coa_port=self.coa_port,
            interim_interval=interim,
            message_authenticator=self.message_authenticator,
        )


def parse_login(text: str) -> tuple[str, str]:
    """`USER:PASSWORD` → (user, password); the password may contain colons."""
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise ValueError(f"{text!r} is not USER:PASSWORD")
    return username, password


def connect_address(host: str) -> str:
    """Where to reach a server listening on `host`: a wildcard address means this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - compared, not bound


def foreground() -> threading.Event:
    """For a simulator run as a command: log steps on stdout; the Event is set on SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s"
    )
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():

        def terminate(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, terminate)
    return stop


def run(
    setup: NasSetup,
    *,
    logins: Sequence[tuple[str, str]] = (),
    demo: bool = False,
    api_url: str = "http://127.0.0.1:8000",
    customers: int = 4,
    timing: DemoTiming | None = None,
) -> None:
    """`hotspot nas-sim`: a simulated NAS in the foreground until Ctrl-C or SIGTERM, logging every
    step on stdout. It sends Accounting-On, logs in `logins` (user, password) and keeps them
    online, and with `demo` runs `customers` fake customers buying through the API at `api_url`
    (Interim-Updates every 5 s unless `interim_interval` says otherwise). On exit the remaining
    sessions are stopped (Admin-Reboot)."""
    stop = foreground()
    nas = setup.simulator(default_interim=5.0 if demo else None)
    announce(nas)
    workers: list[threading.Thread] = []
    try:
        start_up(nas, setup.accounting_on, logins)
        for number in range(1, customers + 1 if demo else 1):
            workers.append(
                start_demo_customer(nas, api_url.rstrip("/"), number, timing or DemoTiming(), stop)
            )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        log.info("stopping")
        for worker in workers:
            worker.join(timeout=nas.timeout * nas.retries + 2)
        shut_down(nas)
        log.info("stopped")


def announce(nas: NasSimulator) -> None:
    """Log which FreeRADIUS the simulator talks to and where it listens for Disconnect/CoA."""
    log.info(
        "NAS %s (%s) -> RADIUS %s:%d/%d; Disconnect/CoA on %s:%s",
        nas.nas_identifier,
        nas.nas_ip,
        nas.server,
        nas.auth_port,
        nas.acct_port,
        *(nas.coa_address or ("-", "-")),
    )


def start_up(
    nas: NasSimulator, accounting_on: bool, logins: Sequence[tuple[str, str]] = ()
) -> None:
    """Like a router booting: Accounting-On (FreeRADIUS closes this NAS's stale sessions), then
    the `logins`; an unanswered request is logged, not raised, so the simulator keeps running."""
    if accounting_on:
        try:
            nas.accounting_on()
        except Timeout:
            log.warning("Accounting-On not answered (is FreeRADIUS up?)")
        else:
            log.info("Accounting-On sent")
    for username, password in logins:
        try:
            result = nas.login(username, password)
        except Timeout:
            log.warning("login %s not answered (is FreeRADIUS up?)", username)
            continue
        if not result.accepted:
            log.warning("%s rejected: %s", username, result.reply_message or "-")


def shut_down(nas: NasSimulator) -> None:
    """Like a router rebooted by its admin: a Stop for each session."""
    nas.logout_all("Admin-Reboot")
    nas.close()
