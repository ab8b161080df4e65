"""A local stand-in for Africa's Talking's legacy SMS API (`POST /version1/messaging`).

A development and test tool: the app has no sandbox code path, it is simply pointed at this
server (`HOTSPOT_SMS_BASE_URL=http://127.0.0.1:8090/version1`). It checks the `apiKey` header,
the username and the form the way AT documents them, answers HTTP 201 with AT's JSON and records
every message; with `delivery_report_url` set it then POSTs a delivery report there.

What a recipient's message ends in is chosen, in this order, by:

1. `POST /sandbox/next-outcome {"outcome": ..., "phone": optional}` — the next message (to that
   number only, when given);
2. the last four digits of the number (`PHONE_SUFFIXES`): 0403 invalid_number (statusCode 403),
   0406 blacklisted (406), 0500 server_error (HTTP 500, no JSON), 0502 gateway_error (502);
3. `default_outcome`.

Control endpoints: `POST /sandbox/config {"response_delay", "default_outcome",
"delivery_report_url", "delivery_report_delay"}` and `GET /messages` (everything received, as
JSON). `response_delay` holds each answer back after the message is recorded: a worker killed
in that window is one whose message AT took but whose answer it never read. Run it with
`hotspot sandbox sms`.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import add_control_endpoints, serve_forever

log = logging.getLogger(__name__)

PRICE = "0.8000"
NETWORK_CODE = "99999"  # what AT's sandbox reports
REPORT_TIMEOUT = 10.0
AUTH_FAILED = "The supplied authentication is invalid"

# outcome -> (statusCode, status); server_error answers HTTP 500 instead of a recipient.
OUTCOMES: dict[str, tuple[int, str]] = {
    "success": (101, "Success"),
    "invalid_number": (403, "InvalidPhoneNumber"),
    "blacklisted": (406, "UserInBlacklist"),
    "gateway_error": (502, "RejectedByGateway"),
    "server_error": (500, "InternalServerError"),
}
PHONE_SUFFIXES: dict[str, str] = {
    "0403": "invalid_number",
    "0406": "blacklisted",
    "0500": "server_error",
    "0502": "gateway_error",
}
_NUMBER = re.compile(r"^\+\d{1,3}\d{3,}$")


@dataclass
class SmsSandboxConfig:
    username: str
    api_key: str
    host: str = "127.0.0.1"
    port: int = 8090
    response_delay: float = 0.0  # seconds between recording a message and answering
    default_outcome: str = "success"
    delivery_report_url: str = ""  # empty: no delivery reports
    delivery_report_delay: float = 1.0

    def __post_init__(self) -> None:
        _check_outcome(self.default_outcome)

    def __repr__(self) -> str:
        return (
            f"SmsSandboxConfig(username={self.username!r}, host={self.host!r}, "
            f"port={self.port!r}, response_delay={self.response_delay!r}, "
            f"default_outcome={self.default_outcome!r}, "
            f"delivery_report_url={self.delivery_report_url!r})"
        )


def _check_outcome(outcome: object) -> str:
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    return outcome


@dataclass
class _Message:
    message_id: str | None
    to: str
    message: str
    sender_id: str | None
    outcome: str
    status_code: int
    status: str
    cost: str
    received_at: float = field(default_factory=time.time)
    delivery_report: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == "success"

    def recipient(self) -> dict[str, Any]:
        return {
            "statusCode": self.status_code,
            "number": self.to,
            "status": self.status,
            "cost": self.cost,
            "messageId": self.message_id or "None",
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "to": self.to,
            "message": self.message,
            "from": self.sender_id,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "status": self.status,
            "cost": self.cost,
            "received_at": self.received_at,
            "delivery_report": self.delivery_report,
        }


class SmsSandbox:
    """The state behind the app; every method may run on any request or report thread."""

    def __init__(self, config: SmsSandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._messages: list[_Message] = []
        self._next_any: str | None = None
        self._next_by_phone: dict[str, str] = {}
        self._timers: set[threading.Timer] = set()
        self._closing = threading.Event()
        self._http = requests.Session()

    def messaging(self) -> ResponseReturnValue:
        if not secrets.compare_digest(
            request.headers.get("apiKey", "").encode(), self.config.api_key.encode()
        ):
            return _text(AUTH_FAILED, 401)
        if not request.accept_mimetypes.accept_json:
            return _text("this stand-in answers JSON only: send Accept: application/json", 406)
        form = request.form
        if form.get("username") != self.config.username:
            return _text(AUTH_FAILED, 401)
        for name in ("to", "message"):
            if not form.get(name):
                return _text(f"Request is missing required form field '{name}'", 400)
        numbers = [n.strip() for n in form["to"].split(",") if n.strip()]
        with self._lock:
            outcomes = [
                self._choose_outcome(n) if _NUMBER.fullmatch(n) else "invalid_number"
                for n in numbers
            ]
            if "server_error" in outcomes:  # the whole request fails, nobody is sent anything
                outcomes = ["server_error"] * len(numbers)
            received = [
                _received(n, form["message"], form.get("from"), outcome)
                for n, outcome in zip(numbers, outcomes, strict=True)
            ]
            self._messages.extend(received)
            delay = self.config.response_delay
        log.info("sandbox: SMS to %s -> %s", numbers, [m.outcome for m in received])
        if delay > 0:
            self._closing.wait(delay)
        if any(m.outcome == "server_error" for m in received):
            return _text("Internal Server Error", 500)
        accepted = [m for m in received if m.accepted]
        for message in accepted:
            self._schedule_report(message)
        total = f"KES {float(PRICE) * len(accepted):.4f}" if accepted else "0"
        return {
            "SMSMessageData": {
                "Message": f"Sent to {len(accepted)}/{len(received)} Total Cost: {total}",
                "Recipients": [m.recipient() for m in received],
            }
        }, 201

    def _choose_outcome(self, number: str) -> str:
        if number in self._next_by_phone:
            return self._next_by_phone.pop(number)
        if self._next_any is not None:
            outcome, self._next_any = self._next_any, None
            return outcome
        return PHONE_SUFFIXES.get(number[-4:], self.config.default_outcome)

    # -- delivery reports ------------------------------------------------------------------

    def _schedule_report(self, message: _Message) -> None:
        with self._lock:
            url, delay = self.config.delivery_report_url, self.config.delivery_report_delay
            if not url:
                return
            timer = threading.Timer(delay, self._report, args=(message, url))
            timer.daemon = True
            self._timers = {t for t in self._timers if t.is_alive()} | {timer}
            timer.start()

    def _report(self, message: _Message, url: str) -> None:
        form = {
            "id": message.message_id or "",
            "status": "Success",
            "phoneNumber": message.to,
            "networkCode": NETWORK_CODE,
        }
        entry: dict[str, Any] = {"url": url, "form": form, "status": None, "error": None}
        try:
            entry["status"] = self._http.post(url, data=form, timeout=REPORT_TIMEOUT).status_code
        except requests.RequestException as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("sandbox: delivery report for %s failed: %s", message.message_id, exc)
        with self._lock:
            message.delivery_report = entry

    # -- control ---------------------------------------------------------------------------

    def set_next_outcome(self, outcome: object, phone: object) -> dict[str, Any]:
        chosen = _check_outcome(outcome)
        with self._lock:
            if phone is None:
                self._next_any = chosen
                return {"outcome": chosen, "phone": None}
            if not isinstance(phone, str) or not _NUMBER.fullmatch(phone):
                raise ValueError(f"phone must look like +2547XXXXXXXX, got {phone!r}")
            self._next_by_phone[phone] = chosen
            return {"outcome": chosen, "phone": phone}

    def reconfigure(self, changes: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config
        unknown = set(changes) - {
            "response_delay",
            "default_outcome",
            "delivery_report_url",
            "delivery_report_delay",
        }
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        delays = {
            name: _seconds(name, changes.get(name, getattr(cfg, name)))
            for name in ("response_delay", "delivery_report_delay")
        }
        outcome = _check_outcome(changes.get("default_outcome", cfg.default_outcome))
        url = changes.get("delivery_report_url", cfg.delivery_report_url)
        if not isinstance(url, str) or (url and not _is_http_url(url)):
            raise ValueError(f"delivery_report_url must be an http(s) URL or empty, got {url!r}")
        with self._lock:
            cfg.response_delay = delays["response_delay"]
            cfg.delivery_report_delay = delays["delivery_report_delay"]
            cfg.default_outcome = outcome
            cfg.delivery_report_url = url
            return self.public_config()

    def public_config(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "username": cfg.username,
            "response_delay": cfg.response_delay,
            "default_outcome": cfg.default_outcome,
            "delivery_report_url": cfg.delivery_report_url,
            "delivery_report_delay": cfg.delivery_report_delay,
        }

    def listing(self) -> dict[str, Any]:
        with self._lock:
            return {
                "messages": [m.to_json() for m in self._messages],
                "config": self.public_config(),
            }

    def close(self) -> None:
        """Answers held-back requests and cancels reports not yet sent (tests and shutdown)."""
        self._closing.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        self._http.close()


def _received(number: str, text: str, sender_id: str | None, outcome: str) -> _Message:
    code, status = OUTCOMES[outcome]
    accepted = outcome == "success"
    return _Message(
        message_id=f"ATXid_{secrets.token_hex(16)}" if accepted else None,
        to=number,
        message=text,
        sender_id=sender_id,
        outcome=outcome,
        status_code=code,
        status=status,
        cost=f"KES {PRICE}" if accepted else "0",
    )


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def create_sms_sandbox_app(config: SmsSandboxConfig) -> Flask:
    """The AT stand-in; its state is `app.extensions["sms_sandbox"]` (an SmsSandbox)."""
    sandbox = SmsSandbox(config)
    app = Flask(__name__)
    app.extensions["sms_sandbox"] = sandbox

    @app.post("/version1/messaging")
    def messaging() -> ResponseReturnValue:
        return sandbox.messaging()

    @app.get("/messages")
    def messages() -> ResponseReturnValue:
        return sandbox.listing()

    add_control_endpoints(app, sandbox)

    return app


def serve(config: SmsSandboxConfig) -> None:
    """Runs the sandbox in the foreground until Ctrl-C."""
    app = create_sms_sandbox_app(config)
    serve_forever(
        app,
        app.extensions["sms_sandbox"],
        config.host,
        config.port,
        f"SMS sandbox (username {config.username})",
    )
