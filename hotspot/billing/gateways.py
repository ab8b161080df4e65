"""What billing needs from a mobile-money provider, whichever it is: the one interface M-Pesa,
ioTec and CamPay stand behind (`hotspot/adapters/{mpesa_collections,iotec,campay}.py`).

The payment flow, reconciliation, the portal and the admin API see only `CollectionGateway`,
chosen by name for an operator (`Services.gateway_for`). Which gateways an operator offers is
`offered`; what a failure means to a customer is `failure_kind`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from hotspot.adapters import campay, iotec, mpesa_collections
from hotspot.adapters.collections import (
    CollectionRequest,
    CollectionStarted,
    Verdict,
    WebhookReport,
)
from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import KNOWN_GATEWAYS
from hotspot.models import Operator

MPESA, IOTEC, CAMPAY = KNOWN_GATEWAYS
GATEWAYS = KNOWN_GATEWAYS
LABELS = {MPESA: "M-Pesa", IOTEC: "ioTec", CAMPAY: "CamPay"}
NATIONALITIES = {"254": "Kenyan", "256": "Ugandan", "237": "Cameroonian"}
# Why a payment failed, as a word the portal branches on, from each provider's own codes.
FAILURE_KINDS: dict[str, dict[str, str]] = {
    MPESA: mpesa_collections.FAILURE_KINDS,
    IOTEC: iotec.FAILURE_KINDS,
    CAMPAY: campay.FAILURE_KINDS,
}


class CollectionGateway(Protocol):
    """A provider that prompts a payer's phone and says where the collection stands."""

    @property
    def name(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def region(self) -> str: ...  # ISO 3166 region its payers' numbers belong to
    @property
    def country_code(self) -> str: ...
    @property
    def min_amount(self) -> int: ...
    @property
    def max_amount(self) -> int: ...
    @property
    def first_query_delay(self) -> int: ...  # seconds before a silent collection is asked about

    def collect(self, request: CollectionRequest) -> CollectionStarted: ...

    def status(self, reference: str) -> Verdict: ...

    def find(self, external_id: str) -> Verdict | None:
        """Where a collection stands by our own reference, for one whose start timed out before
        the gateway's reference came back; None where the gateway cannot be asked that way."""
        ...

    def parse_webhook(self, query: Mapping[str, str], body: bytes) -> WebhookReport:
        """What a webhook names and claims, unverified; InvalidInputError when unreadable."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], report: WebhookReport) -> None:
        """WebhookRejectedError unless it carries this app's proof (header, signature)."""
        ...


GatewayFor = Callable[[int | None, str], CollectionGateway]


def offered(operator: Operator | None, installation: Sequence[str]) -> tuple[str, ...]:
    """The gateways an operator's portal offers, in its order: its own choice, else the
    installation's."""
    return (
        tuple(operator.gateways)
        if operator is not None and operator.gateways
        else tuple(installation)
    )


def chosen(asked: object, offers: Sequence[str]) -> str:
    """The gateway a customer asked for (the first offered when none was named)."""
    if asked is None or asked == "":
        return offers[0]
    if not isinstance(asked, str) or asked not in offers:
        raise InvalidInputError(f"gateway must be one of {', '.join(offers)}")
    return asked


def label(name: str) -> str:
    return LABELS.get(name, name)


def needs_number_of(gateway: CollectionGateway) -> str:
    """Why a number of another country is refused ("M-Pesa needs a Kenyan number (+254…)")."""
    country = NATIONALITIES.get(gateway.country_code, "local")
    return f"{label(gateway.name)} needs a {country} number (+{gateway.country_code}…)"


def failure_kind(gateway: str, code: str | None) -> str:
    return FAILURE_KINDS.get(gateway, {}).get(code or "", "other")
