"""The Daraja stand-in's shared state, its HTTP app, and `serve`."""

from __future__ import annotations

import threading
from typing import Any

import requests
from flask import Flask, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import add_control_endpoints, serve_forever
from hotspot.dev.sandbox.mpesa.c2b import Paybill
from hotspot.dev.sandbox.mpesa.oauth import AccessTokens
from hotspot.dev.sandbox.mpesa.rules import (
    App,
    SandboxConfig,
    SandboxError,
    check_outcome,
    error_body,
)
from hotspot.dev.sandbox.mpesa.stk import StkPushes


class MpesaSandbox:
    """The state behind the app, in parts that share one lock: every method may run on any
    request or callback thread."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._http = requests.Session()
        self.tokens = AccessTokens(config, self._lock)
        self.stk = StkPushes(config, self._lock, self._http)
        self.paybill = Paybill(config, self._lock, self._http)

    def set_next_outcome(self, outcome: object, phone: object) -> dict[str, Any]:
        return self.stk.set_next_outcome(outcome, phone)

    def reconfigure(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - {"callback_delay", "default_outcome"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        delay = changes.get("callback_delay", self.config.callback_delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"callback_delay must be a number >= 0, got {delay!r}")
        outcome = check_outcome(changes.get("default_outcome", self.config.default_outcome))
        with self._lock:
            self.config.callback_delay = float(delay)
            self.config.default_outcome = outcome
            return self.public_config()

    def public_config(self) -> dict[str, Any]:
        return {
            "shortcode": self.config.shortcode,
            "callback_delay": self.config.callback_delay,
            "default_outcome": self.config.default_outcome,
        }

    def listing(self) -> dict[str, Any]:
        with self._lock:
            return {
                "payments": self.stk.listing(),
                "tokens_issued": self.tokens.issued,
                "config": self.public_config(),
                "c2b_urls": dict(self.paybill.urls),
            }

    def close(self) -> None:
        """Cancels callbacks not yet sent (for tests and shutdown)."""
        self.stk.cancel_callbacks()
        self._http.close()


def create_sandbox_app(config: SandboxConfig) -> Flask:
    """The Daraja stand-in; its state is `app.extensions["mpesa_sandbox"]` (an MpesaSandbox)."""
    sandbox = MpesaSandbox(config)
    app = Flask(__name__)
    app.extensions["mpesa_sandbox"] = sandbox

    @app.errorhandler(SandboxError)
    def daraja_error(exc: SandboxError) -> ResponseReturnValue:
        return error_body(exc.code, exc.message), exc.status

    @app.get("/oauth/v1/generate")
    def generate_token() -> ResponseReturnValue:
        return sandbox.tokens.issue()

    @app.post("/mpesa/stkpush/v1/processrequest")
    def process_request() -> ResponseReturnValue:
        return sandbox.stk.push(sandbox.tokens.checked_body())

    @app.post("/mpesa/stkpushquery/v1/query")
    def query() -> ResponseReturnValue:
        return sandbox.stk.query(sandbox.tokens.checked_body())

    @app.post("/mpesa/c2b/v2/registerurl")
    @app.post("/mpesa/c2b/v1/registerurl")
    def register_url() -> ResponseReturnValue:
        return sandbox.paybill.register_urls(sandbox.tokens.checked_body())

    add_control_endpoints(app, sandbox)

    @app.post("/sandbox/c2b")
    def pay_bill() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        try:
            return sandbox.paybill.pay(body.get("bill_ref"), body.get("amount"))
        except ValueError as exc:
            return {"error": str(exc)}, 400

    @app.post("/sandbox/apps")
    def add_app() -> ResponseReturnValue:
        """Another Daraja app (an operator's own shortcode): its tokens push for it."""
        body = request.get_json(silent=True) or {}
        fields = ("consumer_key", "consumer_secret", "shortcode", "passkey")
        if not all(isinstance(body.get(name), str) and body[name] for name in fields):
            return {"error": f"send {', '.join(fields)}"}, 400
        sandbox.config.more_apps.append(App(*(body[name] for name in fields)))
        return {"apps": len(sandbox.config.apps())}, 201

    @app.post("/sandbox/expire-token")
    def expire_token() -> ResponseReturnValue:
        sandbox.tokens.expire()
        return {"expired": True}

    @app.get("/sandbox/payments")
    def payments() -> ResponseReturnValue:
        return sandbox.listing()

    return app


def serve(config: SandboxConfig) -> None:
    """Runs the sandbox in the foreground until Ctrl-C."""
    app = create_sandbox_app(config)
    serve_forever(
        app,
        app.extensions["mpesa_sandbox"],
        config.host,
        config.port,
        f"M-Pesa sandbox (shortcode {config.shortcode})",
    )
