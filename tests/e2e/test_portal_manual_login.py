"""The portal in Chromium with `HOTSPOT_AUTO_LOGIN` off, and its Log out button: a purchase shows
the credentials and posts them to the router only when the customer asks; Log out ends this
device's session through `POST /api/hotspot/logout` and a `hotspot worker`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from radius.nas_sim import NasSimulator
from radius.nas_sim_http import HttpNasServer
from tests.support.harness import MpesaSandboxUnderTest
from tests.support.payments import random_phone
from tests.support.portal import (
    Portal,
    enter_portal,
    expect,
    login_count,
    package_card,
    screenshot,
    serve_portal,
    wait_for_success,
)
from tests.support.stack import StackUnderTest


@pytest.fixture(scope="module")
def portal(stack: StackUnderTest, quick_mpesa: MpesaSandboxUnderTest) -> Iterator[Portal]:
    settings = stack.settings.with_changes(mpesa_base_url=quick_mpesa.url, auto_login=False)
    with serve_portal(settings) as served:
        yield served


@pytest.mark.usefixtures("worker")
def test_without_auto_login_the_credentials_are_shown_then_log_in_and_out(
    phone: Callable[..., Page], pap_nas: HttpNasServer, portal_nas: NasSimulator
) -> None:
    page = phone()
    enter_portal(page, pap_nas)
    package_card(page, "1 Hour").click()
    logins = login_count(pap_nas)
    page.fill("#phone", random_phone())
    page.click("#pay-button")
    expect(page.locator("#manual-login")).to_be_visible()
    username = page.locator("#manual-username").inner_text()
    assert username
    assert page.locator("#manual-password").inner_text()
    screenshot(page, "9-manual-login")
    assert login_count(pap_nas) == logins, "the portal logged in without being asked"

    page.click("#manual-login-button")
    wait_for_success(page)
    attempt = pap_nas.nas.wait_for_login(logins, timeout=5)
    assert attempt is not None
    assert attempt.username == username
    [session] = [s for s in portal_nas.sessions() if s.username == username]

    page.click("#log-out")
    expect(page.locator("#log-out-status")).to_contain_text("You are logged out")
    screenshot(page, "9-logged-out")
    assert session.wait_closed(timeout=10)
    assert session.terminate_cause == "Admin-Reset"
