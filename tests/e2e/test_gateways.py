"""ioTec (Uganda) and CamPay (Cameroon) end to end, through their local sandboxes over HTTP: an
operator offering each, a payment from the API to the webhook, the status query that settles it,
and a login at the operator's own router through the stack's FreeRADIUS. Then what may go wrong:
duplicate, early, forged and replayed webhooks, a poll racing a webhook, a wrong amount, and a
gateway that is down or slow.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
from playwright.sync_api import Page
from pyrad import packet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.collections import JsonApi
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import external_id, reconcile
from hotspot.billing.webhooks import Webhook, handle_webhook
from hotspot.models import HotspotCredential, Nas, Operator, Package, Payment, PaymentEvent
from hotspot.web.app import create_app
from radius.nas_sim import NasSimulator
from radius.nas_sim_http import HttpNas, HttpNasServer
from tests.support.factories import make_nas, make_operator, make_package
from tests.support.gateways import GatewaySandbox, campay_sandbox, iotec_sandbox, signed
from tests.support.harness import ApiUnderTest, ServerThread
from tests.support.payments import wait_for_status
from tests.support.portal import enter_portal, expect, login_count, screenshot, wait_for_success
from tests.support.radius import answer_from, unique_loopback_address
from tests.support.stack import StackUnderTest

DELAY = 0.3  # the payer approving on the phone


@dataclass
class Shop:
    """An operator offering one gateway: its package, and its router FreeRADIUS knows."""

    gateway: str
    sandbox: GatewaySandbox
    package_id: int
    nas_address: str
    nas_secret: str

    def phone(self, suffix: str = "") -> str:
        """A fresh number of the gateway's country as a customer types it (07… in Uganda,
        6… in Cameroon); the sandboxes pick outcomes by the last four digits."""
        digits = f"{secrets.randbelow(10**7):07d}"
        while not suffix and digits[-4:].startswith("000"):
            digits = f"{secrets.randbelow(10**7):07d}"
        digits = digits[: 7 - len(suffix)] + suffix
        return f"077{digits}" if self.gateway == "iotec" else f"67{digits}"


@dataclass
class World:
    api: ApiUnderTest
    shops: dict[str, Shop]


@pytest.fixture(scope="module")
def world(stack: StackUnderTest, worker: object) -> Iterator[World]:
    """The API, bound first so the sandboxes know where to call back; the sandboxes on the ports
    the settings name, where the API and the worker (its status queries) find them."""
    server = ServerThread(None)
    iotec = iotec_sandbox(stack.settings, f"{server.url}/api/callbacks/iotec", DELAY)
    campay = campay_sandbox(stack.settings, f"{server.url}/api/callbacks/campay", DELAY)
    settings = stack.settings.with_changes(
        public_base_url=server.url,
        payment_query_first_delay=1,
        iotec_timeout=1.0,
        campay_timeout=1.0,
    )
    app = create_app(settings)
    server.server.app = app
    shops = {}
    with stack.sessions.begin() as session:
        for sandbox, currency, region, price in ((iotec, "UGX", "UG", 1000),
                                                 (campay, "XAF", "CM", 100)):  # fmt: skip
            operator = make_operator(session, currency=currency, phone_region=region,
                                     gateways=[sandbox.name])  # fmt: skip
            package = make_package(session, operator=operator, price=Decimal(price))
            address, secret = unique_loopback_address(), secrets.token_urlsafe(18)
            make_nas(session, address=address, secret=secret, operator_id=operator.id)
            shops[sandbox.name] = Shop(sandbox.name, sandbox, package.id, address, secret)
    yield World(ApiUnderTest(server.url, app.extensions["hotspot"]), shops)
    server.stop()
    app.extensions["hotspot"].close()
    for sandbox in (iotec, campay):
        sandbox.close()


GATEWAYS = pytest.mark.parametrize("gateway", ["iotec", "campay"])


def start(world: World, gateway: str, phone: str) -> dict[str, Any]:
    shop = world.shops[gateway]
    response = requests.post(f"{world.api.url}/api/payments", timeout=10,
                             json={"package_id": shop.package_id, "phone": phone})  # fmt: skip
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ours(payment_id: int) -> str:
    """Our external id of a payment, as the gateway echoes it."""
    return external_id(Payment(id=payment_id))


def events(committed: sessionmaker[Session], payment_id: int) -> list[str]:
    with committed() as session:
        return list(
            session.scalars(
                select(PaymentEvent.kind)
                .where(PaymentEvent.payment_id == payment_id)
                .order_by(PaymentEvent.id)
            )
        )


def provisioned(committed: sessionmaker[Session], payment_id: int) -> int:
    with committed() as session:
        return (
            session.scalar(select(func.count()).where(HotspotCredential.payment_id == payment_id))
            or 0
        )


def credentials_of(world: World, created: dict[str, Any]) -> dict[str, Any]:
    response = requests.get(
        f"{world.api.url}/api/payments/{created['id']}/credentials",
        headers={"X-Portal-Token": created["portal_token"]},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# --- paid, end to end ---------------------------------------------------------------------------


@GATEWAYS
def test_a_payment_goes_from_the_prompt_to_a_login_at_the_operators_router(
    world: World, stack: StackUnderTest, committed: sessionmaker[Session], gateway: str
) -> None:
    shop = world.shops[gateway]
    created = start(world, gateway, shop.phone())
    assert created["status"] == "pending"
    assert created["gateway"] == gateway
    assert created["currency"] == ("UGX" if gateway == "iotec" else "XAF")
    assert created["amount"] == ("1000" if gateway == "iotec" else "100")  # no cents
    assert created["phone"].startswith("+256" if gateway == "iotec" else "+237")
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    login = credentials_of(world, created)
    accepted = answer_from(stack, shop.nas_address, shop.nas_secret,
                           login["username"], login["password"])  # fmt: skip
    assert accepted is not None
    assert accepted.code == packet.AccessAccept
    kinds = events(committed, created["id"])
    assert kinds[:2] == ["initiated", "stk_push"]
    assert "webhook" in kinds
    assert kinds.count("provisioned") == 1


@GATEWAYS
def test_a_number_of_another_country_is_refused_with_the_reason(world: World, gateway: str) -> None:
    shop = world.shops[gateway]
    asked: dict[str, Any] = {"package_id": shop.package_id, "phone": "+254712345678"}
    response = requests.post(f"{world.api.url}/api/payments", json=asked, timeout=10)
    assert response.status_code == 422
    country = "Ugandan" if gateway == "iotec" else "Cameroonian"
    assert country in response.json()["error"]


def test_a_declined_payment_fails_with_the_gateways_words(
    world: World, committed: sessionmaker[Session]
) -> None:
    shop = world.shops["iotec"]
    created = start(world, "iotec", shop.phone("0006"))
    shown = wait_for_status(world.api, created, "failed")
    assert shown["status"] == "failed"
    assert "mobile money payment failed" in shown["failure_reason"]
    assert provisioned(committed, created["id"]) == 0


# --- webhooks that prove nothing -----------------------------------------------------------------


@GATEWAYS
def test_a_duplicate_webhook_settles_once(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    created = start(world, gateway, world.shops[gateway].phone("0002"))
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    deadline = time.monotonic() + 5
    while events(committed, created["id"]).count("webhook") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    kinds = events(committed, created["id"])
    assert kinds.count("webhook") == 2
    assert "duplicate_webhook" in kinds
    assert kinds.count("provisioned") == 1
    assert provisioned(committed, created["id"]) == 1


def forged(
    world: World, gateway: str, created: dict[str, Any], **changes: Any
) -> requests.Response:
    """A webhook claiming the payment was paid, as a stranger on the internet would send it."""
    reference = created["checkout_request_id"]
    if gateway == "iotec":
        body = {"id": reference, "externalId": ours(created["id"]), "status": "Success",
                **changes.pop("body", {})}  # fmt: skip
        headers = changes.pop("headers", {})
        return requests.post(f"{world.api.url}/api/callbacks/iotec", json=body, headers=headers,
                             timeout=10)  # fmt: skip
    query = {"reference": reference, "external_reference": ours(created["id"]),
             "status": "SUCCESSFUL", "amount": "100", **changes}  # fmt: skip
    return requests.get(f"{world.api.url}/api/callbacks/campay", params=query, timeout=10)


@GATEWAYS
def test_a_forged_or_unsigned_webhook_changes_nothing_and_is_kept(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    shop = world.shops[gateway]
    created = start(world, gateway, shop.phone("0007"))  # pending for ever
    key = world.api.settings.campay_webhook_key
    attempts: list[dict[str, Any]] = (
        [{"headers": {}}, {"headers": {"X-Iotec-Ipn-Secret": "guess"}},
         {"headers": {"Authorization": f"Bearer {world.api.settings.iotec_ipn_secret}"}}]
        if gateway == "iotec"
        else [{}, {"signature": signed("wrong key")}, {"signature": signed(key, alg="none")},
              {"signature": signed(key, iat=int(time.time()) - 86_400)}]
    )  # fmt: skip
    for attempt in attempts:
        assert forged(world, gateway, created, **attempt).status_code == 401
    time.sleep(2 * DELAY)
    assert wait_for_status(world.api, created, "paid")["status"] == "pending"
    with committed() as session:
        kept = session.scalars(
            select(PaymentEvent).where(
                PaymentEvent.payment_id == created["id"], PaymentEvent.kind == "webhook_rejected"
            )
        ).all()
    assert len(kept) == len(attempts)
    assert all(event.detail["raw"] or event.detail["query"] for event in kept)


@GATEWAYS
def test_a_webhook_with_the_right_proof_but_a_false_claim_settles_nothing(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    """ioTec's header, or CamPay's signature replayed: the status query decides, not the body."""
    settings = world.api.settings
    created = start(world, gateway, world.shops[gateway].phone("0007"))
    proof: dict[str, Any] = (
        {"headers": {settings.iotec_ipn_header: settings.iotec_ipn_secret}}
        if gateway == "iotec"
        else {"signature": signed(settings.campay_webhook_key)}
    )
    assert forged(world, gateway, created, **proof).status_code == 200
    assert wait_for_status(world.api, created, "paid")["status"] == "pending"
    kinds = events(committed, created["id"])
    assert "webhook" in kinds
    assert "provisioned" not in kinds


@GATEWAYS
def test_a_webhook_naming_a_payment_of_ours_by_another_reference_is_ignored(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    """A real paid collection's webhook, its external id rewritten to another pending payment."""
    settings = world.api.settings
    paid = start(world, gateway, world.shops[gateway].phone())
    assert wait_for_status(world.api, paid, "paid")["status"] == "paid"
    victim = start(world, gateway, world.shops[gateway].phone("0007"))
    with committed.begin() as session:  # as if the victim's start timed out: no reference yet
        session.get_one(Payment, victim["id"]).checkout_request_id = None
    forged_body = {"checkout_request_id": paid["checkout_request_id"], "id": victim["id"]}
    proof: dict[str, Any] = (
        {"headers": {settings.iotec_ipn_header: settings.iotec_ipn_secret}}
        if gateway == "iotec"
        else {"signature": signed(settings.campay_webhook_key)}
    )
    forged(world, gateway, forged_body, **proof)
    assert wait_for_status(world.api, victim, "paid")["status"] == "pending"
    assert "provisioned" not in events(committed, victim["id"])


