"""The API and the M-Pesa and Africa's Talking sandboxes, served over real HTTP on 127.0.0.1 from
threads of the test process, with the handles the tests drive them by."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import make_server

from hotspot.billing.callback_tokens import c2b_urls, stk_callback_url
from hotspot.core.settings import Settings
from hotspot.dev.sandbox.mpesa.server import MpesaSandbox
from hotspot.dev.sandbox.sms import SmsSandbox
from hotspot.services import Services
from hotspot.web.app import create_app


class ServerThread:
    """A WSGI app served over real HTTP on 127.0.0.1 from a background thread."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class MpesaSandboxUnderTest:
    url: str
    sandbox: MpesaSandbox

    def next_outcome(self, outcome: str, phone: str | None = None) -> None:
        response = requests.post(
            f"{self.url}/sandbox/next-outcome",
            json={"outcome": outcome, "phone": phone},
            timeout=5,
        )
        response.raise_for_status()


@dataclass
class ApiUnderTest:
    url: str
    services: Services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def callback_url(self) -> str:
        return stk_callback_url(self.url, self.services.callback_tokens.current())

    def c2b_url(self, step: str) -> str:
        validation, confirmation = c2b_urls(self.url, self.services.callback_tokens.current())
        return {"validate": validation, "confirm": confirmation}[step]


def start_api(settings: Settings) -> tuple[ServerThread, Services]:
    """The API on a free port; the server is bound before the app learns its own URL."""
    server = ServerThread(None)
    settings = settings.with_changes(public_base_url=server.url)
    app = create_app(settings)
    server.server.app = app
    return server, app.extensions["hotspot"]


@dataclass
class SmsSandboxUnderTest:
    url: str
    sandbox: SmsSandbox

    @property
    def base_url(self) -> str:
        return f"{self.url}/version1"

    def next_outcome(self, outcome: str, phone: str | None = None) -> None:
        response = requests.post(
            f"{self.url}/sandbox/next-outcome", json={"outcome": outcome, "phone": phone}, timeout=5
        )
        response.raise_for_status()

    def configure(self, **changes: Any) -> None:
        requests.post(f"{self.url}/sandbox/config", json=changes, timeout=5).raise_for_status()

    def messages(self) -> list[dict[str, Any]]:
        listing: dict[str, Any] = requests.get(f"{self.url}/messages", timeout=5).json()
        messages: list[dict[str, Any]] = listing["messages"]
        return messages

    def accepted(self) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m["status_code"] == 101]
