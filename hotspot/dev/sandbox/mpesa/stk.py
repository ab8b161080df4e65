"""STK push and query: each push is checked, answered, and ends in the outcome chosen for it,
whose callback a timer thread POSTs after `callback_delay`."""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import g

from hotspot.dev.sandbox import rerouted
from hotspot.dev.sandbox.mpesa.rules import (
    ALNUM,
    CALLBACK_TIMEOUT,
    EAT,
    MSISDN,
    OUTCOMES,
    PHONE_SUFFIXES,
    App,
    SandboxConfig,
    SandboxError,
    bad_request,
    check_outcome,
    is_http_url,
    whole_number,
)

log = logging.getLogger(__name__)

TIMESTAMP_TOLERANCE = timedelta(minutes=10)  # UNVERIFIED for the real Daraja; catches UTC bugs
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
# Words Daraja is documented to refuse in callback URLs; here only a warning.
URL_WORDS = ("m-pesa", "mpesa", "safaricom", "exe", "cmd", "sql", "query", "ngrok", "mockbin")


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


class StkPushes:
    """The pushes received, the outcomes chosen for the next ones, and the callbacks pending."""

    def __init__(
        self, config: SandboxConfig, lock: threading.RLock, http: requests.Session
    ) -> None:
        self.config = config
        self._lock = lock
        self._http = http
        self._payments: dict[str, _Payment] = {}
        self._next_any: str | None = None
        self._next_by_phone: dict[str, str] = {}
        self._timers: set[threading.Timer] = set()

    def push(self, body: dict[str, Any]) -> dict[str, Any]:
        """An authorized STK push request: accepted, or a SandboxError as Daraja would refuse it."""
        amount, url, phone = self._checked_push(body)
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
            self._payments[checkout] = _Payment(
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
            if OUTCOMES[outcome][2]:
                timer = threading.Timer(delay, self._deliver, args=(checkout,))
                timer.daemon = True
                self._timers.add(timer)
                timer.start()
        log.info("sandbox: STK push %s for %s KES %s -> %s", checkout, phone, amount, outcome)
        return response

    def _checked_push(self, body: dict[str, Any]) -> tuple[int, str, str]:
        """The push's amount, callback URL and phone, each checked as Daraja does."""
        check_credentials(self.config, body)
        if body.get("TransactionType") not in TRANSACTION_TYPES:
            raise bad_request("TransactionType")
        amount = whole_number(body.get("Amount"))
        if amount is None or not 1 <= amount <= 250_000:
            raise bad_request("Amount")
        for name in ("PartyA", "PhoneNumber"):
            if not MSISDN.fullmatch(str(body.get(name, ""))):
                raise bad_request(name)
        if not str(body.get("PartyB", "")).isdigit():
            raise bad_request("PartyB")
        url = body.get("CallBackURL")
        if not isinstance(url, str) or not is_http_url(url):
            raise bad_request("CallBackURL")
        if any(word in url.lower() for word in URL_WORDS):
            log.warning("sandbox: Daraja may refuse a CallBackURL with any of %s", URL_WORDS)
        reference = body.get("AccountReference")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 12:
            raise bad_request("AccountReference")
        return amount, url, str(body["PhoneNumber"])

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

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        """An authorized STK query: the push's result once the customer has answered."""
        check_credentials(self.config, body)
        with self._lock:
            payment = self._payments.get(str(body.get("CheckoutRequestID", "")))
            if payment is None:
                raise bad_request("CheckoutRequestID")
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

    def set_next_outcome(self, outcome: object, phone: object) -> dict[str, Any]:
        chosen = check_outcome(outcome)
        with self._lock:
            if phone is None:
                self._next_any = chosen
                return {"outcome": chosen, "phone": None}
            number = str(phone).strip().replace(" ", "").removeprefix("+")
            if not MSISDN.fullmatch(number):
                raise ValueError(f"phone must look like 2547XXXXXXXX, got {phone!r}")
            self._next_by_phone[number] = chosen
            return {"outcome": chosen, "phone": number}

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [p.to_json() for p in self._payments.values()]

    def cancel_callbacks(self) -> None:
        """Cancels callbacks not yet sent (for tests and shutdown)."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()


def check_credentials(config: SandboxConfig, body: dict[str, Any]) -> None:
    """BusinessShortCode, Timestamp and the Password made of them and the passkey, of the app
    whose token the request carries."""
    app: App = g.get("daraja_app") or config.apps()[0]
    if str(body.get("BusinessShortCode", "")) != app.shortcode:
        raise bad_request("BusinessShortCode")
    timestamp = body.get("Timestamp")
    try:
        when = datetime.strptime(str(timestamp), "%Y%m%d%H%M%S").replace(tzinfo=EAT)
    except ValueError:
        raise bad_request("Timestamp") from None
    if abs(datetime.now(UTC) - when) > TIMESTAMP_TOLERANCE:
        raise bad_request("Timestamp")
    expected = base64.b64encode(f"{app.shortcode}{app.passkey}{timestamp}".encode()).decode()
    if not secrets.compare_digest(str(body.get("Password", "")), expected):
        raise SandboxError(500, "500.001.1001", "Wrong credentials")


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
        receipt = "".join(secrets.choice(ALNUM) for _ in range(10))
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(amount)},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "TransactionDate", "Value": int(paid_at.strftime("%Y%m%d%H%M%S"))},
                {"Name": "PhoneNumber", "Value": int(phone)},
            ]
        }
    return {"Body": {"stkCallback": callback}}
