"""A payment is the business of the browser that started it: nobody else can read it, its
status stream or its credentials, by guessing ids or tokens (issue 11, item 1)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from hotspot.web.streams import PER_PAYMENT
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest
from tests.support.payments import (
    package_id,
    pay,
    random_phone,
    receipt,
    success_callback,
    wait_for_status,
)

READ_PATHS = ("", "/events", "/credentials")


@pytest.fixture
def paid(api: ApiUnderTest, committed: sessionmaker[Session]) -> dict[str, Any]:
    created: dict[str, Any] = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    assert wait_for_status(api, created, "paid")["status"] == "paid"
    return created


@pytest.mark.parametrize("path", READ_PATHS)
def test_walking_payment_ids_without_a_token_reveals_nothing(
    api: ApiUnderTest, paid: dict[str, Any], path: str
) -> None:
    for payment_id in range(1, paid["id"] + 1):
        response = requests.get(f"{api.url}/api/payments/{payment_id}{path}", timeout=5)
        assert response.status_code == 403, response.text
        assert response.json() == {"error": "wrong or missing portal token"}


@pytest.mark.parametrize("path", READ_PATHS)
def test_another_payments_token_and_an_unknown_id_get_the_same_403(
    api: ApiUnderTest, committed: sessionmaker[Session], paid: dict[str, Any], path: str
) -> None:
    other = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    theirs = requests.get(
        f"{api.url}/api/payments/{paid['id']}{path}",
        headers={"X-Portal-Token": other["portal_token"]},
        timeout=5,
    )
    unknown = requests.get(
        f"{api.url}/api/payments/{paid['id'] + 10**9}{path}",
        params={"token": other["portal_token"]},
        timeout=5,
    )
    assert (theirs.status_code, theirs.json()) == (unknown.status_code, unknown.json())
    assert theirs.status_code == 403


def test_the_owner_sees_its_payment_but_not_the_payers_identifiers(
    api: ApiUnderTest, paid: dict[str, Any]
) -> None:
    shown = requests.get(
        f"{api.url}/api/payments/{paid['id']}",
        headers={"X-Portal-Token": paid["portal_token"]},
        timeout=5,
    ).json()
    assert shown["status"] == "paid"
    assert "phone" not in shown
    assert "checkout_request_id" not in shown


def test_the_status_stream_takes_the_token_as_a_query_parameter(
    api: ApiUnderTest, paid: dict[str, Any]
) -> None:
    with requests.get(
        f"{api.url}/api/payments/{paid['id']}/events",
        params={"token": paid["portal_token"]},
        timeout=10,
    ) as stream:
        assert stream.status_code == 200
        assert '"status": "paid"' in stream.text


def test_one_payment_cannot_hold_every_api_thread_with_streams(
    api: ApiUnderTest, committed: sessionmaker[Session], mpesa: MpesaSandboxUnderTest
) -> None:
    """Each stream holds a thread for minutes: a payment left pending gets a few, not all."""
    phone = random_phone()
    mpesa.next_outcome("no_callback", phone="+254" + phone[1:])
    pending = pay(api, phone, package_id(committed, "1 Hour")).json()
    url = f"{api.url}/api/payments/{pending['id']}/events"
    token = {"token": pending["portal_token"]}
    opened = [requests.get(url, params=token, stream=True, timeout=10) for _ in range(PER_PAYMENT)]
    try:
        assert [s.status_code for s in opened] == [200] * PER_PAYMENT
        refused = requests.get(url, params=token, timeout=10)
        assert refused.status_code == 429
        # Paid: the streams end, and their slots come back.
        body = success_callback(pending["checkout_request_id"], pending["amount"], receipt())
        assert requests.post(api.callback_url, json=body, timeout=10).status_code == 200
        assert all('"paid"' in stream.text for stream in opened)
        again = requests.get(url, params=token, timeout=10)
        assert again.status_code == 200
    finally:
        for stream in opened:
            stream.close()
