"""The token in the URLs M-Pesa calls is the only thing between the internet and free credit: it
is never shown, stored or logged, it is compared safely, and it can be rotated with one command
(issue 11, items 2 and 4)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters import db
from hotspot.billing.callback_tokens import CallbackTokens, derive, rotate
from hotspot.core.logs import JsonFormatter
from hotspot.core.settings import Settings
from hotspot.models import AdminRole, CallbackTokenGeneration, Payment, PaymentEvent
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from tests.support.cli import run_hotspot
from tests.support.factories import make_user
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest, ServerThread, start_api
from tests.support.payments import package_id, pay, random_phone, wait_for_status
from tests.support.stack import StackUnderTest


def every_token(settings: Settings, sessions: sessionmaker[Session]) -> list[str]:
    """Both secrets and every generation's token, valid or not."""
    with sessions() as session:
        newest = session.scalar(select(func.max(CallbackTokenGeneration.generation))) or 1
    first, key = settings.mpesa_callback_token, settings.mpesa_callback_key
    return [key, *(derive(first, key, g) for g in range(1, newest + 1))]


# --- never shown, stored or logged -------------------------------------------------------------


def test_a_viewer_reading_a_payment_and_its_timeline_sees_no_callback_token(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    created = pay(api, random_phone(), package_id(committed, "1 Hour")).json()
    wait_for_status(api, created, "paid")
    with committed.begin() as session:
        viewer = create_token(
            session,
            f"viewer-{secrets.token_hex(3)}",
            AdminRole.VIEWER,
            default_operator_id(session),
        )
    shown = requests.get(
        f"{api.url}/api/admin/payments/{created['id']}",
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=5,
    )
    assert shown.status_code == 200
    for token in every_token(api.settings, committed):
        assert token not in shown.text
    with committed() as session:
        stored = session.scalars(
            select(PaymentEvent.detail).where(PaymentEvent.payment_id == created["id"])
        ).all()
    push = next(d for d in stored if "request" in d)
    assert push["request"]["CallBackURL"] == f"{api.url}/***"
    for token in every_token(api.settings, committed):
        assert token not in json.dumps(stored)


def test_an_unhandled_error_in_a_callback_logs_the_path_masked(
    api: ApiUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    broken, services = start_api(
        api.settings.with_changes(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    path = api.callback_url.removeprefix(api.url)
    token = path.rsplit("/", 1)[1]
    try:
        with caplog.at_level(logging.INFO):
            answer = requests.post(f"{broken.url}{path}", data=b"{}", timeout=10)
    finally:
        broken.stop()
        services.close()
    assert answer.status_code == 500  # the database is gone: nothing to settle with
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name.startswith("hotspot")]
    assert any("Exception on /api/callbacks/stk/*** [POST]" in line for line in lines)
    assert not [line for line in lines if token in line]


@pytest.mark.parametrize("token", ["ñ" * 32, "%E2%82%AC", "\u0660" * 10, "x" * 4000])
def test_a_strange_token_is_404_never_500(api: ApiUnderTest, token: str) -> None:
    for path in (f"stk/{token}", f"c2b/{token}/confirm", f"c2b/{token}/validate"):
        answer = requests.post(f"{api.url}/api/callbacks/{path}", data=b"{}", timeout=5)
        assert answer.status_code == 404, (path, answer.text)


# --- rotation ----------------------------------------------------------------------------------


@dataclass
class Installation:
    """An API on a database of its own, so rotating its tokens disturbs no other test."""

    api: ApiUnderTest
    sessions: sessionmaker[Session]
    env: dict[str, str]


@pytest.fixture
def installation(stack: StackUnderTest, mpesa: MpesaSandboxUnderTest) -> Iterator[Installation]:
    name = f"rotation_{secrets.token_hex(4)}"
    settings = stack.settings.with_changes(
        database_url=stack.server.create_database(name), mpesa_base_url=mpesa.url
    )
    server: ServerThread | None = None
    try:
        db.upgrade(settings)
        engine = db.make_engine(settings.effective_database_url)
        server, services = start_api(settings)
        env = {
            **stack.env(),
            "HOTSPOT_DATABASE_URL": settings.effective_database_url,
            "HOTSPOT_MPESA_BASE_URL": mpesa.url,
            "HOTSPOT_PUBLIC_BASE_URL": server.url,
        }
        yield Installation(ApiUnderTest(server.url, services), db.session_factory(engine), env)
        services.close()
        engine.dispose()
    finally:
        if server is not None:
            server.stop()
        stack.server.drop_database(name)


def hotspot(installation: Installation, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hotspot(installation.env, *args)


def fresh_view(installation: Installation) -> CallbackTokens:
    """What a process that starts now accepts (the API's own view catches up within seconds)."""
    s = installation.api.settings
    return CallbackTokens(installation.sessions, s.mpesa_callback_token, s.mpesa_callback_key)


def test_rotating_registers_c2b_urls_with_the_new_token_and_keeps_the_old_one_for_a_while(
    installation: Installation, mpesa: MpesaSandboxUnderTest
) -> None:
    old = fresh_view(installation).current()
    done = hotspot(installation, "mpesa", "rotate-callback-token", "--grace", "3600")
    assert done.returncode == 0, done.stderr
    new = fresh_view(installation).current()
    assert new != old
    for token in every_token(installation.api.settings, installation.sessions):
        assert token not in done.stdout + done.stderr
    registered = mpesa.sandbox.listing()["c2b_urls"]
    assert (
        registered["ConfirmationURL"] == f"{installation.api.url}/api/callbacks/c2b/{new}/confirm"
    )
    assert registered["ValidationURL"] == f"{installation.api.url}/api/callbacks/c2b/{new}/validate"
    assert fresh_view(installation).accepts(old)

    # A customer pays the paybill to their username: the sandbox calls the new URLs.
    with installation.sessions.begin() as session:
        user = make_user(session, phone=None)
    paid = requests.post(
        f"{mpesa.url}/sandbox/c2b", json={"bill_ref": user.username, "amount": 50}, timeout=10
    ).json()
    assert paid["confirmation"] == 200
    with installation.sessions() as session:
        assert (
            session.scalar(select(Payment.status).where(Payment.mpesa_receipt == paid["TransID"]))
            == "paid"
        )


def test_once_its_grace_ends_an_old_token_is_404(installation: Installation) -> None:
    old = fresh_view(installation).current()
    with installation.sessions.begin() as session:
        rotate(session, dt.timedelta(seconds=3600), dt.datetime.now(dt.UTC))
    assert fresh_view(installation).accepts(old)
    with installation.sessions.begin() as session:
        session.execute(
            update(CallbackTokenGeneration)
            .where(CallbackTokenGeneration.retires_at.is_not(None))
            .values(retires_at=func.now() - text("interval '1 second'"))
        )
    view = fresh_view(installation)
    assert not view.accepts(old)
    assert view.accepts(view.current())
    server, services = start_api(installation.api.settings)  # started after the grace ended
    try:
        answer = requests.post(f"{server.url}/api/callbacks/stk/{old}", data=b"{}", timeout=5)
        fresh = requests.post(
            f"{server.url}/api/callbacks/stk/{view.current()}", data=b"{}", timeout=5
        )
    finally:
        server.stop()
        services.close()
    assert answer.status_code == 404
    assert fresh.status_code == 400  # through the door, then refused for its empty body


def test_urls_registered_before_rotation_existed_keep_working(installation: Installation) -> None:
    """Until the first rotation the token is HOTSPOT_MPESA_CALLBACK_TOKEN, as it always was."""
    assert fresh_view(installation).current() == installation.api.settings.mpesa_callback_token


def test_a_leaked_token_rotated_with_no_grace_stops_at_once(installation: Installation) -> None:
    leaked = fresh_view(installation).current()
    done = hotspot(installation, "mpesa", "rotate-callback-token", "--grace", "0", "--no-register")
    assert done.returncode == 0, done.stderr
    view = fresh_view(installation)
    assert not view.accepts(leaked)
    # Nothing computed from the leaked token is the new one: it is keyed by another secret.
    assert view.current() not in {derive(leaked, leaked, g) for g in range(2, 6)}


def test_register_urls_says_why_when_daraja_refuses(
    installation: Installation, mpesa: MpesaSandboxUnderTest
) -> None:
    installation.env["HOTSPOT_MPESA_SHORTCODE"] = "999999"
    done = hotspot(installation, "mpesa", "register-urls")
    assert done.returncode != 0
    assert "M-Pesa" in done.stderr
    assert "Traceback" not in done.stderr
