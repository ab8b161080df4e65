"""CamPay (Cameroon) collections: token, collect, transaction status, and the signed webhook.

The webhook's `signature` is an HS256 JWT under the app's webhook key holding only `iat` and
`source`: it proves CamPay sent *a* webhook recently, not this body. So it is checked (HS256
only, iat bounded) and then used only as a trigger to ask the status endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import requests

from hotspot.adapters.collections import (
    CollectionRequest,
    CollectionStarted,
    GatewayError,
    JsonApi,
    Outcome,
    Verdict,
    WebhookRejectedError,
    WebhookReport,
    money,
    present,
)
from hotspot.adapters.daraja_tokens import TokenCache
from hotspot.core.errors import InvalidInputError

DEFAULT_TOKEN_LIFETIME = 3600
FUTURE_SKEW = 60  # seconds a signature's iat may run ahead of our clock
# CamPay's error codes, in words a customer can act on.
ERRORS = {
    "ER101": "CamPay needs a Cameroonian number with its country code (237…).",
    "ER102": "CamPay takes only MTN Mobile Money and Orange Money numbers.",
    "ER201": "CamPay refused the amount",
}
FAILURE_KINDS: dict[str, str] = {}


@dataclass(frozen=True)
class CampayConfig:
    base_url: str  # https://www.campay.net/api or https://demo.campay.net/api
    username: str
    password: str
    webhook_key: str
    webhook_max_age: int = 900
    timeout: float = 10.0

    def __repr__(self) -> str:
        return f"CampayConfig(base_url={self.base_url!r}, username={self.username!r})"


class CampayClient(JsonApi):
    provider = "CamPay"
    auth_scheme = "Token"
    name = "campay"
    currency = "XAF"
    region = "CM"
    country_code = "237"
    min_amount, max_amount = 1, 1_000_000

    def __init__(
        self,
        config: CampayConfig,
        token_cache: TokenCache,
        first_query_delay: int,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            config.base_url,
            token_cache,
            app_id=f"{config.base_url}\0{config.username}",
            first_query_delay=first_query_delay,
            timeout=config.timeout,
            secrets=(config.password, config.webhook_key),
            session=session,
        )
        self.config = config

    def fetch_token(self) -> tuple[str, int]:
        cfg = self.config
        status, answer = self.request(
            "POST",
            self.base + "/token/",
            json={"username": cfg.username, "password": cfg.password},
        )
        found = answer if isinstance(answer, dict) else {}
        token = found.get("token")
        if status != 200 or not isinstance(token, str) or not token:
            raise self.error(status, {k: v for k, v in found.items() if k != "token"})
        expires_in = found.get("expires_in")
        return token, expires_in if isinstance(expires_in, int) else DEFAULT_TOKEN_LIFETIME

    def error(self, status: int, answer: Any) -> GatewayError:
        """ER codes in a customer's words; anything else as the provider said it."""
        refused = super().error(status, answer)
        words = ERRORS.get(refused.error_code or "")
        if words is None:
            return refused
        if refused.error_code == "ER201":
            words = f"{words}: {answer.get('message') if isinstance(answer, dict) else ''}"
        return GatewayError(words, error_code=refused.error_code, raw=refused.raw)

    def collect(self, request: CollectionRequest) -> CollectionStarted:
        body = {
            "amount": str(request.amount),
            "currency": self.currency,
            "from": request.phone.lstrip("+"),
            "description": request.description,
            "external_reference": request.external_id,
        }
        answer = self.call("POST", "/collect/", body)
        reference = answer.get("reference") if isinstance(answer, dict) else None
        if not isinstance(reference, str) or not reference:
            raise GatewayError("CamPay accepted the request but sent no reference", raw=answer)
        ussd = answer.get("ussd_code")
        return CollectionStarted(reference, None, str(ussd or ""), body, answer)

    def status(self, reference: str) -> Verdict:
        answer = self.call("GET", f"/transaction/{reference}/")
        if not isinstance(answer, dict):
            raise GatewayError("CamPay sent a status we cannot read", raw=str(answer)[:500])
        return verdict(answer)

    def find(self, external_id: str) -> Verdict | None:
        return None  # asked by its reference only; the webhook names it

    def parse_webhook(self, query: Mapping[str, str], body: bytes) -> WebhookReport:
        """GET with a query string as documented, or POST with JSON or a form: any of them."""
        fields: dict[str, Any] = dict(query)
        if body:
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                data = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            if isinstance(data, dict):
                fields.update(data)
        if not present(fields.get("reference")) and not present(fields.get("external_reference")):
            raise InvalidInputError("a CamPay webhook names its transaction (reference)")
        return WebhookReport(
            reference=present(fields.get("reference")),
            external_id=present(fields.get("external_reference")),
            claimed=verdict(fields).outcome,
            raw=fields,
        )

    def verify_webhook(self, headers: Mapping[str, str], report: WebhookReport) -> None:
        check_signature(
            str(report.raw.get("signature") or ""),
            self.config.webhook_key,
            self.config.webhook_max_age,
        )


def check_signature(token: str, key: str, max_age: int, now: float | None = None) -> None:
    """An HS256 JWT under `key`, issued within `max_age` seconds; nothing else passes (no
    `none`, no other algorithm, no missing part)."""
    parts = token.split(".")
    if len(parts) != 3 or not key:
        raise WebhookRejectedError("no signature, or not a JWT")
    try:
        head, claims = (json.loads(_unb64(part)) for part in parts[:2])
        signature = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejectedError("the signature is not a readable JWT") from None
    if not isinstance(head, dict) or head.get("alg") != "HS256" or not isinstance(claims, dict):
        raise WebhookRejectedError("the signature is not an HS256 JWT")
    expected = hmac.new(key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise WebhookRejectedError("the signature does not match the webhook key")
    issued = claims.get("iat")
    moment = time.time() if now is None else now
    if (
        not isinstance(issued, int | float)
        or not moment - max_age <= issued <= moment + FUTURE_SKEW
    ):
        raise WebhookRejectedError("the signature is stale (iat out of range)")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verdict(data: Mapping[str, Any]) -> Verdict:
    status = str(data.get("status") or "").upper()
    amount, currency = money(data.get("amount")), present(data.get("currency"))
    receipt = present(data.get("code"))
    found: dict[str, Any] = {
        "raw": dict(data),
        "external_id": present(data.get("external_reference")),
        "reference": present(data.get("reference")),
    }
    if status == "SUCCESSFUL":
        return Verdict(Outcome.PAID, status, "", amount, currency, receipt, **found)
    if status == "FAILED":
        reason = present(data.get("reason"))
        message = "The mobile money payment failed" + (f": {reason}." if reason else ".")
        return Verdict(Outcome.FAILED, status, message, amount, currency, receipt, **found)
    return Verdict(Outcome.PENDING, status or None, "", amount, currency, None, **found)
