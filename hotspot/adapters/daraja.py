"""Safaricom M-Pesa Daraja client: OAuth token, STK push (M-Pesa Express) and STK query.

Framework-free on purpose: the web layer, the workers and the CLI all call it. Every failure
surfaces as `GatewayError` whose message is safe to show (no secrets, no tracebacks), because a
payment that cannot start must tell the customer why instead of failing with a 500.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from hotspot.adapters.collections import TOKEN_EXPIRY_MARGIN, GatewayError
from hotspot.adapters.daraja_tokens import TokenCache

log = logging.getLogger(__name__)

# Africa/Nairobi has been UTC+3 without DST since 1942; a fixed offset needs no tzdata.
NAIROBI = timezone(timedelta(hours=3), "EAT")

OAUTH_PATH = "/oauth/v1/generate"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
REGISTER_URL_PATH = "/mpesa/c2b/v2/registerurl"

ERROR_INVALID_ACCESS = "404.001.03"  # the bearer token is invalid or expired
ERROR_BEING_PROCESSED = "500.001.1001"  # also "merchant does not exist" / "wrong credentials"
MIN_AMOUNT, MAX_AMOUNT = 1, 250_000
ACCOUNT_REFERENCE_MAX = 12
TRANSACTION_DESC_MAX = 13
_MSISDN = re.compile(r"^254[17]\d{8}$")


def nairobi_timestamp(now: datetime | None = None) -> str:
    """`YYYYMMDDHHmmss` in Nairobi time, as Daraja expects; a naive `now` is taken as UTC."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def _require_accepted(answer: dict[str, Any], action: str) -> None:
    """Daraja's ResponseCode 0, or GatewayError saying `action` and Daraja's own words."""
    code = str(answer.get("ResponseCode", "")).strip()
    if code != "0":
        raise GatewayError(
            f"{action}: {_describe(answer, 'ResponseDescription')} "
            f"(ResponseCode {code or 'missing'})",
            error_code=code or None,
            raw=answer,
        )


def _without_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***"


def msisdn(phone: str) -> str:
    """`2547XXXXXXXX` / `2541XXXXXXXX` from that or `+254…`; ValueError otherwise (a caller bug)."""
    digits = phone.strip().replace(" ", "").removeprefix("+")
    if not _MSISDN.fullmatch(digits):
        raise ValueError(f"M-Pesa needs a Kenyan mobile number as 2547XXXXXXXX, got {phone!r}")
    return digits


# ---------------------------------------------------------------------------------------------
# Results and errors


@dataclass(frozen=True)
class DarajaConfig:
    base_url: str  # e.g. "https://sandbox.safaricom.co.ke" or "http://127.0.0.1:8089"
    consumer_key: str
    consumer_secret: str
    shortcode: str  # BusinessShortCode, e.g. "174379"
    passkey: str
    transaction_type: str = "CustomerPayBillOnline"  # or CustomerBuyGoodsOnline
    party_b: str | None = None  # till number for buy-goods; defaults to shortcode
    timeout: float = 10.0

    def __repr__(self) -> str:
        # The dataclass default would print the consumer secret and passkey into logs.
        return (
            f"DarajaConfig(base_url={self.base_url!r}, consumer_key={self.consumer_key!r}, "
            f"shortcode={self.shortcode!r}, transaction_type={self.transaction_type!r}, "
            f"party_b={self.party_b!r}, timeout={self.timeout!r})"
        )


@dataclass(frozen=True)
class StkPushAccepted:
    """Daraja took the request; the money is not paid until the callback (or query) says 0."""

    merchant_request_id: str
    checkout_request_id: str
    customer_message: str
    raw: dict[str, Any]
    request: dict[str, Any]  # what we sent, with "Password" replaced by "***" (audit trail)


@dataclass(frozen=True)
class StkQueryResult:
    pending: bool  # "The transaction is being processed" (errorCode 500.001.1001)
    result_code: str | None  # e.g. "0", "1032" (the query returns strings)
    result_desc: str | None
    raw: dict[str, Any]


RESULT_MESSAGES: dict[str, str] = {
    "0": "Payment received. Thank you!",
    "1": "The payment failed: there is not enough money in your M-Pesa account.",
    "2": "The payment failed: the amount is below the M-Pesa minimum.",
    "3": "The payment failed: the amount is above the M-Pesa maximum.",
    "4": "The payment failed: it would exceed your M-Pesa daily limit.",
    "8": "The payment failed: the merchant account cannot receive it right now.",
    "17": "A payment of the same amount was made moments ago. Wait 2 minutes and try again.",
    "1019": "The payment request expired before it was completed. Please try again.",
    "1025": "M-Pesa could not show the payment prompt. Please try again.",
    "1032": "You cancelled the payment.",
    "1037": "Your phone could not be reached. Make sure it is on and has signal, then retry.",
    "2001": "The M-Pesa PIN was wrong. Please try again.",
    "2028": "The payment failed: this merchant is not set up for this kind of payment.",
    "8006": "Your M-Pesa PIN is locked. Contact Safaricom to unlock it.",
    "SFC_IC0003": "The payment failed: M-Pesa does not recognise the operator.",
}


