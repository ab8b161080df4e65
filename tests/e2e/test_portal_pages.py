"""The portal's pages against hostile query strings: no 5xx, no redirect elsewhere, nothing about
another customer (issue 11 review)."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import make_user
from tests.support.harness import ApiUnderTest
from tests.support.payments import package_id
from tests.support.radius import accounting
from tests.support.stack import StackUnderTest


def portal_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script[^>]*id="portal-config"[^>]*>(.*?)</script>', html, re.S)
    assert match is not None, html[:2000]
    config: dict[str, Any] = json.loads(match.group(1))
    return config


@pytest.mark.parametrize(
    "query",
    [
        {"link-login-only": "http://[x"},  # urlsplit refuses an unclosed IPv6 bracket
        {"_method": "DELETE"},
        {"_anchor": "x", "_scheme": "javascript"},
        {"package_id": "abc"},
    ],
)
def test_hostile_query_strings_get_the_page_not_a_5xx(
    api: ApiUnderTest, committed: sessionmaker[Session], query: dict[str, str]
) -> None:
    pay_page = f"/portal/pay/{package_id(committed, '1 Hour')}"
    for path in ("/portal", pay_page, "/portal/voucher", "/portal/login", "/portal/success"):
        answer = requests.get(f"{api.url}{path}", params=query, timeout=5)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert portal_config(answer.text)["routerLogin"] is None


def test_a_broken_router_url_in_an_api_body_is_no_5xx(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    body = {"code": "NOSUCHCODE", "mac": "AA:BB:CC:DD:EE:01", "link_login_only": "http://["}
    answer = requests.post(f"{api.url}/api/vouchers/redeem", json=body, timeout=5)
    assert answer.status_code == 404


def test_the_trailing_slash_redirect_stays_on_this_site(api: ApiUnderTest) -> None:
    answer = requests.get(
        f"{api.url}/portal/",
        params={"_external": "1", "lang": "sw"},
        headers={"Host": "evil.example"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("/portal?"), location
    assert "evil.example" not in location


def test_the_success_page_does_not_tell_whose_mac_it_is(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """MACs are visible to anyone on open WiFi; a username opens the session look-up."""
    with committed.begin() as session:
        user = make_user(session)
    accounting(stack, "Start", user.username, f"acct-{secrets.token_hex(4)}")
    page = requests.get(f"{api.url}/portal/success", params={"mac": "AA:BB:CC:DD:EE:FF"}, timeout=5)
    assert page.status_code == 200
    assert portal_config(page.text)["username"] is None
    assert user.username not in page.text
