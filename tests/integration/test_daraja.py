"""The Daraja client against the local M-Pesa sandbox: real HTTP on 127.0.0.1, nothing mocked.

The sandbox, a callback receiver and a deliberately broken "Daraja" each run in-process on a
werkzeug server of their own; a private redis-server backs the shared token cache test.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hotspot.adapters.collections import GatewayError
from hotspot.adapters.daraja import (
    OAUTH_PATH,
    STK_PUSH_PATH,
    STK_QUERY_PATH,
    DarajaClient,
    DarajaConfig,
    StkPushAccepted,
    msisdn,
    nairobi_timestamp,
    result_message,
    stk_password,
)
from hotspot.adapters.daraja_tokens import MemoryTokenCache, RedisTokenCache, TokenCache
from hotspot.dev.sandbox.mpesa.rules import SandboxConfig
from hotspot.dev.sandbox.mpesa.server import create_sandbox_app
from hotspot.dev.stack import free_port, redis_answers, redis_binary

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SHORTCODE = "174379"
DELAY = 0.2  # the sandbox's callback delay
WAIT = 5.0  # the most any test waits for a callback


@contextmanager
def serving(app: WSGIApplication) -> Iterator[str]:
    """`app` on a free 127.0.0.1 port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def new_phone(suffix: str = "4149") -> str:
    """A Safaricom-style MSISDN; the last 4 digits pick the sandbox outcome."""
    return f"2547{secrets.randbelow(10_000):04d}{suffix}"


# ---------------------------------------------------------------------------------------------
# Servers


@dataclass
class Sandbox:
    url: str
    config: SandboxConfig

    def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(self.url + path, json=body, timeout=5)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def listing(self) -> dict[str, Any]:
        result: dict[str, Any] = requests.get(self.url + "/sandbox/payments", timeout=5).json()
        return result

    def payment(self, checkout_request_id: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            p for p in self.listing()["payments"] if p["checkout_request_id"] == checkout_request_id
        ]
        assert len(found) == 1
        return found[0]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(
        consumer_key=secrets.token_urlsafe(16),
        consumer_secret=secrets.token_urlsafe(24),
        shortcode=SHORTCODE,
        passkey=secrets.token_hex(32),
        callback_delay=DELAY,
    )
    app = create_sandbox_app(config)
    with serving(app) as url:
        yield Sandbox(url, config)
    app.extensions["mpesa_sandbox"].close()


@pytest.fixture
def restore_sandbox_config(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.control("/sandbox/config", {"callback_delay": DELAY, "default_outcome": "success"})


class CallbackReceiver:
    """Records every JSON body POSTed to it, as our callback endpoint would receive it."""

    def __init__(self) -> None:
        self.url = ""
        self._bodies: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = Request(environ).get_json(silent=True)
        with self._changed:
            self._bodies.append(body if isinstance(body, dict) else {"unreadable": True})
            self._changed.notify_all()
        ack = Response('{"ResultCode": 0, "ResultDesc": "Accepted"}', mimetype="application/json")
        return ack(environ, start_response)

    def _for(self, checkout_request_id: str) -> list[dict[str, Any]]:
        return [
            b
            for b in self._bodies
            if b.get("Body", {}).get("stkCallback", {}).get("CheckoutRequestID")
            == checkout_request_id
        ]

    def wait_for(self, checkout_request_id: str, count: int = 1) -> list[dict[str, Any]]:
        with self._changed:
            self._changed.wait_for(lambda: len(self._for(checkout_request_id)) >= count, WAIT)
            return self._for(checkout_request_id)

    def received(self, checkout_request_id: str) -> list[dict[str, Any]]:
        with self._changed:
            return self._for(checkout_request_id)


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    with serving(receiver) as url:
        receiver.url = url + "/payments/stk-callback"
        yield receiver


@dataclass
class BrokenDaraja:
    """A "Daraja" that misbehaves on purpose; `mode` says how."""

    passkey: str
    mode: str = "html500"
    requests_seen: list[str] = field(default_factory=list)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        req = Request(environ)
        self.requests_seen.append(req.path)
        response = self.respond(req)
        return response(environ, start_response)

    def respond(self, req: Request) -> Response:
        if req.path == OAUTH_PATH:
            if self.mode == "oauth_html":
                return Response("<html>Service Unavailable</html>", 503, mimetype="text/html")
            return Response(
                f'{{"access_token": "{secrets.token_hex(14)}", "expires_in": "3599"}}',
                mimetype="application/json",
            )
        if self.mode == "slow":
            time.sleep(1.0)
        if self.mode == "reject_token":
            return error_response(401, "404.001.03", "Invalid Access Token")
        if self.mode == "echo":
            # A server that leaks what it got into its error message.
            body = req.get_json(silent=True) or {}
            leak = f"{body.get('Password')} {req.headers.get('Authorization')} {self.passkey}"
            return error_response(400, "400.002.02", f"Bad Request - Invalid Password {leak}")
        return Response("<html><h1>Internal Server Error</h1></html>", 500, mimetype="text/html")


def error_response(status: int, code: str, message: str) -> Response:
    body = f'{{"requestId": "1-2-3", "errorCode": "{code}", "errorMessage": "{message}"}}'
    return Response(body, status, mimetype="application/json")


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[BrokenDaraja, str]]:
    server = BrokenDaraja(passkey=secrets.token_hex(32))
    with serving(server) as url:
        yield server, url


