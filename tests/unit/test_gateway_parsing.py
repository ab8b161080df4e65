"""What ioTec and CamPay send, read into our words: statuses, amounts, webhooks and CamPay's
signature. The wire itself (tokens, collect, status) is tested through the sandboxes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest

from hotspot.adapters import campay, iotec
from hotspot.adapters.collections import Outcome, WebhookRejectedError, money
from hotspot.billing.settlement import external_id, payment_id_in
from hotspot.core.errors import InvalidInputError
from hotspot.models import Payment

KEY = "the-app-webhook-key"


def jwt(header: dict[str, object], claims: dict[str, object], key: str = KEY) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signed = f"{part(header)}.{part(claims)}"
    mac = hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def campay_signature(**claims: object) -> str:
    return jwt({"alg": "HS256", "app": "hotspot", "typ": "JWT"},
               {"iat": int(time.time()), "source": "CamPay", **claims})  # fmt: skip


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("Pending", Outcome.PENDING),
        ("SentToVendor", Outcome.PENDING),
        ("AwaitingApproval", Outcome.PENDING),
        ("Scheduled", Outcome.PENDING),
        ("Success", Outcome.PAID),
        ("Failed", Outcome.FAILED),
        ("Rejected", Outcome.FAILED),
        ("RolledBack", Outcome.FAILED),
        ("Cancelled", Outcome.FAILED),
        ("SomethingNew", Outcome.PENDING),  # unknown: never paid, never failed on a guess
    ],
)
def test_every_iotec_status_has_one_meaning(status: str, outcome: Outcome) -> None:
    found = iotec.verdict(
        {"status": status, "amount": 500, "currency": "UGX", "externalId": "hs-1"}
    )
    assert found.outcome is outcome
    assert found.code == status
    assert found.external_id == "hs-1"
    assert found.amount == Decimal(500)


def test_an_iotec_failure_says_why_in_words() -> None:
    found = iotec.verdict({"status": "Failed", "statusMessage": "Payer declined"})
    assert found.message.startswith("The mobile money payment failed")
    assert "Payer declined" in found.message


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("PENDING", Outcome.PENDING), ("SUCCESSFUL", Outcome.PAID), ("FAILED", Outcome.FAILED)],
)
def test_every_campay_status_has_one_meaning(status: str, outcome: Outcome) -> None:
    assert campay.verdict({"status": status}).outcome is outcome


def test_campay_absent_values_are_the_string_none_and_amounts_may_be_text() -> None:
    found = campay.verdict(
        {"status": "SUCCESSFUL", "amount": "25.00", "code": "None", "external_reference": "None"}
    )
    assert found.amount == Decimal(25)
    assert found.receipt is None
    assert found.external_id is None
    assert money(25) == money("25.00") == Decimal(25)
    assert money("None") is None
    assert money(True) is None


def client() -> campay.CampayClient:
    config = campay.CampayConfig("http://127.0.0.1:9/api", "user", "pass", KEY)
    return campay.CampayClient(config, token_cache=None, first_query_delay=5)  # type: ignore[arg-type]


def test_a_campay_webhook_reads_from_a_query_string_or_a_json_body() -> None:
    fields = {"reference": "r-1", "status": "SUCCESSFUL", "external_reference": "hs-7"}
    by_get = client().parse_webhook(fields, b"")
    by_post = client().parse_webhook({}, json.dumps(fields).encode())
    by_form = client().parse_webhook({}, b"reference=r-1&status=SUCCESSFUL&external_reference=hs-7")
    for report in (by_get, by_post, by_form):
        assert (report.reference, report.external_id, report.claimed) == (
            "r-1",
            "hs-7",
            Outcome.PAID,
        )


def test_a_campay_webhook_naming_nothing_is_unreadable() -> None:
    with pytest.raises(InvalidInputError):
        client().parse_webhook({"status": "SUCCESSFUL", "reference": "None"}, b"")


def test_campay_signature_of_the_app_passes() -> None:
    campay.check_signature(campay_signature(), KEY, 900)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: "", id="missing"),
        pytest.param(lambda: "not.a.jwt.at-all", id="not-a-jwt"),
        pytest.param(
            lambda: jwt({"alg": "HS256"}, {"iat": int(time.time())}, "wrong"), id="wrong-key"
        ),
        pytest.param(lambda: campay_signature().rsplit(".", 1)[0] + ".", id="no-signature-part"),
        pytest.param(
            lambda: jwt({"alg": "none"}, {"iat": int(time.time())}).rsplit(".", 1)[0] + ".",
            id="alg-none",
        ),
        pytest.param(lambda: jwt({"alg": "HS512"}, {"iat": int(time.time())}), id="another-alg"),
        pytest.param(
            lambda: jwt({"alg": "RS256"}, {"iat": int(time.time())}), id="rs-hs-confusion"
        ),
        pytest.param(lambda: campay_signature(iat=int(time.time()) - 3600), id="stale-iat"),
        pytest.param(lambda: campay_signature(iat=int(time.time()) + 3600), id="future-iat"),
        pytest.param(lambda: campay_signature(iat="yesterday"), id="iat-not-a-number"),
        pytest.param(lambda: jwt({"alg": "HS256"}, {"source": "CamPay"}), id="no-iat"),
    ],
)
def test_a_forged_or_stale_campay_signature_is_refused(forged: object) -> None:
    with pytest.raises(WebhookRejectedError):
        campay.check_signature(forged(), KEY, 900)  # type: ignore[operator]


def test_an_iotec_callback_without_the_wallets_header_is_refused() -> None:
    config = iotec.IotecConfig("http://127.0.0.1:9", "http://127.0.0.1:9/t", "id", "secret",
                               "wallet", ipn_secret="the-ipn-secret")  # fmt: skip
    gateway = iotec.IotecClient(config, None, 5)  # type: ignore[arg-type]
    report = gateway.parse_webhook({}, json.dumps({"id": "t-1", "status": "Success"}).encode())
    gateway.verify_webhook({"x-iotec-ipn-secret": "the-ipn-secret"}, report)  # any case
    for headers in ({}, {"X-Iotec-Ipn-Secret": "guess"}, {"Authorization": "the-ipn-secret"}):
        with pytest.raises(WebhookRejectedError):
            gateway.verify_webhook(headers, report)
    with pytest.raises(InvalidInputError):
        gateway.parse_webhook({}, b"[1, 2]")


@pytest.mark.parametrize("payment_id", [1, 42, 2**40])
def test_our_external_id_is_a_uuid4_naming_the_payment(payment_id: int) -> None:
    ours = external_id(Payment(id=payment_id))
    assert uuid.UUID(ours).version == 4
    assert payment_id_in(ours) == payment_id


@pytest.mark.parametrize(
    "other", [None, "", "42", "hs-42", str(uuid.uuid4()), "48530000-0000-4000-8000-00000000002G"]
)
def test_an_external_id_not_of_ours_names_no_payment(other: str | None) -> None:
    assert payment_id_in(other) is None
