"""The NAS simulator's hotspot pages know a client as a router does: by its address."""

from __future__ import annotations

import hashlib
import http.client
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse, urlsplit

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from radius.nas_sim_http import INVALID_LOGIN, HttpNas, HttpNasServer
from tests.support.factories import make_user
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest

PORTAL = "http://127.0.0.1:9/portal"  # never fetched: the redirect to it is what is read


@pytest.fixture
def hotspot(stack: StackUnderTest) -> Iterator[HttpNasServer]:
    with simulated_nas(stack, interim_interval=0) as nas:
        web = HttpNasServer(HttpNas(nas, stack.nas_secret, PORTAL, chap=True))
        yield web
        web.close()


def handed_to_portal(url: str) -> dict[str, str]:
    """What login.html handed the portal: the redirect's query."""
    opened = requests.get(url, allow_redirects=False, timeout=5)
    assert opened.status_code == 302
    return portal_query(opened.headers["Location"])


def portal_query(location: str) -> dict[str, str]:
    assert location.startswith(PORTAL)
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def chap_answer(variables: dict[str, str], password: str) -> str:
    """hexMD5(chap-id + password + chap-challenge), as the portal computes it."""

    def unescaped(text: str) -> bytes:
        return bytes(int(octal, 8) for octal in re.findall(r"\\(\d{3})", text))

    digest = (
        unescaped(variables["chap-id"]) + password.encode() + unescaped(variables["chap-challenge"])
    )
    return hashlib.md5(digest).hexdigest()  # noqa: S324 - CHAP is MD5


def test_a_browser_that_opened_localhost_logs_in_through_127_0_0_1(
    hotspot: HttpNasServer, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        user = make_user(session)
    port = hotspot.server.server_port
    variables = handed_to_portal(f"http://localhost:{port}/login.html")
    answer = requests.post(
        variables["link-login-only"],  # the hotspot's own address: 127.0.0.1
        data={
            "username": user.username,
            "password": chap_answer(variables, user.password),
            "dst": "http://example.invalid/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.headers["Location"] == "http://example.invalid/", answer.headers["Location"]
    [attempt] = hotspot.nas.logins
    assert attempt.accepted
    assert (attempt.mac, attempt.ip) == (variables["mac"], variables["ip"])


def test_clients_at_different_addresses_are_different_clients(
    hotspot: HttpNasServer, committed: sessionmaker[Session]
) -> None:
    port = hotspot.server.server_port
    first = handed_to_portal(f"http://127.0.0.1:{port}/login.html")
    again = handed_to_portal(f"http://localhost:{port}/login.html")
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=("127.0.0.2", 0))
    connection.request("GET", "/login.html")
    other = portal_query(connection.getresponse().getheader("Location") or "")
    connection.close()
    assert (first["mac"], first["ip"]) == (again["mac"], again["ip"])
    assert other["mac"] != first["mac"]
    assert other["ip"] != first["ip"]


def test_a_wrong_answer_is_refused_in_routeros_words(
    hotspot: HttpNasServer, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        user = make_user(session)
    variables = handed_to_portal(f"http://127.0.0.1:{hotspot.server.server_port}/login.html")
    answer = requests.post(
        variables["link-login-only"],
        data={"username": user.username, "password": chap_answer(variables, "wrong")},
        allow_redirects=False,
        timeout=10,
    )
    assert parse_qs(urlparse(answer.headers["Location"]).query)["error"] == [INVALID_LOGIN]


def test_the_nas_pages_hand_out_challenges_and_log_in_with_chap(
    chap_nas: HttpNasServer, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        user = make_user(session)
    http = requests.Session()
    first = http.get(f"{chap_nas.url}/login.html", allow_redirects=False, timeout=5)
    second = http.get(f"{chap_nas.url}/login", allow_redirects=False, timeout=5)
    assert first.status_code == second.status_code == 302
    one, two = (parse_qs(urlsplit(r.headers["Location"]).query) for r in (first, second))
    assert one["mac"] == two["mac"]  # the same client (its address)…
    assert one["chap-challenge"] != two["chap-challenge"]  # …a fresh challenge per visit
    chap_id = bytes([int(two["chap-id"][0][1:], 8)])
    challenge = bytes(int(octal, 8) for octal in two["chap-challenge"][0].split("\\")[1:])
    digest = hashlib.md5(chap_id + user.password.encode() + challenge).hexdigest()  # noqa: S324
    answer = http.post(
        f"{chap_nas.url}/login",
        data={"username": user.username, "password": digest, "dst": "http://example.test/"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://example.test/"
    # The challenge answered one login: replaying it is refused and sent back to the portal.
    replay = http.post(
        f"{chap_nas.url}/login",
        data={"username": user.username, "password": digest, "dst": "http://example.test/"},
        allow_redirects=False,
        timeout=5,
    )
    assert "error=" in replay.headers["Location"]
    status = http.get(f"{chap_nas.url}/status", timeout=5).text
    assert "<h1 id='state'>logged in</h1>" in status
    assert user.username in status