# ---------------------------------------------------------------------------------------------
# Clients


@dataclass
class Harness:
    client: DarajaClient
    calls: list[tuple[str, str, int]]  # (method, path, status) of every HTTP exchange

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]


def make_client(
    base_url: str,
    config: SandboxConfig,
    cache: TokenCache | None = None,
    **changes: Any,
) -> Harness:
    calls: list[tuple[str, str, int]] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.url).path
        calls.append((response.request.method or "", path, response.status_code))

    session = requests.Session()
    session.hooks["response"].append(record)
    settings: dict[str, Any] = {
        "base_url": base_url,
        "consumer_key": config.consumer_key,
        "consumer_secret": config.consumer_secret,
        "shortcode": config.shortcode,
        "passkey": config.passkey,
        "timeout": 5.0,
        **changes,
    }
    client = DarajaClient(DarajaConfig(**settings), cache or MemoryTokenCache(), session)
    return Harness(client, calls)


def push(
    harness: Harness,
    receiver: CallbackReceiver,
    phone: str | None = None,
    amount: int = 20,
    now: datetime | None = None,
) -> StkPushAccepted:
    return harness.client.stk_push(
        phone=phone or new_phone(),
        amount=amount,
        account_reference="HS-1A2B3C",
        description="1 Hour WiFi",
        callback_url=receiver.url,
        now=now,
    )


