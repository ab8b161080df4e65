"""The captive portal under a browser: the API serving it, the simulated hotspot in front of it
(its pages registered as an operator registers a router), headless Chromium at phone width, and
what the portal tests look at. Registered for every tier by the root conftest; nothing starts
until a test asks for a fixture."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import pytest
import requests
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Expect,
    Locator,
    Page,
    ViewportSize,
    sync_playwright,
)
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.settings import Settings
from hotspot.models import HotspotUser, Nas, Package
from hotspot.operators.tenants import default_operator_id
from hotspot.services import Services
from radius.nas_sim import NasSimulator
from radius.nas_sim_http import HttpNas, HttpNasServer
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.factories import make_nas
from tests.support.harness import MpesaSandboxUnderTest, start_api
from tests.support.paths import LOGIN_HTML, ROOT
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest

PHONE: ViewportSize = {"width": 360, "height": 780}
ARTIFACTS = ROOT / "test-artifacts" / "portal"
# Time to online is measured from the callback; the sandbox answers at once, so a callback that
# outruns the API's bookkeeping of the STK push is part of what the tests cover.
CALLBACK_DELAY = 0.0  # no customer delay: the time to online is ours alone
# Generous, for a loaded machine; the flows themselves take well under a second each.
WAIT_MS = 20_000
expect = Expect()  # our own, so its timeout does not change other modules' `expect`
expect.set_options(timeout=WAIT_MS)
CLOCK = re.compile(r"^\d+:\d\d:\d\d$")


# --- the stack under the browser -----------------------------------------------------------------


class CallbackClock:
    """WSGI middleware noting when M-Pesa's STK callbacks reach the API (time.time())."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") == "POST" and str(environ.get("PATH_INFO", "")).startswith(
            "/api/callbacks/stk/"
        ):
            self.times.append(time.time())
        return self.app(environ, start_response)


@dataclass
class Portal:
    url: str
    services: Services
    clock: CallbackClock

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.services.sessions


@pytest.fixture(scope="module")
def quick_mpesa(mpesa: MpesaSandboxUnderTest) -> Iterator[MpesaSandboxUnderTest]:
    """The sandbox answers after CALLBACK_DELAY for this module, then as it was."""
    before = requests.get(f"{mpesa.url}/sandbox/payments", timeout=5).json()["config"]
    requests.post(f"{mpesa.url}/sandbox/config", json={"callback_delay": CALLBACK_DELAY}, timeout=5)
    yield mpesa
    requests.post(
        f"{mpesa.url}/sandbox/config",
        json={"callback_delay": before["callback_delay"]},
        timeout=5,
    )


@contextmanager
def serve_portal(settings: Settings) -> Iterator[Portal]:
    """The API with the portal pages, on a free port, with these settings."""
    server, services = start_api(settings)
    app = cast(Flask, server.server.app)
    clock = CallbackClock(app)
    server.server.app = clock
    try:
        yield Portal(server.url, services, clock)
    finally:
        server.stop()
        services.close()


@pytest.fixture(scope="module")
def portal(stack: StackUnderTest, quick_mpesa: MpesaSandboxUnderTest) -> Iterator[Portal]:
    with serve_portal(stack.settings.with_changes(mpesa_base_url=quick_mpesa.url)) as served:
        yield served


@pytest.fixture(scope="module")
def portal_nas(stack: StackUnderTest) -> Iterator[NasSimulator]:
    """The NAS behind the portal's hotspot pages (its own NAS-Identifier), the one the stack
    knows as 127.0.0.1: its Disconnect-Requests reach this simulator."""
    with simulated_nas(stack, nas_identifier="nas-sim-portal", interim_interval=0) as simulator:
        yield simulator
        simulator.logout_all()


def serve_nas(
    nas: NasSimulator,
    stack: StackUnderTest,
    portal: Portal,
    *,
    chap: bool = True,
    login_page: str | None = None,
) -> Iterator[HttpNasServer]:
    """The hotspot's pages, registered as an operator registers a router: a NAS row with its
    hotspot address, the only place the portal posts logins to (hotspot.routers)."""
    web = HttpNasServer(
        HttpNas(nas, stack.nas_secret, f"{portal.url}/portal", chap=chap, login_page=login_page)
    )
    with registered_hotspot(stack, web):
        yield web
    web.close()


