"""What every mobile-money gateway says, whichever provider speaks: a collection asked for, where
it stands, and a webhook read. M-Pesa (`adapters.mpesa_collections`), ioTec (`adapters.iotec`)
and CamPay (`adapters.campay`) each turn their wire format into these, so billing never learns
which provider it talks to (`billing.gateways.CollectionGateway`)."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from hashlib import sha256
from typing import Any

import requests

from hotspot.adapters.daraja_tokens import TokenCache
from hotspot.adapters.http_errors import never_sent

log = logging.getLogger(__name__)
TOKEN_EXPIRY_MARGIN = 60  # seconds; renew before the provider does
REFUSED_TOKEN = (401, 403)  # answers after which a fresh token is fetched, and tried once


class GatewayError(Exception):
    """Initiation/query failed; str(exc) is a human-readable reason safe to show the caller."""

    def __init__(
        self,
        reason: str,
        *,
        error_code: str | None = None,
        raw: dict[str, Any] | str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_code = error_code
        self.raw = raw
        # The provider may have acted on it (a timeout, a 5xx): a collection may be under way.
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        return self.reason


class WebhookRejectedError(Exception):
    """A webhook that proves nothing (forged, unsigned, stale): kept for audit, never believed."""


class Outcome(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True)
class CollectionRequest:
    """One payer prompted for one amount; `external_id` is ours, echoed back by the provider."""

    phone: str  # E.164 with its +
    amount: int  # in the currency's unit: none of KES, UGX and XAF takes cents here
    external_id: str
    description: str
    callback_url: str


@dataclass(frozen=True)
class CollectionStarted:
    """The provider took the request; no money is taken until a verdict says paid."""

    reference: str  # the provider's id of the collection: what status queries name
    secondary_reference: str | None  # M-Pesa's MerchantRequestID; None elsewhere
    customer_message: str
    request: dict[str, Any]  # what we sent, secrets masked (the audit trail)
    raw: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """Where a collection stands, in our words; `code` is the provider's own (stored as the
    payment's result code), `message` what the customer reads when it failed."""

    outcome: Outcome
    code: str | None
    message: str
    amount: Decimal | None = None
    currency: str | None = None
    receipt: str | None = None  # the provider's transaction code, when it gives one
    raw: dict[str, Any] | None = None
    external_id: str | None = None  # ours, as the provider echoes it back
    reference: str | None = None  # the provider's, when an answer found by ours names it


@dataclass(frozen=True)
class WebhookReport:
    """What a verified webhook claims. Only a trigger: the status query decides."""

    reference: str | None
    external_id: str | None
    claimed: Outcome
    raw: dict[str, Any]


def money(value: Any) -> Decimal | None:
    """A provider's amount, a number or a string ("25.00"); None when absent or unreadable."""
    if value is None or isinstance(value, bool) or value in ("", "None"):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def present(value: Any) -> str | None:
    """A provider's text field; empty, null and CamPay's "None" all mean absent."""
    return str(value) if value not in (None, "", "None") else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, whatever its case."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


# Connections kept per host: one for each API thread that may call the gateway at once.
POOL_SIZE = 64


def pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class JsonApi:
    """JSON over HTTP with a bearer-style token kept in a shared cache: ioTec's and CamPay's
    clients. Every failure is a GatewayError naming the provider, never a secret."""

    provider = "the gateway"
    name = "gateway"
    auth_scheme = "Bearer"

    def __init__(
        self,
        base_url: str,
        token_cache: TokenCache,
        *,
        app_id: str,
        first_query_delay: int,
        timeout: float,
        secrets: tuple[str, ...],
        session: requests.Session | None = None,
    ) -> None:
        """`app_id` tells apps apart in the token cache (never a secret: it is hashed into a
        Redis key)."""
        self.base = base_url.rstrip("/")
        self._cache = token_cache
        self.token_cache_key = f"{self.name}:token:" + sha256(app_id.encode()).hexdigest()[:32]
        self.first_query_delay = first_query_delay
        self.timeout = timeout
        self._secrets = tuple(secret for secret in secrets if secret)
        self._http = session or pooled_session()
        self._token_lock = threading.Lock()

    def fetch_token(self) -> tuple[str, int]:
        raise NotImplementedError

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON answer of an authorized call; refreshes the token once when it is refused."""
        token = self.token()
        status, answer = self.send(method, path, body, token)
        if status in REFUSED_TOKEN:
            log.info("%s refused the cached token; fetching a new one", self.provider)
            status, answer = self.send(method, path, body, self.token(stale=token))
        if status in REFUSED_TOKEN:
            raise GatewayError(f"{self.provider} refused a freshly issued token")
        if not 200 <= status < 300:
            refused = self.error(status, answer)
            refused.outcome_unknown = status >= 500  # it may have acted all the same
            raise refused
        return answer

    def send(
        self, method: str, path: str, body: dict[str, Any] | None, token: str
    ) -> tuple[int, Any]:
        return self.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"{self.auth_scheme} {token}"},
        )

    def error(self, status: int, answer: Any) -> GatewayError:
        """The provider's refusal in its own words ({message, code} and the like)."""
        found = answer if isinstance(answer, dict) else {}
        words = next(
            (
                str(found[key])
                for key in ("message", "detail", "title", "error", "non_field_errors")
                if found.get(key)
            ),
            "no reason given",
        )
        code = found.get("error_code") or found.get("code")
        return GatewayError(
            self.scrub(f"{self.provider} refused the request: {words} (HTTP {status})"),
            error_code=str(code) if code else None,
            raw=self.scrub_raw(found) if found else self.scrub(str(answer)[:500]),
        )

    def token(self, stale: str | None = None) -> str:
        cached = self._cache.get(self.token_cache_key)
        if cached and cached != stale:
            return cached
        with self._token_lock:
            cached = self._cache.get(self.token_cache_key)
            if cached and cached != stale:
                return cached
            token, expires_in = self.fetch_token()
            ttl = max(expires_in - TOKEN_EXPIRY_MARGIN, min(expires_in, 1))
            self._cache.set(self.token_cache_key, token, ttl)
            return token

    def request(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or the text); no answer at all is a GatewayError."""
        try:
            response = self._http.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            if never_sent(exc):
                raise GatewayError(f"{self.provider} could not be reached") from exc
            timeout = isinstance(exc, requests.Timeout)
            reason = "did not answer in time" if timeout else "dropped the connection"
            raise GatewayError(f"{self.provider} {reason}", outcome_unknown=True) from exc
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:500]

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def scrub_raw(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {key: self.scrub(v) if isinstance(v, str) else v for key, v in raw.items()}
