"""A local stand-in for Safaricom Daraja (OAuth, STK push, STK query, the STK callback, C2B
RegisterURL and paybill payments to the registered URLs).

A development and test tool: the app has no sandbox code path, it is simply pointed at this
server (`base_url=http://127.0.0.1:8089`). It checks requests the way Daraja documents them and
answers with Daraja's payloads, then POSTs the callback from a background thread.

What a push ends in is chosen, in this order, by:

1. `POST /sandbox/next-outcome {"outcome": ..., "phone": optional}` — the next push (for that
   phone only, when given);
2. the last four digits of the phone number (`PHONE_SUFFIXES`):
   1032 cancelled, 1037 unreachable, 2001 wrong_pin, 0001 insufficient_funds, 1019 expired,
   0000 no_callback, 0003 triple_callback;
3. `default_outcome`.

Control endpoints: `POST /sandbox/config {"callback_delay", "default_outcome"}`,
`POST /sandbox/expire-token` (as if the hour had passed), `POST /sandbox/c2b {"bill_ref",
"amount"}` (a customer pays the paybill: validation, then confirmation, to the registered URLs)
and `GET /sandbox/payments` (everything received and sent, and the registered C2B URLs). Run it
with `hotspot sandbox mpesa`.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import add_control_endpoints, rerouted, serve_forever

log = logging.getLogger(__name__)

EAT = timezone(timedelta(hours=3))  # Daraja timestamps are Nairobi time
TOKEN_LIFETIME = 3599
TIMESTAMP_TOLERANCE = timedelta(minutes=10)  # UNVERIFIED for the real Daraja; catches UTC bugs
CALLBACK_TIMEOUT = 10.0
SUCCESS_DESC = "The service request is processed successfully."

# outcome -> (ResultCode, ResultDesc, callbacks sent)
OUTCOMES: dict[str, tuple[int, str, int]] = {
    "success": (0, SUCCESS_DESC, 1),
    "no_callback": (0, SUCCESS_DESC, 0),
    "triple_callback": (0, SUCCESS_DESC, 3),
    "insufficient_funds": (1, "The balance is insufficient for the transaction.", 1),
    "expired": (1019, "Transaction has expired", 1),
    "cancelled": (1032, "Request cancelled by user", 1),
    "unreachable": (1037, "DS timeout user cannot be reached", 1),
    "wrong_pin": (2001, "The initiator information is invalid.", 1),
}
PHONE_SUFFIXES: dict[str, str] = {
    "1032": "cancelled",
    "1037": "unreachable",
    "2001": "wrong_pin",
    "0001": "insufficient_funds",
    "1019": "expired",
    "0000": "no_callback",
    "0003": "triple_callback",
}
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
# Words Daraja is documented to refuse in callback URLs; here only a warning.
URL_WORDS = ("m-pesa", "mpesa", "safaricom", "exe", "cmd", "sql", "query", "ngrok", "mockbin")

_MSISDN = re.compile(r"^254[17]\d{8}$")
_ALNUM = string.ascii_uppercase + string.digits


@dataclass
class SandboxConfig:
    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str
    host: str = "127.0.0.1"
    port: int = 8089
    callback_delay: float = 2.0  # seconds between the push and the callback
    callback_base: str = ""  # send callbacks here instead of the URLs' own host (`rerouted`)
    default_outcome: str = "success"

    def __post_init__(self) -> None:
        _check_outcome(self.default_outcome)

    def __repr__(self) -> str:
        return (
            f"SandboxConfig(consumer_key={self.consumer_key!r}, shortcode={self.shortcode!r}, "
            f"host={self.host!r}, port={self.port!r}, callback_delay={self.callback_delay!r}, "
            f"default_outcome={self.default_outcome!r})"
        )


class SandboxError(Exception):
    """A request Daraja would refuse: becomes its `errorCode` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _bad_request(what: str) -> SandboxError:
    return SandboxError(400, "400.002.02", f"Bad Request - Invalid {what}")


def _check_outcome(outcome: object) -> str:
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    return outcome


@dataclass
class _Payment:
    checkout_request_id: str
    merchant_request_id: str
    outcome: str
    received: dict[str, Any]  # the request, Password masked
    response: dict[str, Any]
    callback_url: str
    callback_body: dict[str, Any]
    settles_at: float  # time.monotonic() when the customer has "answered"
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    def settled(self) -> bool:
        return time.monotonic() >= self.settles_at

    def result(self) -> tuple[int, str]:
        code, desc, _ = OUTCOMES[self.outcome]
        return code, desc

    def to_json(self) -> dict[str, Any]:
        code, desc = self.result()
        return {
            "checkout_request_id": self.checkout_request_id,
            "merchant_request_id": self.merchant_request_id,
            "outcome": self.outcome,
            "settled": self.settled(),
            "result_code": code,
            "result_desc": desc,
            "received": self.received,
            "response": self.response,
            "callback_url": self.callback_url,
            "callback_body": self.callback_body,
            "callbacks": list(self.callbacks),
        }


