"""The ioTec and CamPay sandboxes served over real HTTP on 127.0.0.1, steered as a developer
steers them (their control endpoints), and CamPay's webhook signature as anyone may forge it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from hotspot.core.settings import Settings
from hotspot.dev.sandbox.mobile_money.campay import (
    CampaySandboxConfig,
    create_campay_sandbox_app,
    signature,
)
from hotspot.dev.sandbox.mobile_money.iotec import IotecSandboxConfig, create_iotec_sandbox_app
from tests.support.harness import ServerThread


@dataclass
class GatewaySandbox:
    name: str
    url: str
    server: ServerThread
    sandbox: Any  # IotecSandbox or CampaySandbox

    def next_outcome(self, outcome: str, phone: str | None = None) -> None:
        requests.post(f"{self.url}/sandbox/next-outcome", json={"outcome": outcome, "phone": phone},
                      timeout=5).raise_for_status()  # fmt: skip

    def configure(self, **changes: Any) -> dict[str, Any]:
        response = requests.post(f"{self.url}/sandbox/config", json=changes, timeout=5)
        response.raise_for_status()
        shown: dict[str, Any] = response.json()
        return shown

    def transactions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = requests.get(
            f"{self.url}/sandbox/transactions", timeout=5
        ).json()["transactions"]
        return found

    def close(self) -> None:
        self.server.stop()
        self.sandbox.close()


def iotec_sandbox(settings: Settings, callback_url: str, delay: float) -> GatewaySandbox:
    """ioTec's stand-in with the settings' credentials, on their port (where the app and the
    workers of these settings look for it), calling back `callback_url`."""
    app = create_iotec_sandbox_app(
        IotecSandboxConfig(
            client_id=settings.iotec_client_id,
            client_secret=settings.iotec_client_secret,
            wallet_id=settings.iotec_wallet_id,
            ipn_secret=settings.iotec_ipn_secret,
            callback_url=callback_url,
            ipn_header=settings.iotec_ipn_header,
            callback_delay=delay,
        )
    )
    server = ServerThread(app, settings.sandbox_iotec_port)
    return GatewaySandbox("iotec", server.url, server, app.extensions["iotec_sandbox"])


def campay_sandbox(settings: Settings, callback_url: str, delay: float) -> GatewaySandbox:
    """CamPay's stand-in with the settings' credentials, on their port, calling back
    `callback_url`."""
    app = create_campay_sandbox_app(
        CampaySandboxConfig(
            username=settings.campay_username,
            password=settings.campay_password,
            webhook_key=settings.campay_webhook_key,
            callback_url=callback_url,
            callback_delay=delay,
        )
    )
    server = ServerThread(app, settings.sandbox_campay_port)
    return GatewaySandbox("campay", server.url, server, app.extensions["campay_sandbox"])


def signed(key: str, *, alg: str = "HS256", iat: float | None = None) -> str:
    """A CamPay webhook signature under `key` (the app's, or a forger's guess)."""
    return signature(key, "hotspot", iat=iat, alg=alg)
