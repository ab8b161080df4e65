"""M-Pesa Express (STK push) as a collection gateway: the Daraja client in the words every
gateway speaks. Its callbacks keep their own route and one-call settlement
(`billing.callbacks`); their verdict reads through `verdict_of` like a query's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotspot.adapters.collections import (
    CollectionRequest,
    CollectionStarted,
    Outcome,
    Verdict,
    WebhookReport,
)
from hotspot.adapters.daraja import MAX_AMOUNT, MIN_AMOUNT, DarajaClient, DarajaConfig
from hotspot.adapters.daraja import result_message as mpesa_message

ACCOUNT_REFERENCE = "HOTSPOT"
# M-Pesa's ResultCodes for the reasons customers can act on (`billing.gateways.failure_kind`).
FAILURE_KINDS = {
    "1032": "cancelled",
    "1037": "unreachable",
    "2001": "wrong_pin",
    "1": "insufficient_funds",
    "1019": "expired",
}


def verdict_of(
    result_code: str, result_desc: str = "", raw: dict[str, Any] | None = None
) -> Verdict:
    """A ResultCode (callback or query) as a verdict: 0 is paid, anything else failed."""
    if result_code == "0":
        return Verdict(Outcome.PAID, result_code, result_desc, raw=raw)
    return Verdict(Outcome.FAILED, result_code, mpesa_message(result_code), raw=raw)


class MpesaCollections:
    name = "mpesa"
    currency = "KES"
    region = "KE"
    country_code = "254"
    min_amount, max_amount = MIN_AMOUNT, MAX_AMOUNT

    def __init__(self, client: DarajaClient, first_query_delay: int) -> None:
        self.client = client
        self.first_query_delay = first_query_delay

    @property
    def config(self) -> DarajaConfig:
        return self.client.config

    def collect(self, request: CollectionRequest) -> CollectionStarted:
        accepted = self.client.stk_push(
            phone=request.phone.lstrip("+"),
            amount=request.amount,
            account_reference=ACCOUNT_REFERENCE,
            description=request.description,
            callback_url=request.callback_url,
        )
        return CollectionStarted(
            reference=accepted.checkout_request_id,
            secondary_reference=accepted.merchant_request_id,
            customer_message=accepted.customer_message,
            request=accepted.request,
            raw=accepted.raw,
        )

    def status(self, reference: str) -> Verdict:
        result = self.client.stk_query(reference)
        if result.pending or result.result_code is None:
            return Verdict(Outcome.PENDING, None, "", raw=result.raw)
        return verdict_of(result.result_code, result.result_desc or "", result.raw)

    def find(self, external_id: str) -> Verdict | None:
        return None  # an STK push that did not start is failed, never in doubt

    def parse_webhook(self, query: Mapping[str, str], body: bytes) -> WebhookReport:
        raise NotImplementedError("M-Pesa calls back on /api/callbacks/stk/<token>")

    def verify_webhook(self, headers: Mapping[str, str], report: WebhookReport) -> None:
        raise NotImplementedError("M-Pesa calls back on /api/callbacks/stk/<token>")
