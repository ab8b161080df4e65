"""Passwords an attacker on open WiFi cannot search for, a fresh one with every purchase, and an
account's credentials only for its own devices (issue 11, item 8)."""

from __future__ import annotations

from typing import Any

import pytest
from pyrad import packet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import PASSWORD_LENGTH
from hotspot.models import HotspotUser, RadiusSession, SessionStatus
from tests.support.harness import ApiUnderTest
from tests.support.payments import credentials, package_id, pay, random_phone, wait_for_status
from tests.support.radius import pyrad_login
from tests.support.stack import StackUnderTest

OWNERS_MAC = "0A:1B:2C:3D:4E:5F"
ATTACKERS_MAC = "66:77:88:99:AA:BB"


def buy(
    api: ApiUnderTest, committed: sessionmaker[Session], phone: str, mac: str | None
) -> dict[str, Any]:
    created: dict[str, Any] = pay(
        api, phone, package_id(committed, "1 Hour"), **({"mac": mac} if mac else {})
    ).json()
    assert wait_for_status(api, created, "paid")["status"] == "paid"
    return created


@pytest.fixture
def owner(api: ApiUnderTest, committed: sessionmaker[Session]) -> dict[str, Any]:
    """A customer who bought on their phone and has been online with it."""
    phone = random_phone()
    created = buy(api, committed, phone, OWNERS_MAC)
    got = credentials(api, created, created["portal_token"]).json()
    with committed.begin() as session:
        user_id = session.scalars(
            select(HotspotUser.id).where(HotspotUser.username == got["username"])
        ).one()
        # What the accounting sync leaves once the router reported the phone online.
        session.add(
            RadiusSession(user_id=user_id, status=SessionStatus.CLOSED, mac=OWNERS_MAC.lower())
        )
    return {"phone": phone, **got}


def test_a_purchased_password_is_long_enough_for_open_wifi(owner: dict[str, Any]) -> None:
    assert len(owner["password"]) == PASSWORD_LENGTH >= 16


def test_each_purchase_brings_a_new_password_and_the_old_one_stops(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session], owner: Any
) -> None:
    renewal = buy(api, committed, owner["phone"], OWNERS_MAC)
    renewed = credentials(api, renewal, renewal["portal_token"])
    assert renewed.status_code == 200, renewed.text
    new = renewed.json()
    assert new["username"] == owner["username"]
    assert new["password"] != owner["password"]
    assert pyrad_login(stack, owner["username"], owner["password"]).code == packet.AccessReject
    assert pyrad_login(stack, new["username"], new["password"]).code == packet.AccessAccept


@pytest.mark.parametrize("mac", [ATTACKERS_MAC, None], ids=["another device", "no device"])
def test_paying_for_someone_elses_phone_does_not_hand_over_their_account(
    api: ApiUnderTest,
    stack: StackUnderTest,
    committed: sessionmaker[Session],
    owner: dict[str, Any],
    mac: str | None,
) -> None:
    attack = buy(api, committed, owner["phone"], mac)  # the owner approves the prompt
    refused = credentials(api, attack, attack["portal_token"])
    assert refused.status_code == 403
    assert "sent by SMS" in refused.json()["error"]
    assert owner["password"] not in refused.text
    # The owner's old password stopped too: the attacker cannot have sniffed the new one.
    assert pyrad_login(stack, owner["username"], owner["password"]).code == packet.AccessReject
