"""C2B: the app registers its validation and confirmation URLs; a customer paying the paybill
(`POST /sandbox/c2b`) is posted to them, validation first."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from typing import Any

import requests

from hotspot.dev.sandbox import rerouted
from hotspot.dev.sandbox.mpesa.rules import (
    ALNUM,
    CALLBACK_TIMEOUT,
    EAT,
    SandboxConfig,
    bad_request,
    is_http_url,
    whole_number,
)


class Paybill:
    """The C2B URLs registered for the shortcode, and payments made to it."""

    def __init__(
        self, config: SandboxConfig, lock: threading.RLock, http: requests.Session
    ) -> None:
        self.config = config
        self._lock = lock
        self._http = http
        self.urls: dict[str, str] = {}

    def register_urls(self, body: dict[str, Any]) -> dict[str, Any]:
        """An authorized RegisterURL request: the URLs replace those registered before."""
        if str(body.get("ShortCode", "")) != self.config.shortcode:
            raise bad_request("ShortCode")
        if body.get("ResponseType") not in ("Completed", "Cancelled"):
            raise bad_request("ResponseType")
        urls = {}
        for name in ("ConfirmationURL", "ValidationURL"):
            url = body.get(name)
            if not isinstance(url, str) or not is_http_url(url):
                raise bad_request(name)
            urls[name] = url
        with self._lock:
            self.urls = {**urls, "ResponseType": str(body["ResponseType"])}
        conversation = f"{secrets.randbelow(9000) + 1000}-{secrets.randbelow(10**8)}-1"
        return {
            "OriginatorCoversationID": conversation,  # sic, as Daraja spells it
            "ResponseCode": "0",
            "ResponseDescription": "Success",
        }

    def pay(self, bill_ref: object, amount: object) -> dict[str, Any]:
        """A customer pays the paybill: validation (its answer decides), then confirmation."""
        whole = whole_number(amount)
        if not isinstance(bill_ref, str) or not bill_ref or whole is None or whole < 1:
            raise ValueError("bill_ref (text) and amount (whole shillings) are required")
        with self._lock:
            urls = dict(self.urls)
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


def _c2b_body(shortcode: str, bill_ref: str, amount: int) -> dict[str, Any]:
    """What Daraja posts to both C2B URLs (v2: the payer's number masked)."""
    return {
        "TransactionType": "Pay Bill",
        "TransID": "".join(secrets.choice(ALNUM) for _ in range(10)),
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