# --- racing --------------------------------------------------------------------------------------


@GATEWAYS
def test_a_webhook_before_the_status_says_so_is_settled_by_the_poll(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    created = start(world, gateway, world.shops[gateway].phone("0003"))
    shown = wait_for_status(world.api, created, "paid")
    assert shown["status"] == "paid", events(committed, created["id"])
    kinds = events(committed, created["id"])
    assert kinds.count("provisioned") == 1
    assert provisioned(committed, created["id"]) == 1


@GATEWAYS
def test_a_poll_and_webhooks_racing_settle_exactly_once(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    shop = world.shops[gateway]
    shop.sandbox.configure(callback_delay=5.0)  # the sandbox's own webhook out of the way
    try:
        created = start(world, gateway, shop.phone("0000"))  # paid, no webhook of its own
        time.sleep(DELAY + 0.2)
    finally:
        shop.sandbox.configure(callback_delay=DELAY)
    services, settings = world.api.services, world.api.settings
    with committed() as session:
        reference = session.get_one(Payment, created["id"]).checkout_request_id
    hook = webhook_of(gateway, reference, created["id"], settings)
    barrier = threading.Barrier(6)

    def poll() -> None:
        barrier.wait()
        reconcile(services.sessions, services.gateway_for, created["id"],
                  window=dt.timedelta(minutes=5), after=AfterCommit())  # fmt: skip

    def deliver() -> None:
        barrier.wait()
        handle_webhook(services.sessions, services.gateway_for, hook, AfterCommit())

    threads = [threading.Thread(target=fn) for fn in (poll, poll, poll, deliver, deliver, deliver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    assert provisioned(committed, created["id"]) == 1
    assert events(committed, created["id"]).count("provisioned") == 1


def webhook_of(gateway: str, reference: str | None, payment_id: int, settings: Any) -> Webhook:
    if gateway == "iotec":
        body = json.dumps({"id": reference, "externalId": ours(payment_id), "status": "Success"})
        headers = {settings.iotec_ipn_header: settings.iotec_ipn_secret}
        return Webhook("iotec", headers, {}, body.encode())
    query = {"reference": str(reference), "external_reference": ours(payment_id),
             "status": "SUCCESSFUL", "signature": signed(settings.campay_webhook_key)}  # fmt: skip
    return Webhook("campay", {}, query, b"")


# --- what the gateway says that we must not believe -------------------------------------------


@GATEWAYS
def test_less_money_than_asked_is_held_for_an_operator_never_granted(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    created = start(world, gateway, world.shops[gateway].phone("0004"))
    shown = wait_for_status(world.api, created, "failed")
    assert shown["status"] == "failed"
    assert "held for an operator" in shown["failure_reason"]
    assert "held" in events(committed, created["id"])
    assert provisioned(committed, created["id"]) == 0


def test_money_reversed_after_access_keeps_the_access_and_is_flagged(
    world: World, committed: sessionmaker[Session]
) -> None:
    created = start(world, "iotec", world.shops["iotec"].phone("0005"))  # Success, then RolledBack
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    deadline = time.monotonic() + 5
    while "reversed_by_gateway" not in events(committed, created["id"]):
        assert time.monotonic() < deadline, events(committed, created["id"])
        time.sleep(0.05)
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    assert provisioned(committed, created["id"]) == 1


# --- a gateway down -----------------------------------------------------------------------------


@GATEWAYS
def test_a_gateway_answering_errors_leaves_the_payment_pending_and_asked_about(
    world: World, committed: sessionmaker[Session], gateway: str
) -> None:
    """Down (a 5xx, or no answer in time): the collection may be on the phone, so it is never
    asked for twice and never a 5xx to the customer; the queries go on until the window ends."""
    shop = world.shops[gateway]
    client = world.api.services.gateway_for(None, gateway)
    assert isinstance(client, JsonApi)
    client.token()  # a token from before the gateway went down, as a running API holds
    for down in ("error", "timeout"):
        shop.sandbox.configure(down=down, down_sleep=2.0)
        try:
            asked: dict[str, Any] = {"package_id": shop.package_id, "phone": shop.phone()}
            response = requests.post(f"{world.api.url}/api/payments", json=asked, timeout=20)
        finally:
            shop.sandbox.configure(down=None)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "pending"
        assert "stk_push_unknown" in events(committed, created["id"])


def test_an_iotec_collection_whose_start_timed_out_is_found_by_our_reference(
    world: World, committed: sessionmaker[Session]
) -> None:
    """The sandbox took the collection but answered too late: the query by our external id
    finds it, stores ioTec's id, and settles it."""
    shop = world.shops["iotec"]
    shop.sandbox.configure(down="slow", down_sleep=2.0)
    try:
        created = start(world, "iotec", shop.phone())
    finally:
        shop.sandbox.configure(down=None)
    assert created["checkout_request_id"] is None
    assert wait_for_status(world.api, created, "paid")["status"] == "paid"
    with committed() as session:
        assert session.get_one(Payment, created["id"]).checkout_request_id is not None
    assert provisioned(committed, created["id"]) == 1


# --- the portal, in Chromium ------------------------------------------------------------------


@pytest.fixture
def shop_hotspot(
    world: World, stack: StackUnderTest, request: pytest.FixtureRequest
) -> Iterator[tuple[Shop, HttpNasServer]]:
    """The operator's router: its hotspot pages, and its logins from its own address."""
    shop = world.shops[request.param]
    address, auth_port, acct_port = stack.radius_address
    simulator = NasSimulator(address, shop.nas_secret, auth_port=auth_port, acct_port=acct_port,
                             coa_port=0, nas_ip=shop.nas_address,
                             source_address=shop.nas_address)  # fmt: skip
    web = HttpNasServer(HttpNas(simulator, shop.nas_secret, f"{world.api.url}/portal"))
    with stack.sessions.begin() as session:
        row = session.scalars(select(Nas).where(Nas.nasname == shop.nas_address)).one()
        row.hotspot_address = web.nas.hotspot_address
    yield shop, web
    web.close()
    simulator.close()


@pytest.mark.parametrize(
    ("shop_hotspot", "label", "hint"),
    [
        ("iotec", "MTN or Airtel Money number", "0772 123 456"),
        ("campay", "MTN or Orange Money number", "6 71 23 45 67"),
    ],
    indirect=["shop_hotspot"],
)
def test_the_portal_offers_the_operators_gateway_and_gets_the_customer_online(
    phone: Callable[..., Page], shop_hotspot: tuple[Shop, HttpNasServer], label: str, hint: str
) -> None:
    shop, web = shop_hotspot
    page = phone()
    enter_portal(page, web)
    page.locator("a.package").first.click()
    expect(page.locator("#phone-label")).to_have_text(label)
    expect(page.locator("#phone-hint")).to_contain_text(hint)
    expect(page.locator("#pay-title")).to_have_text("Pay with mobile money")
    assert page.locator("#gateways").count() == 0  # one gateway: no choice to make
    screenshot(page, f"gateway-{shop.gateway}-pay")
    logins = login_count(web)
    page.fill("#phone", shop.phone())
    page.click("#pay-button")
    expect(page.locator("#wait-text")).to_contain_text("mobile money request")
    attempt = web.nas.wait_for_login(logins, accepted=None, timeout=15)
    assert attempt is not None
    assert attempt.accepted, attempt
    wait_for_success(page)
    expect(page.locator("h1")).to_have_text("You are online")
    screenshot(page, f"gateway-{shop.gateway}-online")


@pytest.mark.parametrize("shop_hotspot", ["iotec"], indirect=True)
def test_an_operator_offering_two_gateways_lets_the_customer_choose(
    phone: Callable[..., Page],
    shop_hotspot: tuple[Shop, HttpNasServer],
    committed: sessionmaker[Session],
) -> None:
    """Each choice has its own words; a gateway of another currency than the package's says so."""
    shop, web = shop_hotspot
    with committed.begin() as session:
        operator = session.get_one(Package, shop.package_id).operator_id
        session.get_one(Operator, operator).gateways = ["iotec", "mpesa"]
    try:
        page = phone()
        enter_portal(page, web)
        page.locator("a.package").first.click()
        expect(page.locator("#gateways input")).to_have_count(2)
        expect(page.locator("#phone-label")).to_have_text("MTN or Airtel Money number")
        page.locator("#gateways input[value=mpesa]").check()
        expect(page.locator("#phone-label")).to_have_text("M-Pesa phone number")
        expect(page.locator("#pay-title")).to_have_text("Pay with M-Pesa")
        screenshot(page, "gateway-choice")
        page.fill("#phone", "0712345678")
        page.click("#pay-button")
        expect(page.locator("#phone-error")).to_contain_text("M-Pesa collects KES")
    finally:
        with committed.begin() as session:
            session.get_one(Operator, operator).gateways = ["iotec"]
