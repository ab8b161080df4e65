"""CamPay's stand-in: its token endpoint, collect, transaction status, and the webhook it sends
on a final status (a GET with a query string as documented, or POST JSON), signed with the app's
webhook key as an HS256 JWT that holds only `iat` and `source`, as docs/gateways.md describes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import rerouted, serve_forever
from hotspot.dev.sandbox.mobile_money.common import (
    OUTCOMES,
    MobileMoneySandbox,
    Switches,
    add_down_switch,
    add_sandbox_routes,
    settle_later,
)

PHONE = re.compile(r"^237(\d{9})$")
MTN = re.compile(r"^6(?:7\d|5[0-4]|8[0-3])")
ORANGE = re.compile(r"^6(?:9\d|5[5-9]|8[6-9])")
USSD = {"MTN": "*126#", "ORANGE": "#150*50#"}
DEMO_CAP = 25
STATES = {"pending": "PENDING", "sent": "PENDING", "claimed": "PENDING",
          "paid": "SUCCESSFUL", "short": "SUCCESSFUL", "failed": "FAILED"}  # fmt: skip
FIELDS = ("status", "reference", "amount", "currency", "operator", "code", "operator_reference",
          "external_reference", "external_user", "endpoint", "app_amount", "phone_number",
          "reason")  # fmt: skip
SWITCHES = {
    "webhook_method": ("GET", "POST"),
    "signature": ("right", "wrong_key", "none_alg", "missing"),
    "demo_cap": (True, False),
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signature(key: str, app: str, *, iat: float | None = None, alg: str = "HS256") -> str:
    """A webhook signature as CamPay makes it: a JWT of {iat, source} under the webhook key."""
    header = _b64(json.dumps({"alg": alg, "app": app, "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iat": int(time.time() if iat is None else iat),
                              "source": "CamPay"}).encode())  # fmt: skip
    signed = f"{header}.{claims}"
    if alg == "none":
        return f"{signed}."
    return f"{signed}.{_b64(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())}"


@dataclass
class CampaySandboxConfig:
    username: str
    password: str
    webhook_key: str
    callback_url: str
    app_name: str = "hotspot"
    host: str = "127.0.0.1"
    port: int = 8092
    callback_delay: float = 2.0
    callback_base: str = ""


def refusal(message: str, code: str) -> ResponseReturnValue:
    return {"message": message, "error_code": code}, 400


class CampaySandbox(MobileMoneySandbox):
    name = "campay"
    switch_choices = SWITCHES

    def __init__(self, config: CampaySandboxConfig) -> None:
        extra = {"webhook_method": "GET", "signature": "right", "demo_cap": False}
        outcomes = tuple(outcome for outcome in OUTCOMES if outcome != "rolled_back")
        super().__init__(
            Switches(config.callback_delay, token_lifetime=3600, extra=extra, outcomes=outcomes)
        )
        self.config = config

    def issue_token(self) -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        if not (
            secrets.compare_digest(str(body.get("username", "")), self.config.username)
            and secrets.compare_digest(str(body.get("password", "")), self.config.password)
        ):
            return refusal("Invalid username or password", "ER401")
        lifetime = self.switches.token_lifetime
        return {"token": self.tokens.issue(lifetime), "expires_in": lifetime}

    def authorized(self) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Token ") and self.tokens.valid(header.removeprefix("Token "))

    def collect(self, body: Any) -> ResponseReturnValue:
        if not isinstance(body, dict):
            return refusal("Send a JSON object", "ER000")
        number = PHONE.fullmatch(str(body.get("from", "")))
        if number is None:
            return refusal("Invalid phone number. The number must start with the country "
                           "code 237", "ER101")  # fmt: skip
        operator = "MTN" if MTN.match(number.group(1)) else "ORANGE"
        if not (MTN.match(number.group(1)) or ORANGE.match(number.group(1))):
            return refusal("Only MTN and Orange numbers are accepted", "ER102")
        amount = str(body.get("amount", ""))
        if not amount.isdigit() or int(amount) <= 0 or body.get("currency") != "XAF":
            return refusal("Invalid amount: a whole number of XAF", "ER201")
        if self.switches.extra["demo_cap"] and int(amount) > DEMO_CAP:
            return refusal("This is a demo system. Maximum amount is 25.00 XAF", "ER201")
        tx = {"reference": str(uuid.uuid4()), "status": "PENDING", "amount": f"{amount}.00",
              "currency": "XAF", "operator": operator, "code": None, "operator_reference": None,
              "external_reference": body.get("external_reference"),
              "external_user": body.get("external_user"), "endpoint": "collect",
              "app_amount": f"{amount}.00", "phone_number": body["from"], "reason": ""}  # fmt: skip
        with self.lock:
            self.transactions[tx["reference"]] = tx
        settle_later(
            self.timers, self.outcomes.choose(number.group(1)), self.switches.callback_delay,
            become=lambda state: self._become(tx["reference"], state),
            webhook=lambda: self._send_webhook(tx["reference"]),
        )  # fmt: skip
        return {"reference": tx["reference"], "ussd_code": USSD[operator], "operator": operator}

    def _become(self, reference: str, state: str) -> None:
        with self.lock:
            tx = self.transactions[reference]
            if state == "claimed":
                tx["_claimed"] = True
                return
            tx.pop("_claimed", None)
            tx["status"] = STATES[state]
            if state == "short":
                tx["amount"] = f"{int(float(tx['amount'])) - 1}.00"
            if state == "failed":
                tx["reason"] = "Payer declined"
            if state in ("paid", "short", "failed"):
                alphabet = string.ascii_uppercase + string.digits
                tx["code"] = "CP" + "".join(secrets.choice(alphabet) for _ in range(10))
                tx["operator_reference"] = secrets.token_hex(5).upper()

    def status(self, reference: str) -> ResponseReturnValue:
        if reference not in self.transactions:
            return {"message": "Transaction not found", "error_code": "ER404"}, 404
        return self.shown(reference)

    def _send_webhook(self, reference: str) -> None:
        tx = self.shown(reference)
        with self.lock:
            if self.transactions[reference].get("_claimed"):
                tx["status"] = "SUCCESSFUL"
        fields = {name: "None" if tx.get(name) in (None, "") else str(tx[name]) for name in FIELDS}
        mode = self.switches.extra["signature"]
        if mode != "missing":
            key = self.config.webhook_key if mode == "right" else "not-the-webhook-key"
            alg = "none" if mode == "none_alg" else "HS256"
            fields["signature"] = signature(key, self.config.app_name, alg=alg)
        url = rerouted(self.config.callback_url, self.config.callback_base)
        with contextlib.suppress(requests.RequestException):  # lost: the poll's to find
            if self.switches.extra["webhook_method"] == "GET":
                self.http.get(url, params=fields, timeout=10)
            else:
                self.http.post(url, json=fields, timeout=10)
        with self.lock:
            self.webhooks_sent += 1


def create_campay_sandbox_app(config: CampaySandboxConfig) -> Flask:
    """CamPay's stand-in; its state is `app.extensions["campay_sandbox"]`."""
    sandbox = CampaySandbox(config)
    app = Flask(__name__)
    app.extensions["campay_sandbox"] = sandbox
    add_down_switch(app, sandbox.switches, ("/api/",))

    @app.post("/api/token/")
    def token() -> ResponseReturnValue:
        return sandbox.issue_token()

    @app.before_request
    def token_auth() -> ResponseReturnValue | None:
        if (
            request.path.startswith("/api/")
            and request.path != "/api/token/"
            and not sandbox.authorized()
        ):
            return {"detail": "Invalid token."}, 401
        return None

    @app.post("/api/collect/")
    def collect() -> ResponseReturnValue:
        return sandbox.collect(request.get_json(silent=True))

    @app.get("/api/transaction/<reference>/")
    def status(reference: str) -> ResponseReturnValue:
        return sandbox.status(reference)

    add_sandbox_routes(app, sandbox)
    return app


def serve(config: CampaySandboxConfig) -> None:
    app = create_campay_sandbox_app(config)
    sandbox = app.extensions["campay_sandbox"]
    serve_forever(app, sandbox, config.host, config.port, "CamPay sandbox")
