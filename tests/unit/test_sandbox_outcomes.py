"""The ioTec and CamPay stand-ins keep to what each provider does: CamPay never reverses a
payment, ioTec's pending test number stays pending, an externalId is taken once."""

from __future__ import annotations

import time
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from hotspot.dev.sandbox.mobile_money.campay import CampaySandboxConfig, create_campay_sandbox_app
from hotspot.dev.sandbox.mobile_money.iotec import IotecSandboxConfig, create_iotec_sandbox_app

NOWHERE = "http://127.0.0.1:9/hook"  # webhooks go nowhere: only the state is looked at


def json_of(response: TestResponse) -> dict[str, Any]:
    found = response.get_json()
    assert isinstance(found, dict)
    return found


def campay() -> FlaskClient:
    app = create_campay_sandbox_app(
        CampaySandboxConfig("user", "pass", "key", NOWHERE, callback_delay=0.05)
    )
    return app.test_client()


def iotec() -> FlaskClient:
    config = IotecSandboxConfig("id", "secret", "wallet", "ipn", NOWHERE, callback_delay=0.05)
    return create_iotec_sandbox_app(config).test_client()


def test_campay_has_no_reversal_to_ask_for() -> None:
    client = campay()
    refused = client.post("/sandbox/next-outcome", json={"outcome": "rolled_back"})
    assert refused.status_code == 400
    assert (
        client.post("/sandbox/config", json={"default_outcome": "rolled_back"}).status_code == 400
    )


def test_a_campay_number_ending_in_iotecs_reversal_suffix_is_simply_paid() -> None:
    client = campay()
    token = json_of(client.post("/api/token/", json={"username": "user", "password": "pass"}))
    auth = {"Authorization": f"Token {token['token']}"}
    body = {"amount": "100", "currency": "XAF", "from": "237677120005", "description": "x",
            "external_reference": "ref-1"}  # fmt: skip
    reference = json_of(client.post("/api/collect/", json=body, headers=auth))["reference"]
    time.sleep(0.3)  # past the time a reversal would come
    status = json_of(client.get(f"/api/transaction/{reference}/", headers=auth))
    assert status["status"] == "SUCCESSFUL"


def iotec_collect(client: FlaskClient, payer: str, external_id: str) -> tuple[int, dict[str, str]]:
    form = {"client_id": "id", "client_secret": "secret", "grant_type": "client_credentials"}
    token = json_of(client.post("/connect/token", data=form))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {"category": "MobileMoney", "currency": "UGX", "walletId": "wallet", "amount": 500,
            "payer": payer, "externalId": external_id}  # fmt: skip
    answer = client.post("/api/collections/collect", json=body, headers=auth)
    return answer.status_code, {**json_of(answer), "auth": auth["Authorization"]}


def test_iotecs_pending_test_number_stays_pending() -> None:
    client = iotec()
    code, tx = iotec_collect(client, "0111777781", "ext-1")
    assert code == 200
    time.sleep(0.2)
    status = json_of(client.get(f"/api/collections/status/{tx['id']}",
                                headers={"Authorization": tx["auth"]}))  # fmt: skip
    assert status["status"] == "Pending"


def test_an_iotec_external_id_is_taken_once() -> None:
    client = iotec()
    assert iotec_collect(client, "0772123456", "ext-2")[0] == 200
    code, refused = iotec_collect(client, "0772123456", "ext-2")
    assert (code, refused["message"]) == (400, "Duplicate externalId")