@contextmanager
def registered_hotspot(stack: StackUnderTest, web: HttpNasServer) -> Iterator[None]:
    port = web.server.server_port
    with stack.sessions.begin() as session:
        row = make_nas(
            session,
            address=f"198.18.{port // 256}.{port % 256}",  # a row of its own, unseen by RADIUS
            shortname=f"portal-{port}",
            secret=stack.nas_secret,
            hotspot_address=web.nas.hotspot_address,
        )
    try:
        yield
    finally:
        with stack.sessions.begin() as session:
            session.execute(delete(Nas).where(Nas.id == row.id))


@pytest.fixture(scope="module")
def chap_nas(
    portal_nas: NasSimulator, stack: StackUnderTest, portal: Portal
) -> Iterator[HttpNasServer]:
    """A hotspot with login-by=http-chap,http-pap: login.html hands out a challenge."""
    yield from serve_nas(portal_nas, stack, portal, chap=True)


@pytest.fixture(scope="module")
def pap_nas(
    portal_nas: NasSimulator, stack: StackUnderTest, portal: Portal
) -> Iterator[HttpNasServer]:
    """A hotspot with login-by=http-pap only: no challenge, the portal sends the password."""
    yield from serve_nas(portal_nas, stack, portal, chap=False)


@pytest.fixture(scope="module")
def docs_nas(
    portal_nas: NasSimulator, stack: StackUnderTest, portal: Portal
) -> Iterator[HttpNasServer]:
    """A hotspot serving our docs/mikrotik/login.html, its variables filled in as RouterOS does."""
    page = LOGIN_HTML.read_text().replace("https://portal.example.com", portal.url)
    yield from serve_nas(portal_nas, stack, portal, login_page=page)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; Playwright gives every launch a fresh temporary profile."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Callable[..., Page]]:
    """New pages, each in a fresh context (cookies, cache, sessionStorage) at phone width."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []  # script errors and Content-Security-Policy violations

    def note_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            problems.append(message.text)

    def open_page(language: str = "en-KE,en;q=0.9") -> Page:
        context = browser.new_context(
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            extra_http_headers={"Accept-Language": language},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("console", note_console)
        page.on("pageerror", lambda error: problems.append(f"{error.name}: {error.message}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def page_weight(page: Page) -> int:
    """Bytes the page cost over the network: the document and everything it loaded."""
    return int(
        page.evaluate(
            """() => performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'))
                .reduce((sum, e) =>
                    sum + Math.max(e.transferSize || 0, e.encodedBodySize || 0), 0)"""
        )
    )


def enter_portal(page: Page, nas_web: HttpNasServer) -> None:
    """As after joining the WiFi: the router's login page sends the browser to the portal."""
    page.goto(f"{nas_web.url}/login.html")
    expect(page).to_have_url(re.compile(r"/portal\?"))


def wait_for_success(page: Page) -> None:
    page.wait_for_url(re.compile(r"/portal/success\?"))
    expect(page.locator("#time-left")).to_have_text(CLOCK)


def package_card(page: Page, name: str) -> Locator:
    """The card of the package with exactly this name (other tests add packages too)."""
    exact = page.locator(".package-name", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator("a.package", has=exact)


def login_count(nas_web: HttpNasServer) -> int:
    return len(nas_web.nas.logins)


def e164(phone: str) -> str:
    return "254" + phone[1:]


def package_id(portal: Portal, name: str) -> int:
    with portal.sessions() as session:
        return session.scalars(
            select(Package.id).where(
                Package.name == name, Package.operator_id == default_operator_id(session)
            )
        ).one()


def package_of(portal: Portal, username: str) -> str:
    with portal.sessions() as session:
        return session.scalars(
            select(Package.name)
            .join(HotspotUser, HotspotUser.package_id == Package.id)
            .where(HotspotUser.username == username)
        ).one()
