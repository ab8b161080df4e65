"""ioTec Pay's stand-in: its OAuth token endpoint, collections and their status, and the IPN it
POSTs to the wallet's callback URL with the wallet's security header, as docs/gateways.md
describes them. ioTec's own test numbers choose outcomes too: 011177777x paid, 011177778x
pending for ever, 011177779x sent to the vendor for ever, 011177799x failed."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from flask import Flask, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import rerouted, serve_forever
from hotspot.dev.sandbox.mobile_money.common import (
    STAYS_PENDING,
    MobileMoneySandbox,
    Switches,
    add_down_switch,
    add_sandbox_routes,
    settle_later,
)

PAYER = re.compile(r"^(?:0|\+?256)(\d{9})$")
MIN_AMOUNT = 500
IOTEC_TEST_NUMBERS = {
    "11177777": "success",
    "11177778": STAYS_PENDING,
    "11177779": "pending_forever",
    "11177799": "failed",
}
STATES = {  # our life-cycle word -> (status, statusCode, statusMessage)
    "pending": ("Pending", "pending", "Transaction is pending"),
    "sent": ("SentToVendor", "pending", "Sent to the mobile money operator"),
    "claimed": ("Pending", "pending", "Transaction is pending"),
    "paid": ("Success", "success", "Transaction successful"),
    "short": ("Success", "success", "Transaction successful"),
    "failed": ("Failed", "failed", "Payer declined the transaction"),
    "reversed": ("RolledBack", "failed", "Transaction rolled back"),
}
HEADER_MODES = ("right", "wrong", "missing")


@dataclass
class IotecSandboxConfig:
    client_id: str
    client_secret: str
    wallet_id: str
    ipn_secret: str
    callback_url: str
    currency: str = "UGX"
    ipn_header: str = "X-Iotec-Ipn-Secret"
    host: str = "127.0.0.1"
    port: int = 8091
    callback_delay: float = 2.0
    callback_base: str = ""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class IotecSandbox(MobileMoneySandbox):
    name = "iotec"
    switch_choices: ClassVar[dict[str, tuple[Any, ...]]] = {"callback_header": HEADER_MODES}

    def __init__(self, config: IotecSandboxConfig) -> None:
        super().__init__(Switches(config.callback_delay, extra={"callback_header": "right"}))
        self.config = config
        self._by_external: dict[str, str] = {}

    # -- the API ---------------------------------------------------------------------------------

    def issue_token(self) -> ResponseReturnValue:
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or not secrets.compare_digest(form.get("client_id", ""), self.config.client_id)
            or not secrets.compare_digest(form.get("client_secret", ""), self.config.client_secret)
        ):
            return {"error": "invalid_client"}, 400
        lifetime = self.switches.token_lifetime
        return {"access_token": self.tokens.issue(lifetime), "expires_in": lifetime,
                "token_type": "Bearer", "scope": "pay"}  # fmt: skip

    def authorized(self) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.tokens.valid(header.removeprefix("Bearer "))

    def collect(self, body: Any) -> ResponseReturnValue:
        problem = self._refusal(body)
        if problem is not None:
            return {"message": problem, "code": "BadRequest"}, 400
        national = PAYER.fullmatch(str(body["payer"]))
        assert national is not None
        digits = national.group(1)
        outcome = IOTEC_TEST_NUMBERS.get(digits[:8]) or self.outcomes.choose(digits)
        tx = self._new(body)
        reply = dict(tx)  # as it was accepted: pending
        with self.lock:
            if tx["externalId"] in self._by_external:  # another request took it meanwhile
                return {"message": "Duplicate externalId", "code": "BadRequest"}, 400
            self.transactions[tx["id"]] = tx
            self._by_external[tx["externalId"]] = tx["id"]
        settle_later(
            self.timers, outcome, self.switches.callback_delay,
            become=lambda state: self._become(tx["id"], state),
            webhook=lambda: self._send_callback(tx["id"]),
        )  # fmt: skip
        return reply

    def _refusal(self, body: Any) -> str | None:
        """What ioTec would say is wrong with a collect request, checked in its order."""
        if not isinstance(body, dict):
            return "send a JSON object"
        amount, external = body.get("amount"), body.get("externalId")
        with self.lock:
            duplicate = isinstance(external, str) and external in self._by_external
        checks = (
            (body.get("walletId") != self.config.wallet_id, "Invalid ioTec wallet"),
            (body.get("currency") != self.config.currency,
             f"Currency must be {self.config.currency}"),
            (isinstance(amount, bool) or not isinstance(amount, int | float)
             or amount < MIN_AMOUNT, f"Amount must be a number of at least {MIN_AMOUNT}"),
            (not PAYER.fullmatch(str(body.get("payer", ""))), "Invalid payer phone number"),
            (not isinstance(external, str) or not external, "externalId is required"),
            (duplicate, "Duplicate externalId"),
        )  # fmt: skip
        return next((message for failed, message in checks if failed), None)

    def _new(self, body: dict[str, Any]) -> dict[str, Any]:
        status, code, message = STATES["pending"]
        return {
            "id": str(uuid.uuid4()), "createdAt": now(), "category": body.get("category"),
            "status": status, "paymentChannel": "Api", "statusCode": code,
            "statusMessage": message, "externalId": body["externalId"],
            "amount": body["amount"], "currency": body["currency"], "payer": body["payer"],
            "payerName": body.get("payerName"), "payerNote": body.get("payerNote"),
            "payeeNote": body.get("payeeNote"),
            "wallet": {"id": self.config.wallet_id, "name": "Sandbox wallet"},
            "vendor": "Mock", "vendorTransactionId": None, "transactionCharge": 0,
            "vendorCharge": 0, "totalTransactionCharge": 0, "lastUpdated": now(),
            "processedAt": None, "transactions": [],
        }  # fmt: skip

    def _become(self, tx_id: str, state: str) -> None:
        status, code, message = STATES[state]
        with self.lock:
            tx = self.transactions[tx_id]
            if state == "claimed":
                tx["_claimed"] = True  # the webhook says Success; the status does not yet
                return
            tx.update(status=status, statusCode=code, statusMessage=message, lastUpdated=now())
            tx.pop("_claimed", None)
            if state == "short":
                tx["amount"] = tx["amount"] - 100
            if state in ("paid", "short", "failed"):
                tx["processedAt"] = now()
                tx["vendorTransactionId"] = f"MP{secrets.token_hex(6).upper()}"

    def status(self, tx_id: str) -> ResponseReturnValue:
        if tx_id not in self.transactions:
            return {"message": "Transaction not found", "code": "NotFound"}, 404
        return self.shown(tx_id)

    def by_external_id(self, external_id: str) -> ResponseReturnValue:
        with self.lock:
            tx_id = self._by_external.get(external_id)
        return self.status(tx_id or "")

    def _send_callback(self, tx_id: str) -> None:
        """The IPN: the transaction as it stands (Success while claimed), with the header."""
        body = self.shown(tx_id)
        with self.lock:
            if self.transactions[tx_id].get("_claimed"):
                body.update(status="Success", statusCode="success")
        headers = {"Content-Type": "application/json"}
        mode = self.switches.extra["callback_header"]
        if mode != "missing":
            value = self.config.ipn_secret if mode == "right" else "not-the-secret"
            headers[self.config.ipn_header] = value
        url = rerouted(self.config.callback_url, self.config.callback_base)
        # ioTec's retries are not documented: a lost IPN is the poll's to find.
        with contextlib.suppress(requests.RequestException):
            self.http.post(url, json=body, headers=headers, timeout=10)
        with self.lock:
            self.webhooks_sent += 1


def create_iotec_sandbox_app(config: IotecSandboxConfig) -> Flask:
    """ioTec's stand-in; its state is `app.extensions["iotec_sandbox"]`."""
    sandbox = IotecSandbox(config)
    app = Flask(__name__)
    app.extensions["iotec_sandbox"] = sandbox
    add_down_switch(app, sandbox.switches, ("/api/", "/connect/"))

    @app.post("/connect/token")
    def token() -> ResponseReturnValue:
        return sandbox.issue_token()

    @app.before_request
    def bearer() -> ResponseReturnValue | None:
        if request.path.startswith("/api/") and not sandbox.authorized():
            return {"message": "Unauthorized", "code": "Unauthorized"}, 401
        return None

    @app.post("/api/collections/collect")
    def collect() -> ResponseReturnValue:
        return sandbox.collect(request.get_json(silent=True))

    @app.get("/api/collections/status/<tx_id>")
    def status(tx_id: str) -> ResponseReturnValue:
        return sandbox.status(tx_id)

    @app.get("/api/collections/external-id/<external_id>")
    def by_external_id(external_id: str) -> ResponseReturnValue:
        return sandbox.by_external_id(external_id)

    add_sandbox_routes(app, sandbox)
    return app


def serve(config: IotecSandboxConfig) -> None:
    app = create_iotec_sandbox_app(config)
    sandbox = app.extensions["iotec_sandbox"]
    serve_forever(app, sandbox, config.host, config.port, "ioTec Pay sandbox")