def stk(callback: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = callback["Body"]["stkCallback"]
    return result


def items(callback: dict[str, Any]) -> dict[str, Any]:
    """CallbackMetadata items by Name, as a callback handler must read them."""
    return {i["Name"]: i.get("Value") for i in stk(callback)["CallbackMetadata"]["Item"]}


def assert_no_secrets(exc: GatewayError, *secrets_: str) -> None:
    shown = f"{exc} {exc!r} {exc.raw!r}"
    for secret in secrets_:
        assert secret not in shown


# ---------------------------------------------------------------------------------------------
# OAuth token


def test_token_is_fetched_once_and_reused(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    issued = sandbox.listing()["tokens_issued"]

    accepted = [push(harness, receiver) for _ in range(3)]
    harness.client.stk_query(accepted[0].checkout_request_id)

    assert harness.paths().count(OAUTH_PATH) == 1
    assert harness.paths().count(STK_PUSH_PATH) == 3
    assert sandbox.listing()["tokens_issued"] == issued + 1


def test_token_is_renewed_a_minute_before_it_expires(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    now = [1000.0]
    harness = make_client(sandbox.url, sandbox.config, MemoryTokenCache(clock=lambda: now[0]))

    push(harness, receiver)
    now[0] += 3599 - 60 - 1  # the sandbox says "expires_in": "3599", a string
    push(harness, receiver)
    assert harness.paths().count(OAUTH_PATH) == 1

    now[0] += 1
    push(harness, receiver)
    assert harness.paths().count(OAUTH_PATH) == 2
    assert all(status == 200 for _, _, status in harness.calls)


def test_token_invalidated_by_a_newer_one_is_refreshed_once(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    ours = make_client(sandbox.url, sandbox.config)
    push(ours, receiver)
    # Another process with its own cache asks for a token: Daraja invalidates ours.
    push(make_client(sandbox.url, sandbox.config), receiver)

    push(ours, receiver)

    assert ours.calls[-3:] == [
        ("POST", STK_PUSH_PATH, 401),
        ("GET", OAUTH_PATH, 200),
        ("POST", STK_PUSH_PATH, 200),
    ]
    assert ours.paths().count(OAUTH_PATH) == 2


def test_expired_token_is_refreshed_for_a_query(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    accepted = push(harness, receiver)
    receiver.wait_for(accepted.checkout_request_id)
    sandbox.control("/sandbox/expire-token", {})  # as if the hour had passed

    result = harness.client.stk_query(accepted.checkout_request_id)

    assert result.result_code == "0"
    assert harness.calls[-3:] == [
        ("POST", STK_QUERY_PATH, 401),
        ("GET", OAUTH_PATH, 200),
        ("POST", STK_QUERY_PATH, 200),
    ]


def test_a_refused_fresh_token_is_not_retried_forever(
    broken: tuple[BrokenDaraja, str], receiver: CallbackReceiver
) -> None:
    server, url = broken
    server.mode = "reject_token"
    config = SandboxConfig("key", "secret", SHORTCODE, server.passkey)
    harness = make_client(url, config)

    with pytest.raises(GatewayError, match="access token") as caught:
        push(harness, receiver)

    assert harness.paths() == [OAUTH_PATH, STK_PUSH_PATH, OAUTH_PATH, STK_PUSH_PATH]
    assert caught.value.error_code == "404.001.03"


def test_wrong_consumer_secret_is_a_gateway_error(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    wrong = secrets.token_urlsafe(24)
    harness = make_client(sandbox.url, sandbox.config, consumer_secret=wrong)

    with pytest.raises(GatewayError) as caught:
        push(harness, receiver)

    assert str(caught.value) == (
        "M-Pesa refused our API credentials: Invalid Authentication passed (400.008.01)"
    )
    assert caught.value.error_code == "400.008.01"
    assert_no_secrets(caught.value, wrong, sandbox.config.passkey)


def test_sandbox_oauth_errors(sandbox: Sandbox) -> None:
    url = sandbox.url + OAUTH_PATH
    cfg = sandbox.config
    auth = (cfg.consumer_key, cfg.consumer_secret)

    wrong_grant = requests.get(url, params={"grant_type": "password"}, auth=auth, timeout=5)
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["errorCode"] == "400.008.02"

    bearer = {"Authorization": "Bearer abc"}
    params = {"grant_type": "client_credentials"}
    wrong_type = requests.get(url, params=params, headers=bearer, timeout=5)
    assert wrong_type.status_code == 400
    assert wrong_type.json()["errorCode"] == "400.008.01"

    good = requests.get(url, params=params, auth=auth, timeout=5).json()
    assert good["expires_in"] == "3599"
    assert re.fullmatch(r"[A-Za-z]{28}", good["access_token"])


# ---------------------------------------------------------------------------------------------
# STK push


def test_push_sends_what_daraja_documents(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    phone = new_phone()
    before = datetime.now(UTC)

    accepted = harness.client.stk_push(
        phone="+" + phone,
        amount=50,
        account_reference="HOTSPOT-ORDER-000123",
        description="Internet: 1 Day package",
        callback_url=receiver.url,
    )

    sent = accepted.request
    assert sent["Password"] == "***"
    assert sent["PartyA"] == sent["PhoneNumber"] == phone
    assert sent["PartyB"] == sent["BusinessShortCode"] == SHORTCODE
    assert sent["Amount"] == 50
    assert sent["AccountReference"] == "HOTSPOT-ORDE"
    assert sent["TransactionDesc"] == "Internet: 1 D"
    assert sent["TransactionType"] == "CustomerPayBillOnline"
    stamp = datetime.strptime(sent["Timestamp"], "%Y%m%d%H%M%S")
    nairobi_now = before.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=3)
    assert abs(stamp - nairobi_now) < timedelta(seconds=5)

    assert accepted.checkout_request_id.startswith("ws_CO_")
    assert accepted.merchant_request_id
    assert accepted.customer_message == "Success. Request accepted for processing"
    assert accepted.raw["ResponseCode"] == "0"
    received = sandbox.payment(accepted.checkout_request_id)["received"]
    assert received["CallBackURL"] == receiver.url
    # The audit copy keeps where callbacks go, not the path (it holds the secret token).
    assert sent["CallBackURL"] == receiver.url.rsplit("/", 2)[0] + "/***"
    assert received == {**sent, "CallBackURL": receiver.url}  # the sandbox masks the Password


def test_a_utc_timestamp_is_refused(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    # What a client that formats UTC wall-clock time as the timestamp would send.
    utc_wall_clock = datetime.now(UTC) - timedelta(hours=3)

    with pytest.raises(GatewayError, match=r"Invalid Timestamp \(400\.002\.02\)"):
        push(harness, receiver, now=utc_wall_clock)


def test_phone_and_amount_are_checked_before_any_request(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    assert msisdn(" +254 712345678") == "254712345678"
    assert msisdn("254112345678") == "254112345678"
    for phone in ("0712345678", "25471234567", "+1 202 555 0100", "2547123456789"):
        with pytest.raises(ValueError, match="2547XXXXXXXX"):
            push(harness, receiver, phone=phone)
    for amount in (0, 250_001):
        with pytest.raises(ValueError, match="from 1 to 250000"):
            push(harness, receiver, amount=amount)
    with pytest.raises(ValueError, match="whole shillings"):
        push(harness, receiver, amount=20.5)  # type: ignore[arg-type]
    assert harness.calls == []


def test_sandbox_refuses_a_request_without_json_content_type(sandbox: Sandbox) -> None:
    cfg = sandbox.config
    token = requests.get(
        sandbox.url + OAUTH_PATH,
        params={"grant_type": "client_credentials"},
        auth=(cfg.consumer_key, cfg.consumer_secret),
        timeout=5,
    ).json()["access_token"]

    plain = requests.post(
        sandbox.url + STK_PUSH_PATH,
        data='{"BusinessShortCode": "174379"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
        timeout=5,
    )
    assert plain.status_code == 400
    assert plain.json()["errorMessage"] == "Bad Request - Invalid BusinessShortCode"

    no_token = requests.post(sandbox.url + STK_PUSH_PATH, json={}, timeout=5)
    assert no_token.status_code == 401
    assert no_token.json()["errorCode"] == "404.001.03"


# ---------------------------------------------------------------------------------------------
# Outcomes and callbacks


def test_success_callback_and_query(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    phone = new_phone()
    accepted = push(harness, receiver, phone=phone, amount=50)

    [callback] = receiver.wait_for(accepted.checkout_request_id)

    header = stk(callback)
    assert header["MerchantRequestID"] == accepted.merchant_request_id
    assert header["ResultCode"] == 0
    assert header["ResultDesc"] == "The service request is processed successfully."
    meta = items(callback)
    assert meta["Amount"] == 50
    assert re.fullmatch(r"[A-Z0-9]{10}", meta["MpesaReceiptNumber"])
    assert isinstance(meta["TransactionDate"], int)
    paid_at = datetime.strptime(str(meta["TransactionDate"]), "%Y%m%d%H%M%S")
    nairobi_now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=3)
    assert abs(paid_at - nairobi_now) < timedelta(seconds=10)
    assert meta["PhoneNumber"] == int(phone)

    query = harness.client.stk_query(accepted.checkout_request_id)
    assert (query.pending, query.result_code, query.result_desc) == (
        False,
        "0",
        "The service request is processed successfully.",
    )
    assert "MpesaReceiptNumber" not in query.raw
    assert result_message(query.result_code) == "Payment received. Thank you!"


@pytest.mark.parametrize(
    ("suffix", "code", "desc"),
    [
        ("1032", 1032, "Request cancelled by user"),
        ("1037", 1037, "DS timeout user cannot be reached"),
        ("2001", 2001, "The initiator information is invalid."),
        ("0001", 1, "The balance is insufficient for the transaction."),
        ("1019", 1019, "Transaction has expired"),
    ],
)
def test_failure_callbacks_carry_only_the_header(
    sandbox: Sandbox, receiver: CallbackReceiver, suffix: str, code: int, desc: str
) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    accepted = push(harness, receiver, phone=new_phone(suffix))

    [callback] = receiver.wait_for(accepted.checkout_request_id)

    assert stk(callback) == {
        "MerchantRequestID": accepted.merchant_request_id,
        "CheckoutRequestID": accepted.checkout_request_id,
        "ResultCode": code,
        "ResultDesc": desc,
    }
    query = harness.client.stk_query(accepted.checkout_request_id)
    assert (query.result_code, query.result_desc) == (str(code), desc)
    assert "M-Pesa code" not in result_message(code)


def test_no_callback_only_the_query_knows(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    accepted = push(harness, receiver, phone=new_phone("0000"))

    time.sleep(DELAY * 3)

    assert receiver.received(accepted.checkout_request_id) == []
    query = harness.client.stk_query(accepted.checkout_request_id)
    assert (query.pending, query.result_code) == (False, "0")
    assert sandbox.payment(accepted.checkout_request_id)["callbacks"] == []


def test_triple_callback_delivers_the_same_success_three_times(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    accepted = push(harness, receiver, phone=new_phone("0003"))

    callbacks = receiver.wait_for(accepted.checkout_request_id, count=3)
    time.sleep(DELAY)  # a fourth would show up now

    assert len(receiver.received(accepted.checkout_request_id)) == 3
    assert callbacks[0] == callbacks[1] == callbacks[2]
    assert stk(callbacks[0])["ResultCode"] == 0
    assert [c["status"] for c in sandbox.payment(accepted.checkout_request_id)["callbacks"]] == [
        200,
        200,
        200,
    ]


def test_next_outcome_for_one_phone_and_for_any(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    marked, other = new_phone(), new_phone()
    sandbox.control("/sandbox/next-outcome", {"outcome": "wrong_pin", "phone": "+" + marked})

    first = push(harness, receiver, phone=other)
    second = push(harness, receiver, phone=marked)
    third = push(harness, receiver, phone=marked)
    sandbox.control("/sandbox/next-outcome", {"outcome": "unreachable"})
    fourth = push(harness, receiver, phone=new_phone("0001"))  # beats the phone's own digits
    fifth = push(harness, receiver, phone=other)

    codes = [
        stk(receiver.wait_for(p.checkout_request_id)[0])["ResultCode"]
        for p in (first, second, third, fourth, fifth)
    ]
    assert codes == [0, 2001, 0, 1037, 0]

    refused = requests.post(
        sandbox.url + "/sandbox/next-outcome", json={"outcome": "maybe"}, timeout=5
    )
    assert refused.status_code == 400
    assert "unknown outcome" in refused.json()["error"]


def test_a_failing_callback_target_does_not_break_the_sandbox(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    harness = make_client(sandbox.url, sandbox.config)
    lost = harness.client.stk_push(
        phone=new_phone(),
        amount=20,
        account_reference="HS-LOST",
        description="1 Hour WiFi",
        callback_url=f"http://127.0.0.1:{closed_port}/gone",
    )

    deadline = time.monotonic() + WAIT
    while not sandbox.payment(lost.checkout_request_id)["callbacks"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    [attempt] = sandbox.payment(lost.checkout_request_id)["callbacks"]
    assert attempt["status"] is None
    assert "ConnectionError" in attempt["error"]
    later = push(harness, receiver)
    assert receiver.wait_for(later.checkout_request_id)


@pytest.mark.usefixtures("restore_sandbox_config")
def test_query_is_pending_until_the_customer_answers(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    sandbox.control("/sandbox/config", {"callback_delay": 1.0, "default_outcome": "cancelled"})
    harness = make_client(sandbox.url, sandbox.config)
    accepted = push(harness, receiver)

    pending = harness.client.stk_query(accepted.checkout_request_id)
    assert pending.pending
    assert (pending.result_code, pending.result_desc) == (None, None)
    assert pending.raw["errorCode"] == "500.001.1001"
    assert receiver.received(accepted.checkout_request_id) == []

    [callback] = receiver.wait_for(accepted.checkout_request_id)
    assert stk(callback)["ResultCode"] == 1032
    settled = harness.client.stk_query(accepted.checkout_request_id)
    assert (settled.pending, settled.result_code) == (False, "1032")


def test_unknown_checkout_request_id_is_a_gateway_error(sandbox: Sandbox) -> None:
    harness = make_client(sandbox.url, sandbox.config)
    with pytest.raises(GatewayError, match="Invalid CheckoutRequestID") as caught:
        harness.client.stk_query("ws_CO_000000000000000000")
    assert caught.value.error_code == "400.002.02"


# ---------------------------------------------------------------------------------------------
# Gateway errors


def test_wrong_shortcode_shows_the_gateway_reason(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    harness = make_client(sandbox.url, sandbox.config, shortcode="600000")

    with pytest.raises(GatewayError) as caught:
        push(harness, receiver)

    assert str(caught.value) == (
        "M-Pesa rejected the request: Bad Request - Invalid BusinessShortCode (400.002.02)"
    )
    assert caught.value.error_code == "400.002.02"
    assert isinstance(caught.value.raw, dict)
    assert caught.value.raw["errorCode"] == "400.002.02"


def test_wrong_passkey_is_not_mistaken_for_pending(
    sandbox: Sandbox, receiver: CallbackReceiver
) -> None:
    good = push(make_client(sandbox.url, sandbox.config), receiver)
    wrong = secrets.token_hex(32)
    harness = make_client(sandbox.url, sandbox.config, passkey=wrong)
    now = datetime.now(UTC)

    with pytest.raises(GatewayError) as pushed:
        push(harness, receiver, now=now)
    with pytest.raises(GatewayError) as queried:
        harness.client.stk_query(good.checkout_request_id, now=now)

    for caught in (pushed, queried):
        assert str(caught.value) == "M-Pesa rejected the request: Wrong credentials (500.001.1001)"
        password = stk_password(SHORTCODE, wrong, nairobi_timestamp(now))
        assert_no_secrets(caught.value, wrong, password, sandbox.config.consumer_secret)


def test_connection_refused_is_a_gateway_error(sandbox: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    harness = make_client(f"http://127.0.0.1:{closed_port}", sandbox.config)

    with pytest.raises(GatewayError, match=r"^M-Pesa did not answer \(could not connect\)$"):
        harness.client.stk_query("ws_CO_1")


def test_timeout_is_a_gateway_error(
    broken: tuple[BrokenDaraja, str], receiver: CallbackReceiver
) -> None:
    server, url = broken
    server.mode = "slow"
    config = SandboxConfig("key", "secret", SHORTCODE, server.passkey)
    harness = make_client(url, config, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(GatewayError, match=r"^M-Pesa did not answer in time$"):
        push(harness, receiver)
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("mode", ["html500", "oauth_html"])
def test_an_answer_that_is_not_json_is_a_gateway_error(
    broken: tuple[BrokenDaraja, str], receiver: CallbackReceiver, mode: str
) -> None:
    server, url = broken
    server.mode = mode
    config = SandboxConfig("key", "secret", SHORTCODE, server.passkey)
    harness = make_client(url, config)

    with pytest.raises(GatewayError, match=r"not a JSON object \(HTTP 50[03]\)") as caught:
        push(harness, receiver)

    assert isinstance(caught.value.raw, str)
    assert "<html>" in caught.value.raw


def test_secrets_echoed_by_the_server_are_masked(
    broken: tuple[BrokenDaraja, str], receiver: CallbackReceiver
) -> None:
    server, url = broken
    server.mode = "echo"
    config = SandboxConfig("key", secrets.token_urlsafe(24), SHORTCODE, server.passkey)
    harness = make_client(url, config)
    now = datetime.now(UTC)

    with pytest.raises(GatewayError, match=r"Invalid Password \*\*\* Bearer \*\*\* \*\*\*") as e:
        push(harness, receiver, now=now)

    password = stk_password(SHORTCODE, server.passkey, nairobi_timestamp(now))
    assert_no_secrets(e.value, server.passkey, password, config.consumer_secret)
    assert "***" in repr(e.value.raw)


# ---------------------------------------------------------------------------------------------
# Token caches


def test_unreachable_redis_is_a_cache_miss(sandbox: Sandbox, receiver: CallbackReceiver) -> None:
    down = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    cache = RedisTokenCache(down)
    assert cache.get("anything") is None
    cache.set("anything", "token", 60)

    harness = make_client(sandbox.url, sandbox.config, cache)
    push(harness, receiver)
    push(harness, receiver)
    assert harness.paths().count(OAUTH_PATH) == 2  # nothing cached, payments still work


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data: Path = tmp_path_factory.mktemp("redis")
    command = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not redis_answers(port):
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_redis_token_cache_shares_one_token_between_processes(
    sandbox: Sandbox, receiver: CallbackReceiver, redis_url: str
) -> None:
    first = make_client(
        sandbox.url, sandbox.config, RedisTokenCache(redis.Redis.from_url(redis_url))
    )
    second = make_client(
        sandbox.url, sandbox.config, RedisTokenCache(redis.Redis.from_url(redis_url))
    )

    push(first, receiver)
    push(second, receiver)
    push(first, receiver)

    assert first.paths().count(OAUTH_PATH) + second.paths().count(OAUTH_PATH) == 1
    assert all(status == 200 for _, _, status in first.calls + second.calls)
    direct = redis.Redis.from_url(redis_url, decode_responses=True)
    key = "hotspot:" + first.client.token_cache_key
    ttl = direct.ttl(key)
    assert isinstance(ttl, int)
    assert 3599 - 60 - 5 <= ttl <= 3599 - 60
    assert sandbox.config.consumer_secret not in key
    assert sandbox.config.consumer_key not in key