def result_message(result_code: str | int | None) -> str:
    """Customer-facing text for an STK ResultCode (callback numbers and query strings alike)."""
    if result_code is None:
        return "The payment did not go through."
    code = str(result_code).strip()
    return RESULT_MESSAGES.get(code, f"The payment did not go through (M-Pesa code {code}).")


# ---------------------------------------------------------------------------------------------
# The client


class _InvalidTokenError(Exception):
    """Daraja refused the bearer token; the caller refreshes it and retries once."""


class DarajaClient:
    """One per app and process. Token renewal is locked, so threads may share one client."""

    def __init__(
        self,
        config: DarajaConfig,
        token_cache: TokenCache,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self._cache = token_cache
        self._session = session or requests.Session()
        self._base = config.base_url.rstrip("/")
        app_id = f"{self._base}\0{config.consumer_key}".encode()
        # Never the secret itself: the key only has to tell apps apart.
        self.token_cache_key = "daraja:token:" + hashlib.sha256(app_id).hexdigest()[:32]
        self._token_lock = threading.Lock()
        basic = base64.b64encode(f"{config.consumer_key}:{config.consumer_secret}".encode())
        self._secrets = (config.consumer_secret, config.passkey, basic.decode())

    # -- public API ----------------------------------------------------------------------------

    def stk_push(
        self,
        *,
        phone: str,
        amount: int,
        account_reference: str,
        description: str,
        callback_url: str,
        now: datetime | None = None,
    ) -> StkPushAccepted:
        """Asks M-Pesa to prompt `phone` for `amount` KES; the outcome arrives at callback_url."""
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"M-Pesa amounts are whole shillings, got {amount!r}")
        if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
            raise ValueError(f"M-Pesa amounts run from {MIN_AMOUNT} to {MAX_AMOUNT}, got {amount}")
        number = msisdn(phone)
        cfg = self.config
        timestamp = nairobi_timestamp(now)
        body: dict[str, Any] = {
            "BusinessShortCode": cfg.shortcode,
            "Password": stk_password(cfg.shortcode, cfg.passkey, timestamp),
            "Timestamp": timestamp,
            "TransactionType": cfg.transaction_type,
            "Amount": amount,
            "PartyA": number,
            "PartyB": cfg.party_b or cfg.shortcode,
            "PhoneNumber": number,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:ACCOUNT_REFERENCE_MAX],
            "TransactionDesc": description[:TRANSACTION_DESC_MAX],
        }
        # The callback URL's path holds the token that lets anyone forge callbacks: the audit
        # copy keeps only where it points.
        audit = {**body, "Password": "***", "CallBackURL": _without_path(callback_url)}
        answer = self._post(STK_PUSH_PATH, body)
        _require_accepted(answer, "M-Pesa did not accept the request")
        checkout = answer.get("CheckoutRequestID")
        merchant = answer.get("MerchantRequestID")
        if not isinstance(checkout, str) or not checkout or not isinstance(merchant, str):
            raise GatewayError(
                "M-Pesa accepted the request but sent no CheckoutRequestID", raw=answer
            )
        return StkPushAccepted(
            merchant_request_id=merchant,
            checkout_request_id=checkout,
            customer_message=str(answer.get("CustomerMessage") or ""),
            raw=answer,
            request=audit,
        )

    def stk_query(self, checkout_request_id: str, now: datetime | None = None) -> StkQueryResult:
        """Where an STK push stands; for when the callback is late or never comes."""
        cfg = self.config
        timestamp = nairobi_timestamp(now)
        body = {
            "BusinessShortCode": cfg.shortcode,
            "Password": stk_password(cfg.shortcode, cfg.passkey, timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        try:
            answer = self._post(STK_QUERY_PATH, body)
        except GatewayError as exc:
            if exc.error_code == ERROR_BEING_PROCESSED and _is_being_processed(exc.raw):
                raw = exc.raw if isinstance(exc.raw, dict) else {}
                return StkQueryResult(pending=True, result_code=None, result_desc=None, raw=raw)
            raise
        _require_accepted(answer, "M-Pesa could not look the payment up")
        result_code = answer.get("ResultCode")
        result_desc = answer.get("ResultDesc")
        return StkQueryResult(
            pending=False,
            result_code=None if result_code is None else str(result_code).strip(),
            result_desc=None if result_desc is None else str(result_desc),
            raw=answer,
        )

    def register_c2b_urls(
        self, *, validation_url: str, confirmation_url: str, response_type: str
    ) -> dict[str, Any]:
        """Tells Daraja where the paybill's C2B validation and confirmation go (RegisterURL).
        `response_type` (Completed or Cancelled) is what M-Pesa does when validation is silent."""
        if response_type not in ("Completed", "Cancelled"):
            raise ValueError(f"ResponseType is Completed or Cancelled, got {response_type!r}")
        body = {
            "ShortCode": self.config.shortcode,
            "ResponseType": response_type,
            "ConfirmationURL": confirmation_url,
            "ValidationURL": validation_url,
        }
        answer = self._post(REGISTER_URL_PATH, body)
        _require_accepted(answer, "M-Pesa did not register the URLs")
        return answer

    # -- token ---------------------------------------------------------------------------------

    def _token(self, stale: str | None = None) -> str:
        """The cached token, or a new one; `stale` is a token Daraja just refused."""
        cached = self._cache.get(self.token_cache_key)
        if cached and cached != stale:
            return cached
        with self._token_lock:
            # Another thread (or process, through Redis) may have renewed it meanwhile: fetching
            # yet another would invalidate theirs.
            cached = self._cache.get(self.token_cache_key)
            if cached and cached != stale:
                return cached
            token, expires_in = self._fetch_token()
            self._cache.set(self.token_cache_key, token, expires_in - TOKEN_EXPIRY_MARGIN)
            return token

    def _fetch_token(self) -> tuple[str, int]:
        cfg = self.config
        status, answer = self._request(
            "GET",
            OAUTH_PATH,
            params={"grant_type": "client_credentials"},
            auth=(cfg.consumer_key, cfg.consumer_secret),
        )
        token = answer.get("access_token")
        hidden = (token,) if isinstance(token, str) else ()
        self._raise_for_error(
            status, answer, action="M-Pesa refused our API credentials", hidden=hidden
        )
        try:
            expires_in = int(answer.get("expires_in", ""))
        except (TypeError, ValueError):
            expires_in = -1
        if not isinstance(token, str) or not token or expires_in <= 0:
            raise GatewayError(
                "M-Pesa sent an access-token answer we cannot read",
                raw=self._scrub_raw(
                    {k: v for k, v in answer.items() if k != "access_token"}, hidden
                ),
            )
        return token, expires_in

    # -- HTTP ----------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = self._token()
        try:
            return self._post_with(token, path, body)
        except _InvalidTokenError:
            log.info("Daraja refused the cached access token; fetching a new one")
        token = self._token(stale=token)
        try:
            return self._post_with(token, path, body)
        except _InvalidTokenError:
            raise GatewayError(
                "M-Pesa refused a freshly issued access token", error_code=ERROR_INVALID_ACCESS
            ) from None

    def _post_with(self, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        hidden = (token, str(body.get("Password", "")))
        status, answer = self._request(
            "POST",
            path,
            json_body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            hidden=hidden,
        )
        if status == 401 or answer.get("errorCode") == ERROR_INVALID_ACCESS:
            raise _InvalidTokenError
        self._raise_for_error(status, answer, action="M-Pesa rejected the request", hidden=hidden)
        return answer

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        hidden: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON object); anything else — no answer, not JSON — is a GatewayError."""
        try:
            response = self._session.request(
                method,
                self._base + path,
                params=params,
                json=json_body,
                headers=headers,
                auth=auth,
                timeout=self.config.timeout,
            )
        except requests.Timeout as exc:
            raise GatewayError("M-Pesa did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise GatewayError("M-Pesa did not answer (could not connect)") from exc
        except requests.RequestException as exc:
            raise GatewayError(
                f"M-Pesa did not answer (request failed: {type(exc).__name__})"
            ) from exc
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:  # requests.JSONDecodeError and friends
            answer = None
        if not isinstance(answer, dict):
            text = self._scrub(response.text[:500], hidden)
            raise GatewayError(
                f"M-Pesa sent an answer that is not a JSON object (HTTP {status})", raw=text
            )
        return status, answer

    def _raise_for_error(
        self, status: int, answer: dict[str, Any], *, action: str, hidden: tuple[str, ...]
    ) -> None:
        error_code = answer.get("errorCode")
        if error_code is not None:
            code = str(error_code)
            message = _describe(answer, "errorMessage")
            raise GatewayError(
                self._scrub(f"{action}: {message} ({code})", hidden),
                error_code=code,
                raw=self._scrub_raw(answer, hidden),
            )
        if not 200 <= status < 300:
            detail = _describe(answer, "errorMessage", "ResponseDescription", "resultDesc")
            raise GatewayError(
                self._scrub(f"{action}: HTTP {status}, {detail}", hidden),
                raw=self._scrub_raw(answer, hidden),
            )

    # -- keeping secrets out of messages -------------------------------------------------------

    def _scrub(self, text: str, hidden: tuple[str, ...]) -> str:
        """`text` with every secret we hold replaced, in case a server echoes one back."""
        for secret in (*self._secrets, *hidden):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _scrub_raw(self, raw: dict[str, Any], hidden: tuple[str, ...]) -> dict[str, Any]:
        return {
            key: self._scrub(value, hidden) if isinstance(value, str) else value
            for key, value in raw.items()
        }


def _describe(answer: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = answer.get(key)
        if value:
            return str(value)
    return "no reason given"


def _is_being_processed(raw: object) -> bool:
    return isinstance(raw, dict) and "being processed" in str(raw.get("errorMessage", "")).lower()
