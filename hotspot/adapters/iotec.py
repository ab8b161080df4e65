"""ioTec Pay (Uganda) collections: OAuth client-credentials token, collect, status, and the IPN.

The IPN carries no signature, only a static header set per wallet in ioTec's portal: it is
checked, then used only as a trigger to ask the status endpoint (docs/gateways.md)."""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    header,
    money,
    present,
)
from hotspot.adapters.daraja_tokens import TokenCache
from hotspot.core.errors import InvalidInputError

log = logging.getLogger(__name__)

COLLECT_PATH = "/api/collections/collect"
STATUS_PATH = "/api/collections/status/"
EXTERNAL_ID_PATH = "/api/collections/external-id/"
PENDING = frozenset({"Pending", "SentToVendor", "AwaitingApproval", "Scheduled"})
PAID = "Success"
FAILED = frozenset({"Failed", "Rejected", "RolledBack", "Cancelled"})
MESSAGES = {
    "Failed": "The mobile money payment failed or was not approved in time.",
    "Rejected": "The mobile money payment was declined.",
    "Cancelled": "The mobile money payment was cancelled.",
    "RolledBack": "The mobile money payment was reversed.",
}
FAILURE_KINDS = {"Cancelled": "cancelled", "Rejected": "cancelled"}


@dataclass(frozen=True)
class IotecConfig:
    base_url: str  # https://pay.iotec.io
    token_url: str  # https://id.iotec.io/connect/token
    client_id: str
    client_secret: str
    wallet_id: str
    currency: str = "UGX"  # ITX with ioTec's sandbox wallet
    ipn_header: str = "X-Iotec-Ipn-Secret"
    ipn_secret: str = ""
    timeout: float = 10.0

    def __repr__(self) -> str:
        return f"IotecConfig(base_url={self.base_url!r}, client_id={self.client_id!r})"


class IotecClient(JsonApi):
    """One per wallet and process; tokens are shared through the cache (Redis)."""

    provider = "ioTec"
    name = "iotec"
    currency = "UGX"  # what is priced and paid; the wire may say ITX (ioTec's sandbox wallet)
    region = "UG"
    country_code = "256"
    min_amount, max_amount = 500, 5_000_000

    def __init__(
        self,
        config: IotecConfig,
        token_cache: TokenCache,
        first_query_delay: int,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            config.base_url,
            token_cache,
            app_id=f"{config.token_url}\0{config.client_id}",
            first_query_delay=first_query_delay,
            timeout=config.timeout,
            secrets=(config.client_secret, config.ipn_secret),
            session=session,
        )
        self.config = config

    def fetch_token(self) -> tuple[str, int]:
        cfg = self.config
        status, answer = self.request(
            "POST",
            cfg.token_url,
            data={
                "client_id": cfg.client_id,
                "client_secret": cfg.client_secret,
                "grant_type": "client_credentials",
            },
        )
        found = answer if isinstance(answer, dict) else {}
        token, expires_in = found.get("access_token"), found.get("expires_in")
        if status != 200 or not isinstance(token, str) or not isinstance(expires_in, int):
            raise GatewayError(
                f"ioTec refused our API credentials (HTTP {status}, {found.get('error')})",
                raw=self.scrub_raw({k: v for k, v in found.items() if k != "access_token"}),
            )
        return token, expires_in

    def collect(self, request: CollectionRequest) -> CollectionStarted:
        body = {
            "category": "MobileMoney",
            "currency": self.config.currency,
            "walletId": self.config.wallet_id,
            "externalId": request.external_id,
            "payer": request.phone.lstrip("+"),
            "amount": request.amount,
            "payerNote": request.description,
            "payeeNote": request.external_id,
            "channel": None,
            "transactionChargesCategory": "ChargeWallet",
        }
        answer = self.call("POST", COLLECT_PATH, body)
        reference = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(reference, str) or not reference:
            raise GatewayError("ioTec accepted the request but sent no transaction id", raw=answer)
        return CollectionStarted(
            reference, None, str(answer.get("statusMessage") or ""), body, answer
        )

    def status(self, reference: str) -> Verdict:
        return self.read(self.call("GET", STATUS_PATH + reference))

    def find(self, external_id: str) -> Verdict | None:
        return self.read(self.call("GET", EXTERNAL_ID_PATH + external_id))

    def read(self, answer: Any) -> Verdict:
        if isinstance(answer, list):  # an integration guards against a list here: take one
            answer = answer[0] if answer else {}
        if not isinstance(answer, dict):
            raise GatewayError("ioTec sent a status we cannot read", raw=str(answer)[:500])
        found = verdict(answer)
        if found.currency == self.config.currency:  # the wallet's own: what it is priced in
            return dataclasses.replace(found, currency=self.currency)
        return found

    def parse_webhook(self, query: Mapping[str, str], body: bytes) -> WebhookReport:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError("body is not JSON") from None
        if not isinstance(data, dict) or not (data.get("id") or data.get("externalId")):
            raise InvalidInputError("an ioTec callback names its transaction (id, externalId)")
        return WebhookReport(
            reference=present(data.get("id")),
            external_id=present(data.get("externalId")),
            claimed=verdict(data).outcome,
            raw=data,
        )

    def verify_webhook(self, headers: Mapping[str, str], report: WebhookReport) -> None:
        """The wallet's security header, compared in constant time."""
        given = header(headers, self.config.ipn_header) or ""
        if not self.config.ipn_secret or not hmac.compare_digest(
            given.encode(), self.config.ipn_secret.encode()
        ):
            raise WebhookRejectedError(f"missing or wrong {self.config.ipn_header} header")


def verdict(data: dict[str, Any]) -> Verdict:
    """A transaction object as a verdict; a status we do not know stays pending (and is logged)."""
    status = str(data.get("status") or "")
    amount, currency = money(data.get("amount")), present(data.get("currency"))
    receipt = present(data.get("vendorTransactionId"))
    external_id = present(data.get("externalId"))
    found: dict[str, Any] = {
        "raw": data,
        "external_id": external_id,
        "reference": present(data.get("id")),
    }
    if status == PAID:
        return Verdict(Outcome.PAID, status, "", amount, currency, receipt, **found)
    if status in FAILED:
        message = MESSAGES[status]
        detail = present(data.get("statusMessage"))
        words = f"{message} {detail or ''}".strip()
        return Verdict(Outcome.FAILED, status, words, amount, currency, receipt, **found)
    if status not in PENDING:
        log.warning("ioTec status %r is not one we know; taken as pending", status)
    return Verdict(Outcome.PENDING, status or None, "", amount, currency, None, **found)