class MpesaSandbox:
    """The state behind the app; every method may run on any request or callback thread."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._token: str | None = None
        self._token_expires = 0.0
        self.tokens_issued = 0
        self._payments: dict[str, _Payment] = {}
        self._next_any: str | None = None
        self._next_by_phone: dict[str, str] = {}
        self._timers: set[threading.Timer] = set()
        self._http = requests.Session()
        self.c2b_urls: dict[str, str] = {}

    # -- OAuth ---------------------------------------------------------------------------------

    def issue_token(self) -> dict[str, Any]:
        if request.args.get("grant_type") != "client_credentials":
            raise SandboxError(400, "400.008.02", "Invalid grant type passed")
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        cfg = self.config
        good_key = secrets.compare_digest(auth.username or "", cfg.consumer_key)
        good_secret = secrets.compare_digest(auth.password or "", cfg.consumer_secret)
        if not (good_key and good_secret):
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        with self._lock:
            # Daraja's FAQ: each token request invalidates the previous token.
            self._token = "".join(secrets.choice(string.ascii_letters) for _ in range(28))
            self._token_expires = time.monotonic() + TOKEN_LIFETIME
            self.tokens_issued += 1
            return {"access_token": self._token, "expires_in": str(TOKEN_LIFETIME)}

    def expire_token(self) -> None:
        with self._lock:
            self._token = None

    def _check_call(self) -> dict[str, Any]:
        """Bearer token and JSON body, checked as Daraja does before reading any field."""
        header = request.headers.get("Authorization", "")
        with self._lock:
            valid = (
                self._token is not None
                and time.monotonic() < self._token_expires
                and secrets.compare_digest(header, f"Bearer {self._token}")
            )
        if not valid:
            raise SandboxError(401, "404.001.03", "Invalid Access Token")
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        if not isinstance(body, dict):
            # What Daraja answers to a missing Content-Type.
            raise _bad_request("BusinessShortCode")
        return body

    def _check_credentials(self, body: dict[str, Any]) -> None:
        cfg = self.config
        if str(body.get("BusinessShortCode", "")) != cfg.shortcode:
            raise _bad_request("BusinessShortCode")
        timestamp = body.get("Timestamp")
        try:
            when = datetime.strptime(str(timestamp), "%Y%m%d%H%M%S").replace(tzinfo=EAT)
        except ValueError:
            raise _bad_request("Timestamp") from None
        if abs(datetime.now(UTC) - when) > TIMESTAMP_TOLERANCE:
            raise _bad_request("Timestamp")
        expected = base64.b64encode(f"{cfg.shortcode}{cfg.passkey}{timestamp}".encode()).decode()
        if not secrets.compare_digest(str(body.get("Password", "")), expected):
            raise SandboxError(500, "500.001.1001", "Wrong credentials")

    # -- STK push ------------------------------------------------------------------------------

    def stk_push(self) -> dict[str, Any]:
        body = self._check_call()
        self._check_credentials(body)
        if body.get("TransactionType") not in TRANSACTION_TYPES:
            raise _bad_request("TransactionType")
        amount = _whole_number(body.get("Amount"))
        if amount is None or not 1 <= amount <= 250_000:
            raise _bad_request("Amount")
        for name in ("PartyA", "PhoneNumber"):
            if not _MSISDN.fullmatch(str(body.get(name, ""))):
                raise _bad_request(name)
        if not str(body.get("PartyB", "")).isdigit():
            raise _bad_request("PartyB")
        url = body.get("CallBackURL")
        if not isinstance(url, str) or not _is_http_url(url):
            raise _bad_request("CallBackURL")
        if any(word in url.lower() for word in URL_WORDS):
            log.warning("sandbox: Daraja may refuse a CallBackURL with any of %s", URL_WORDS)
        reference = body.get("AccountReference")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 12:
            raise _bad_request("AccountReference")

        phone = str(body["PhoneNumber"])
        with self._lock:
            outcome = self._choose_outcome(phone)
            checkout = self._new_checkout_id()
            merchant = f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(10**8):08d}-1"
            delay = max(self.config.callback_delay, 0.0)
            response = {
                "MerchantRequestID": merchant,
                "CheckoutRequestID": checkout,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
            payment = _Payment(
                checkout_request_id=checkout,
                merchant_request_id=merchant,
                outcome=outcome,
                received={**body, "Password": "***"},
                response=response,
                callback_url=url,
                callback_body=_callback_body(
                    merchant=merchant,
                    checkout=checkout,
                    outcome=outcome,
                    amount=amount,
                    phone=phone,
                    delay=delay,
                ),
                settles_at=time.monotonic() + delay,
            )
            self._payments[checkout] = payment
            if OUTCOMES[outcome][2]:
                timer = threading.Timer(delay, self._deliver, args=(checkout,))
                timer.daemon = True
                self._timers.add(timer)
                timer.start()
        log.info("sandbox: STK push %s for %s KES %s -> %s", checkout, phone, amount, outcome)
        return response

    def _choose_outcome(self, phone: str) -> str:
        if phone in self._next_by_phone:
            return self._next_by_phone.pop(phone)
        if self._next_any is not None:
            outcome, self._next_any = self._next_any, None
            return outcome
        return PHONE_SUFFIXES.get(phone[-4:], self.config.default_outcome)

    def _new_checkout_id(self) -> str:
        while True:
            stamp = datetime.now(EAT).strftime("%d%m%Y%H%M%S")
            checkout = f"ws_CO_{stamp}{secrets.randbelow(10**10):010d}"
            if checkout not in self._payments:
                return checkout

    def _deliver(self, checkout: str) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()}
            payment = self._payments[checkout]
            url, body = payment.callback_url, payment.callback_body
            copies = OUTCOMES[payment.outcome][2]
        for _ in range(copies):
            entry: dict[str, Any] = {"body": body, "status": None, "error": None}
            try:
                answer = self._http.post(
                    rerouted(url, self.config.callback_base), json=body, timeout=CALLBACK_TIMEOUT
                )
                entry["status"] = answer.status_code
            except requests.RequestException as exc:
                # The host and the error's kind only: the URL's path holds the app's secret token.
                entry["error"] = type(exc).__name__
                host = urlsplit(url).netloc
                log.warning(
                    "sandbox: callback for %s to %s failed: %s", checkout, host, entry["error"]
                )
            with self._lock:
                payment.callbacks.append(entry)

    # -- STK query -----------------------------------------------------------------------------

    def stk_query(self) -> dict[str, Any]:
        body = self._check_call()
        self._check_credentials(body)
        with self._lock:
            payment = self._payments.get(str(body.get("CheckoutRequestID", "")))
            if payment is None:
                raise _bad_request("CheckoutRequestID")
            if not payment.settled():
                raise SandboxError(500, "500.001.1001", "The transaction is being processed")
            code, desc = payment.result()
            return {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successfully",
                "MerchantRequestID": payment.merchant_request_id,
                "CheckoutRequestID": payment.checkout_request_id,
                "ResultCode": str(code),
                "ResultDesc": desc,
            }

    # -- C2B -----------------------------------------------------------------------------------

    def register_urls(self) -> dict[str, Any]:
        body = self._check_call()
        if str(body.get("ShortCode", "")) != self.config.shortcode:
            raise _bad_request("ShortCode")
        if body.get("ResponseType") not in ("Completed", "Cancelled"):
            raise _bad_request("ResponseType")
        urls = {}
        for name in ("ConfirmationURL", "ValidationURL"):
            url = body.get(name)
            if not isinstance(url, str) or not _is_http_url(url):
                raise _bad_request(name)
            urls[name] = url
        with self._lock:
            self.c2b_urls = {**urls, "ResponseType": str(body["ResponseType"])}
        conversation = f"{secrets.randbelow(9000) + 1000}-{secrets.randbelow(10**8)}-1"
        return {
            "OriginatorCoversationID": conversation,  # sic, as Daraja spells it
            "ResponseCode": "0",
            "ResponseDescription": "Success",
        }

    def pay_bill(self, bill_ref: object, amount: object) -> dict[str, Any]:
        """A customer pays the paybill: validation (its answer decides), then confirmation."""
        whole = _whole_number(amount)
        if not isinstance(bill_ref, str) or not bill_ref or whole is None or whole < 1:
            raise ValueError("bill_ref (text) and amount (whole shillings) are required")
        with self._lock:
            urls = dict(self.c2b_urls)
        if not urls:
            raise ValueError("no C2B URLs are registered")
        body = _c2b_body(self.config.shortcode, bill_ref, whole)
        base = self.config.callback_base
        validation = self._http.post(
            rerouted(urls["ValidationURL"], base), json=body, timeout=CALLBACK_TIMEOUT
        )
        answer: dict[str, Any] = {"validation": validation.status_code, "TransID": body["TransID"]}
        if validation.ok and str(validation.json().get("ResultCode")) != "0":
            return answer
        confirmation = self._http.post(
            rerouted(urls["ConfirmationURL"], base), json=body, timeout=CALLBACK_TIMEOUT
        )
        return {**answer, "confirmation": confirmation.status_code}

    # -- control -------------------------------------------------------------------------------

    def set_next_outcome(self, outcome: object, phone: object) -> dict[str, Any]:
        chosen = _check_outcome(outcome)
        with self._lock:
            if phone is None:
                self._next_any = chosen
                return {"outcome": chosen, "phone": None}
            number = str(phone).strip().replace(" ", "").removeprefix("+")
            if not _MSISDN.fullmatch(number):
                raise ValueError(f"phone must look like 2547XXXXXXXX, got {phone!r}")
            self._next_by_phone[number] = chosen
            return {"outcome": chosen, "phone": number}

    def reconfigure(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - {"callback_delay", "default_outcome"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        delay = changes.get("callback_delay", self.config.callback_delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"callback_delay must be a number >= 0, got {delay!r}")
        outcome = _check_outcome(changes.get("default_outcome", self.config.default_outcome))
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
                "payments": [p.to_json() for p in self._payments.values()],
                "tokens_issued": self.tokens_issued,
                "config": self.public_config(),
                "c2b_urls": dict(self.c2b_urls),
            }

    def close(self) -> None:
        """Cancels callbacks not yet sent (for tests and shutdown)."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        self._http.close()


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def _whole_number(value: object) -> int | None:
    """Daraja's own samples send Amount as "1"; accept that and integers, nothing fractional."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _callback_body(
    *, merchant: str, checkout: str, outcome: str, amount: int, phone: str, delay: float
) -> dict[str, Any]:
    code, desc, _ = OUTCOMES[outcome]
    callback: dict[str, Any] = {
        "MerchantRequestID": merchant,
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": desc,
    }
    if code == 0:
        paid_at = datetime.now(EAT) + timedelta(seconds=delay)
        receipt = "".join(secrets.choice(_ALNUM) for _ in range(10))
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(amount)},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "TransactionDate", "Value": int(paid_at.strftime("%Y%m%d%H%M%S"))},
                {"Name": "PhoneNumber", "Value": int(phone)},
            ]
        }
    return {"Body": {"stkCallback": callback}}


def _c2b_body(shortcode: str, bill_ref: str, amount: int) -> dict[str, Any]:
    """What Daraja posts to both C2B URLs (v2: the payer's number masked)."""
    return {
        "TransactionType": "Pay Bill",
        "TransID": "".join(secrets.choice(_ALNUM) for _ in range(10)),
        "TransTime": datetime.now(EAT).strftime("%Y%m%d%H%M%S"),
        "TransAmount": f"{amount}.00",
        "BusinessShortCode": shortcode,
        "BillRefNumber": bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126",
        "FirstName": "SANDBOX",
        "MiddleName": "",
        "LastName": "",
    }


def _error_body(code: str, message: str) -> dict[str, Any]:
    request_id = f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(10**8):08d}-1"
    return {"requestId": request_id, "errorCode": code, "errorMessage": message}


