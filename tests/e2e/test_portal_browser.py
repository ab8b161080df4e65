"""The captive portal in a real headless Chromium, from the router's redirect to browsing.

The browser opens the simulated NAS's /login.html, which sends it to our portal with the
router's parameters (an octal-escaped CHAP challenge included), exactly as a MikroTik's
login.html does; the portal pays through the local M-Pesa sandbox over HTTP and logs in at the
simulated NAS, which asks the stack's real FreeRADIUS. Screenshots at phone width (360 px) go
to test-artifacts/portal/. The fast tests at the end need no browser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from playwright.sync_api import (
    Page,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from hotspot.access.routers import registered_login
from hotspot.billing.vouchers import generate
from hotspot.models import HotspotUser, Package
from radius.nas_sim import NasSimulator
from radius.nas_sim_http import HttpNas, HttpNasServer, mikrotik_escape
from tests.support.factories import make_nas, make_package, make_user
from tests.support.harness import MpesaSandboxUnderTest
from tests.support.payments import random_phone
from tests.support.portal import (
    Portal,
    e164,
    enter_portal,
    expect,
    login_count,
    package_card,
    package_id,
    package_of,
    page_weight,
    screenshot,
    wait_for_success,
)
from tests.support.stack import StackUnderTest

PAGE_BUDGET = 100 * 1024  # bytes per page, everything it loads included
TIME_TO_ONLINE_LIMIT = 3.0  # seconds from M-Pesa's callback to the router's Access-Accept


# --- paying ---------------------------------------------------------------------------------------


def test_pay_with_mpesa_and_browse_within_three_seconds(
    phone: Callable[..., Page], chap_nas: HttpNasServer, portal: Portal
) -> None:
    page = phone()
    enter_portal(page, chap_nas)
    query = parse_qs(urlsplit(page.url).query)
    assert re.fullmatch(r"(\\[0-7]{3}){16}", query["chap-challenge"][0])
    assert query["link-login-only"] == [f"{chap_nas.url}/login"]
    expect(page.locator("h1")).to_have_text("Get online")
    one_hour = package_card(page, "1 Hour")
    expect(one_hour).to_contain_text("KES 20")
    expect(one_hour).to_contain_text("1 hour")
    expect(one_hour).to_contain_text("1 GB")
    expect(one_hour).to_contain_text("↓5 ↑2 Mbps")
    screenshot(page, "1-packages")

    one_hour.click()
    expect(page.locator("#pay-button")).to_have_text("Pay KES 20")
    screenshot(page, "2-pay")
    page.fill("#phone", "0712")
    page.click("#pay-button")
    expect(page.locator("#phone-error")).to_contain_text("is not a valid phone number")
    screenshot(page, "3-pay-bad-phone")

    logins = login_count(chap_nas)
    callbacks = len(portal.clock.times)
    page.fill("#phone", random_phone())
    page.click("#pay-button")
    attempt = chap_nas.nas.wait_for_login(logins, accepted=None, timeout=15)
    assert attempt is not None
    assert attempt.accepted, attempt
    assert attempt.method == "chap"
    approved = [t for t in portal.clock.times[callbacks:] if t <= attempt.at]
    assert approved, "no M-Pesa callback reached the API before the login"
    time_to_online = attempt.at - approved[-1]
    print(f"\ntime to online (M-Pesa callback -> Access-Accept at the NAS): {time_to_online:.3f} s")
    assert time_to_online <= TIME_TO_ONLINE_LIMIT

    wait_for_success(page)
    expect(page.locator("h1")).to_have_text("You are online")
    assert re.fullmatch(r"0:59:[45]\d|1:00:00", page.locator("#time-left").inner_text())
    expect(page.locator("#data-left")).to_have_text("1 GB")
    expect(page.locator("#time-until")).to_contain_text("until ")
    username = page.locator("#cred-username").inner_text()
    assert username == attempt.username
    assert page.locator("#cred-password").inner_text()
    expect(page.locator("#continue")).to_have_attribute("href", f"{chap_nas.url}/status")
    screenshot(page, "4-success")
    assert package_of(portal, username) == "1 Hour"


def test_failed_payments_explain_themselves_and_retry_gets_online(
    phone: Callable[..., Page],
    chap_nas: HttpNasServer,
    quick_mpesa: MpesaSandboxUnderTest,
    portal: Portal,
) -> None:
    page = phone()
    enter_portal(page, chap_nas)
    package_card(page, "1 Day").click()

    # No callback at all: the page waits, with the instructions, until told otherwise.
    page.fill("#phone", random_phone("0000"))
    page.click("#pay-button")
    expect(page.locator("#step-wait")).to_be_visible()
    expect(page.locator("#wait-text")).to_contain_text("Enter your M-Pesa PIN to pay KES 50")
    screenshot(page, "5-pay-waiting")
    page.click("#no-prompt")
    expect(page.locator("#step-phone")).to_be_visible()

    for suffix, title, reason in (
        ("1037", "Phone not reachable", "could not be reached"),
        ("2001", "Wrong PIN", "PIN was wrong"),
        ("0001", "Not enough money", "not enough money"),
    ):
        page.fill("#phone", random_phone(suffix))
        page.click("#pay-button")
        expect(page.locator("#failed-title")).to_have_text(title)
        expect(page.locator("#failed-reason")).to_contain_text(reason)
        page.click("#other-number")

    number = random_phone()
    quick_mpesa.next_outcome("cancelled", e164(number))
    page.fill("#phone", number)
    page.click("#pay-button")
    expect(page.locator("#failed-title")).to_have_text("Payment cancelled")
    expect(page.locator("#failed-reason")).to_have_text("You cancelled the payment.")
    expect(page.locator("#retry")).to_be_visible()
    screenshot(page, "6-pay-cancelled")

    logins = login_count(chap_nas)
    page.click("#retry")  # the same number again: this time the customer approves
    attempt = chap_nas.nas.wait_for_login(logins, timeout=15)
    assert attempt is not None
    wait_for_success(page)
    expect(page.locator(".package-name, .lead strong").first).to_contain_text("1 Day")


# --- vouchers and codes ---------------------------------------------------------------------------


def test_a_voucher_gets_online_through_our_login_html(
    phone: Callable[..., Page], docs_nas: HttpNasServer, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package = session.scalars(select(Package).where(Package.name == "1 Day")).one()
        [code] = generate(session, package, 1, "portal-tests")
    page = phone()
    enter_portal(page, docs_nas)  # the router's page, then its form to the portal
    query = parse_qs(urlsplit(page.url).query)
    assert re.fullmatch(r"\\[0-7]{3}", query["chap-id"][0])
    assert re.fullmatch(r"(\\[0-7]{3}){16}", query["chap-challenge"][0])
    assert query["link-login-only"] == [f"{docs_nas.url}/login"]
    assert "error" not in query
    page.click("#voucher-link")
    page.fill("#code", "WRONGCODE1")
    page.click("#voucher-button")
    expect(page.locator("#code-error")).to_have_text("This code is not valid, or was already used.")
    page.fill("#code", code.upper())
    screenshot(page, "7-voucher")
    logins = login_count(docs_nas)
    with page.expect_request(re.compile(r"/api/vouchers/redeem$")) as redeem:
        page.click("#voucher-button")
    # The customer as the router knows them, for the per-customer rate limit.
    sent = redeem.value.post_data_json
    assert sent is not None
    assert (sent["mac"], sent["link_login_only"]) == (query["mac"][0], f"{docs_nas.url}/login")
    wait_for_success(page)
    assert page.locator("#time-left").inner_text().startswith(("23:59:", "24:00:"))
    expect(page.locator("#data-left")).to_have_text("5 GB")
    attempt = docs_nas.nas.wait_for_login(logins, timeout=5)
    assert attempt is not None
    assert attempt.method == "chap"


def test_a_printed_cards_qr_code_opens_the_voucher_page_with_its_code_filled_in(
    phone: Callable[..., Page], portal: Portal, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package = session.scalars(select(Package).where(Package.name == "1 Day")).one()
        [code] = generate(session, package, 1, "portal-tests")
    page = phone()
    page.goto(f"{portal.url}/portal/voucher#code={code}")  # what the card's QR code holds
    expect(page.locator("#code")).to_have_value(code.upper())
    assert urlsplit(page.url).fragment == ""  # not left in the address bar, history or shares
    with page.expect_request(re.compile(r"/api/vouchers/redeem$")) as redeem:
        page.click("#voucher-button")
    sent = redeem.value.post_data_json
    assert sent is not None
    assert sent["code"] == code.upper()


def test_a_code_logs_in_with_pap_and_a_wrong_one_is_told(
    phone: Callable[..., Page],
    pap_nas: HttpNasServer,
    committed: sessionmaker[Session],
    portal: Portal,
) -> None:
    with committed.begin() as session:
        user = make_user(session, package=make_package(session, data_cap_bytes=None))
    page = phone()
    enter_portal(page, pap_nas)
    assert "chap-challenge" not in parse_qs(urlsplit(page.url).query)
    page.click("#code-link")
    page.fill("#username", user.username)
    page.fill("#password", user.password + "x")
    logins = login_count(pap_nas)
    page.click("#code-button")
    page.wait_for_url(re.compile(r"/portal\?.*error="))
    expect(page.locator("#router-error")).to_contain_text("wrong username or password")
    expect(page.locator("#reconnect")).to_be_hidden()  # the same typo would fail again
    screenshot(page, "8-code-rejected")
    rejected = pap_nas.nas.wait_for_login(logins, accepted=False, timeout=5)
    assert rejected is not None
    assert rejected.method == "pap"

    page.click("#retry-code")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    screenshot(page, "8-code-form")
    page.click("#code-button")
    wait_for_success(page)
    expect(page.locator("#data-left")).to_have_text("Unlimited")
    attempt = pap_nas.nas.wait_for_login(logins, timeout=5)
    assert attempt is not None
    assert attempt.accounting
    # The device is known by its MAC now (radacct), as a MikroTik writes it or otherwise.
    mac = attempt.mac.lower().replace(":", "-")
    shown = requests.get(f"{portal.url}/api/hotspot/session", params={"mac": mac}, timeout=5)
    assert shown.status_code == 200
    assert shown.json()["online"] is True
    assert shown.json()["session"]["mac"] == attempt.mac
    # And a returning visit to the portal from that device says so.
    enter_portal(page, pap_nas)
    expect(page.locator("#online")).to_be_visible()
    expect(page.locator("#online-text")).to_contain_text("This device is online")


# --- where credentials may go -------------------------------------------------------------------


def test_a_phishing_link_gets_no_credentials(
    phone: Callable[..., Page], portal: Portal, portal_nas: NasSimulator, stack: StackUnderTest
) -> None:
    """A link naming a login URL no operator registered (a server that would keep whatever is
    posted to it): the customer is told, and the code typed goes nowhere but our own pages."""
    thief = HttpNasServer(HttpNas(portal_nas, stack.nas_secret, f"{portal.url}/portal", chap=False))
    try:
        page = phone()
        link = {"mac": "AA:BB:CC:00:11:22", "link-login-only": f"{thief.url}/login"}
        page.goto(f"{portal.url}/portal/login?{urlencode(link)}")
        expect(page.locator("#router-notice")).to_contain_text("did not come from our WiFi")
        page.fill("#username", "paying-customer")
        page.fill("#password", "her-password")
        page.click("#code-button")
        page.wait_for_url(re.compile(r"/portal/success\?"))
        screenshot(page, "12-phishing-link")
        assert thief.nas.logins == []
    finally:
        thief.close()


# --- Swahili ------------------------------------------------------------------------------------


def test_swahili_from_accept_language_and_the_switch(
    phone: Callable[..., Page], chap_nas: HttpNasServer, quick_mpesa: MpesaSandboxUnderTest
) -> None:
    page = phone("sw-KE,sw;q=0.9,en;q=0.5")
    enter_portal(page, chap_nas)
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    expect(page.locator("h1")).to_have_text("Ingia mtandaoni")
    expect(package_card(page, "1 Hour")).to_contain_text("saa 1")
    expect(page.locator("#voucher-link")).to_have_text("Nina vocha")
    screenshot(page, "9-packages-sw")

    package_card(page, "1 Hour").click()
    expect(page.locator("#pay-button")).to_have_text("Lipa KES 20")
    page.fill("#phone", "12345")
    page.click("#pay-button")
    expect(page.locator("#phone-error")).to_contain_text("Namba hii ya simu si sahihi")
    number = random_phone()
    quick_mpesa.next_outcome("insufficient_funds", e164(number))
    page.fill("#phone", number)
    page.click("#pay-button")
    expect(page.locator("#failed-title")).to_have_text("Salio halitoshi")
    expect(page.locator("#retry")).to_have_text("Jaribu tena")
    screenshot(page, "10-pay-failed-sw")

    page.click("a.lang")  # the switch, remembered in a cookie
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#pay-button")).to_have_text("Pay KES 20")
    page.goto(page.url.split("?")[0])
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_chap_answer_is_computed_from_mikrotiks_octal_escapes(
    phone: Callable[..., Page], portal: Portal
) -> None:
    page = phone()
    page.goto(f"{portal.url}/portal/login")
    chap_id, challenge = b"\xf9", bytes(range(0, 256, 16))
    got = page.evaluate(
        "([i, p, c]) => HotspotMD5.chapPassword(i, p, c)",
        [mikrotik_escape(chap_id), "pässword", mikrotik_escape(challenge)],
    )
    want = hashlib.md5(chap_id + "pässword".encode() + challenge).hexdigest()  # noqa: S324
    assert got == want


def test_every_page_weighs_under_100_kb_in_the_browser(
    phone: Callable[..., Page], portal: Portal, chap_nas: HttpNasServer, portal_nas: NasSimulator
) -> None:
    user = chap_nas.nas.logins[0].username if chap_nas.nas.logins else "nobody"
    one_hour = package_id(portal, "1 Hour")
    weights: dict[str, int] = {}
    for path in ("/portal", f"/portal/pay/{one_hour}", "/portal/voucher", "/portal/login"):
        page = phone()
        page.goto(f"{portal.url}{path}")
        page.wait_for_load_state("load")
        weights[path] = page_weight(page)
    page = phone()
    page.goto(f"{portal.url}/portal/success?u={user}")
    page.wait_for_load_state("load")
    weights["/portal/success"] = page_weight(page)
    screenshot(page, "11-success-direct")
    print("\npage weights (bytes):", weights)
    assert all(0 < weight <= PAGE_BUDGET for weight in weights.values()), weights


# --- without a browser ------------------------------------------------------------------------


def linked_assets(base: str, html: str) -> Iterable[str]:
    for match in re.finditer(r'(?:src|href)="([^"#]+\.(?:css|js))"', html):
        yield urljoin(base, match.group(1))


def test_pages_and_their_assets_stay_small(portal: Portal) -> None:
    pay = f"/portal/pay/{package_id(portal, '1 Hour')}"
    for path in ("/portal", pay, "/portal/voucher", "/portal/login", "/portal/success"):
        response = requests.get(f"{portal.url}{path}", timeout=5)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        total = len(response.content) + sum(
            len(requests.get(url, timeout=5).content)
            for url in linked_assets(response.url, response.text)
        )
        assert total <= PAGE_BUDGET, (path, total)


def test_the_language_follows_accept_language_the_query_and_the_cookie(portal: Portal) -> None:
    http = requests.Session()
    swahili = http.get(f"{portal.url}/portal", headers={"Accept-Language": "sw"}, timeout=5)
    assert '<html lang="sw">' in swahili.text
    english = http.get(f"{portal.url}/portal?lang=en", headers={"Accept-Language": "sw"}, timeout=5)
    assert '<html lang="en">' in english.text
    again = http.get(f"{portal.url}/portal", headers={"Accept-Language": "sw"}, timeout=5)
    assert '<html lang="en">' in again.text  # the cookie wins over the header now
    refused = http.get(
        f"{portal.url}/portal",
        params={"lang": "sw", "error": "invalid username or password"},
        timeout=5,
    )
    assert "jina la mtumiaji au nenosiri si sahihi" in refused.text


def test_the_router_parameters_are_carried_in_every_link(portal: Portal) -> None:
    page = requests.get(
        f"{portal.url}/portal",
        params={"mac": "AA:BB:CC:00:11:22", "link-login-only": "http://10.5.50.1/login"},
        timeout=5,
    ).text
    assert 'href="/portal/voucher?mac=AA:BB:CC:00:11:22&amp;link-login-only=http' in page


def test_the_session_check_needs_a_parameter_and_knows_unknowns(portal: Portal) -> None:
    def check(**params: str) -> requests.Response:
        return requests.get(f"{portal.url}/api/hotspot/session", params=params, timeout=5)

    assert check().status_code == 422
    assert check(mac="not-a-mac").status_code == 422
    assert check(mac="02:00:00:00:00:01").status_code == 404
    assert check(username="nobody-here").status_code == 404


def test_the_session_check_reads_package_time_and_data_left(
    portal: Portal, committed: sessionmaker[Session], portal_nas: NasSimulator
) -> None:
    with committed.begin() as session:
        package = make_package(session, data_cap_bytes=2**30, duration_seconds=7200)
        user: Credentials = make_user(session, package=package)
        session.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user.username)
            .values(data_used_bytes=2**28)
        )
    shown = requests.get(
        f"{portal.url}/api/hotspot/session", params={"username": user.username}, timeout=5
    ).json()
    assert shown["username"] == user.username
    assert shown["package"]["name"] == package.name
    assert 7190 <= shown["seconds_left"] <= 7200
    assert shown["data_left_bytes"] == 2**30 - 2**28
    assert shown["online"] is False
    assert shown["usable"] is True
    assert dt.datetime.fromisoformat(shown["expires_at"]) == user.expires_at

    result = portal_nas.login(user.username, user.password, chap=True, mac="aa-bb-cc-dd-ee-0f")
    assert result.accepted
    assert result.session is not None
    try:
        by_mac = requests.get(
            f"{portal.url}/api/hotspot/session", params={"mac": "aabb.ccdd.ee0f"}, timeout=5
        ).json()
        assert "username" not in by_mac  # whoever knows a MAC does not learn the username
        assert by_mac["online"] is True
        assert by_mac["session"]["mac"] == "AA:BB:CC:DD:EE:0F"
        assert by_mac["data_left_bytes"] == 2**30 - 2**28
    finally:
        portal_nas.logout(result.session)
    after = requests.get(
        f"{portal.url}/api/hotspot/session", params={"mac": "AA:BB:CC:DD:EE:0F"}, timeout=5
    )
    assert after.status_code == 404  # the session closed: the device is unknown again


def portal_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="portal-config" type="application/json">(.*?)</script>', html)
    assert found is not None
    return cast(dict[str, Any], json.loads(found.group(1)))


def test_the_page_may_post_only_to_the_registered_router_it_came_through(
    portal: Portal, chap_nas: HttpNasServer
) -> None:
    def visit(login_url: str | None) -> requests.Response:
        params = {"link-login-only": login_url} if login_url else {}
        return requests.get(f"{portal.url}/portal/voucher", params=params, timeout=5)

    ours = visit(f"{chap_nas.url}/login")
    assert f"form-action 'self' {chap_nas.url};" in ours.headers["Content-Security-Policy"]
    assert portal_config(ours.text)["routerLogin"] == f"{chap_nas.url}/login"
    assert 'id="router-notice"' not in ours.text

    for login_url in ("http://192.0.2.66/login", "javascript:alert(1)", f"{chap_nas.url}.evil/x"):
        theirs = visit(login_url)
        assert "form-action 'self';" in theirs.headers["Content-Security-Policy"], login_url
        assert portal_config(theirs.text)["routerLogin"] is None
        assert 'data-notice="unknown_router"' in theirs.text
    assert 'data-notice="not_on_hotspot"' in visit(None).text


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("invalid username or password", "wrong username or password"),
        ("no more sessions are allowed for user bob", "already in use"),
        ("You are already logged in - access denied", "already in use"),
        ("user bob has reached traffic limit", "the package has ended"),
        ("RADIUS server is not responding", "did not answer"),
        ("web browser did not send challenge response (try refreshing the login page)", "too long"),
        ("user bob is not allowed to log in from this MAC address", "from this device"),
        ("WiFi down. Pay KES 500 to 0700 000 666 to reconnect", "Try again, or ask for help"),
    ],
)
def test_router_errors_are_shown_as_our_own_words_never_as_sent(
    portal: Portal, error: str, shown: str
) -> None:
    page = requests.get(
        f"{portal.url}/portal", params={"error": error, "lang": "en"}, timeout=5
    ).text
    notice = re.search(r'<div class="notice error" id="router-error".*?</div>', page, re.DOTALL)
    assert notice is not None
    assert shown in notice.group(0)
    assert error not in page
    assert "0700 000 666" not in page


def test_only_login_urls_on_a_registered_hotspot_address_are_trusted(session: Session) -> None:
    for number, address in enumerate(("10.5.50.1", "WiFi.Example.net", "127.0.0.1:8088")):
        make_nas(session, address=f"198.51.100.{number}", hotspot_address=address)
    trusted = {
        "http://10.5.50.1/login": "http://10.5.50.1",
        "http://10.5.50.1:80/login?x=1": "http://10.5.50.1:80",
        "https://wifi.example.NET/login": "https://wifi.example.net",
        "https://wifi.example.net:443/login": "https://wifi.example.net:443",
        "http://127.0.0.1:8088/login": "http://127.0.0.1:8088",
    }
    for url, origin in trusted.items():
        login = registered_login(session, url)
        assert login is not None, url
        assert login.origin == origin
    untrusted: tuple[str | None, ...] = (
        None,
        "",
        "/login",
        "//10.5.50.1/login",
        "javascript:alert(1)",
        "ftp://10.5.50.1/login",
        "http://10.5.50.1:8080/login",
        "https://10.5.50.1:80/login",
        "http://127.0.0.1/login",
        "http://10.5.50.1.evil.example/login",
        "http://evil.example/10.5.50.1/login",
        "http://10.5.50.1@evil.example/login",
        "http://evil.example@10.5.50.1/login",
        "http://10.5.50.1 form-action */login",
    )
    for refused in untrusted:
        assert registered_login(session, refused) is None, refused
