"""A PPPoE client behind the simulated router: it dials, stays online while the router keeps
its session, and dials again `redial_interval` seconds after the session ends (a Disconnect-
Request, its Session-Timeout) or a login is rejected, as a home router's PPPoE client does."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from radius.nas_sim import NasSimulator
from radius.nas_sim_session import SimSession

log = logging.getLogger("hotspot.nas_sim.pppoe")


class PppoeClient:
    def __init__(
        self,
        nas: NasSimulator,
        username: str,
        password: str,
        *,
        redial_interval: float = 0.5,
    ) -> None:
        self.nas = nas
        self.username = username
        self.password = password
        self.redial_interval = redial_interval
        self.session: SimSession | None = None
        self.sessions: list[SimSession] = []  # every session it had, oldest first
        self.rejects: list[str | None] = []  # each refusal's Reply-Message
        self.last_accept: Any = None  # the Access-Accept of the latest session
        self._mac = nas.new_mac()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pppoe-{username}", daemon=True)

    def __enter__(self) -> PppoeClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.online and self.session is not None:
            self.nas.logout(self.session)

    @property
    def online(self) -> bool:
        return self.session is not None and self.session.live

    def wait(self, online: bool, timeout: float) -> bool:
        """Until it is online (or offline); False when `timeout` passed first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.online is online:
                return True
            time.sleep(0.05)
        return self.online is online

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.online:
                self._dial()
            self._stop.wait(self.redial_interval)

    def _dial(self) -> None:
        try:
            result = self.nas.login(
                self.username, self.password, chap=False, mac=self._mac, pppoe=True
            )
        except Exception as exc:  # a dead server: try again later, as a router does
            log.info("pppoe %s: no answer (%s)", self.username, exc)
            return
        if result.accepted and result.session is not None:
            self.session = result.session
            self.sessions.append(result.session)
            self.last_accept = result.reply
        else:
            self.rejects.append(result.reply_message)