def create_sandbox_app(config: SandboxConfig) -> Flask:
    """The Daraja stand-in; its state is `app.extensions["mpesa_sandbox"]` (an MpesaSandbox)."""
    sandbox = MpesaSandbox(config)
    app = Flask(__name__)
    app.extensions["mpesa_sandbox"] = sandbox

    @app.errorhandler(SandboxError)
    def daraja_error(exc: SandboxError) -> ResponseReturnValue:
        return _error_body(exc.code, exc.message), exc.status

    @app.get("/oauth/v1/generate")
    def generate_token() -> ResponseReturnValue:
        return sandbox.issue_token()

    @app.post("/mpesa/stkpush/v1/processrequest")
    def process_request() -> ResponseReturnValue:
        return sandbox.stk_push()

    @app.post("/mpesa/stkpushquery/v1/query")
    def query() -> ResponseReturnValue:
        return sandbox.stk_query()

    @app.post("/mpesa/c2b/v2/registerurl")
    @app.post("/mpesa/c2b/v1/registerurl")
    def register_url() -> ResponseReturnValue:
        return sandbox.register_urls()

    add_control_endpoints(app, sandbox)

    @app.post("/sandbox/c2b")
    def pay_bill() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        try:
            return sandbox.pay_bill(body.get("bill_ref"), body.get("amount"))
        except ValueError as exc:
            return {"error": str(exc)}, 400

    @app.post("/sandbox/expire-token")
    def expire_token() -> ResponseReturnValue:
        sandbox.expire_token()
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
