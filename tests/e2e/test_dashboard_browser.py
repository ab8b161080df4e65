"""The operator dashboard in a real headless Chromium: token, three charts, two screen widths.

The API runs on a database of its own holding 30 days of known activity, so the charts and the
screenshots (test-artifacts/dashboard/) are the same on every run. Chromium is the system's
(/usr/bin/chromium, `apt-get install chromium`), driven by Playwright; nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from hotspot.adapters import db
from hotspot.models import (
    AdminRole,
    AdminToken,
    HotspotUser,
    Nas,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RadAcct,
    RadiusSession,
)
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token, revoke_token
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.factories import synced_session
from tests.support.harness import ServerThread, start_api
from tests.support.paths import ROOT
from tests.support.stack import StackUnderTest

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
NASES = (("192.0.2.21", "campus-main"), ("192.0.2.22", "library"), ("192.0.2.23", "hostel"))
PACKAGES = (
    ("1 Hour", Decimal(20), 3600),
    ("1 Day", Decimal(50), 86400),
    ("1 Week", Decimal(300), 604800),
)
OPEN_SESSIONS = {"campus-main": 9, "library": 5, "hostel": 3}


def insert_month(session: Session) -> None:
    """30 days of STK payments (about 85 % paid, 9 in 10 of those online) and open sessions."""
    rng = random.Random(20261123)  # noqa: S311 - the same data on every run, not secrets
    op = default_operator_id(session)
    nases = [Nas(operator_id=op, nasname=ip, shortname=name, secret="x") for ip, name in NASES]
    packages = [
        Package(operator_id=op, name=name, group_name=name.lower().replace(" ", "_"), price=price,
                duration_seconds=seconds, rate_limit="5M/10M")
        for name, price, seconds in PACKAGES
    ]  # fmt: skip
    session.add_all([*nases, *packages])
    session.flush()
    users = [
        HotspotUser(
            operator_id=op,
            username=f"dash{n:03d}",
            phone=f"+2547{10_000_000 + n:08d}",
            package_id=packages[n % 3].id,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
        for n in range(60)
    ]
    session.add_all(users)
    session.flush()
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[Payment | RadAcct | RadiusSession] = []
    for back in range(29, -1, -1):
        day = today - dt.timedelta(days=back)
        for _ in range(12 + (back * 7) % 9 + (0 if back % 7 in (5, 6) else 6)):
            user = rng.choice(users)
            package = rng.choices(packages, weights=(6, 3, 1))[0]
            span = min(86400.0, (dt.datetime.now(dt.UTC) - day).total_seconds() - 600)
            if span < 60:  # just after midnight: today has nothing yet
                continue
            created = day + dt.timedelta(seconds=rng.uniform(0, span))
            roll = rng.random()
            status = (
                PaymentStatus.PAID
                if roll < 0.80 + (back % 5) * 0.02
                else PaymentStatus.FAILED
                if roll < 0.95
                else PaymentStatus.EXPIRED
            )
            paid = created + dt.timedelta(seconds=20) if status is PaymentStatus.PAID else None
            rows.append(
                Payment(
                    operator_id=op,
                    method=PaymentMethod.STK,
                    package_id=package.id,
                    user_id=user.id,
                    phone=user.phone,
                    amount=package.price,
                    amount_paid=package.price if paid else None,
                    status=status,
                    created_at=created,
                    updated_at=paid or created,
                    paid_at=paid,
                )
            )
            if paid and rng.random() < 0.9:
                start = paid + dt.timedelta(seconds=40)
                acct = RadAcct(
                    acctsessionid=secrets.token_hex(4),
                    acctuniqueid=secrets.token_hex(16),
                    username=user.username,
                    nasipaddress=rng.choices(NASES, weights=(5, 3, 2))[0][0],
                    acctstarttime=start,
                    acctstoptime=start + dt.timedelta(minutes=30),
                    acctsessiontime=1800,
                    acctinputoctets=rng.randrange(10**6, 10**8),
                    acctoutputoctets=rng.randrange(10**7, 10**9),
                )
                rows += [acct, synced_session(acct, user.id)]
    now = dt.datetime.now(dt.UTC)
    n = 0
    for ip, name in NASES:
        for _ in range(OPEN_SESSIONS[name]):
            rows.append(
                RadAcct(
                    acctsessionid=secrets.token_hex(4),
                    acctuniqueid=secrets.token_hex(16),
                    username=users[n].username,
                    nasipaddress=ip,
                    acctstarttime=now - dt.timedelta(minutes=5 + n),
                    acctupdatetime=now - dt.timedelta(minutes=1),
                    acctinputoctets=10**6,
                    acctoutputoctets=10**7,
                )
            )
            n += 1
    session.add_all(rows)


@dataclass
class Dashboard:
    url: str
    token: str
    revoked: str


@pytest.fixture(scope="module")
def site(stack: StackUnderTest) -> Iterator[Dashboard]:
    name = f"dashboard_{secrets.token_hex(4)}"
    settings = stack.settings.with_changes(database_url=stack.server.create_database(name))
    server: ServerThread | None = None
    try:
        db.upgrade(settings)
        engine = db.make_engine(settings.effective_database_url)
        with Session(engine) as session, session.begin():
            insert_month(session)
            token = create_token(session, "dashboard-test", AdminRole.VIEWER, None)
            revoked = create_token(session, "dashboard-revoked", AdminRole.ADMIN, None)
            revoked_id = session.query(AdminToken.id).filter_by(name="dashboard-revoked").scalar()
            revoke_token(session, revoked_id)
        engine.dispose()
        server, services = start_api(settings)
        yield Dashboard(server.url, token, revoked)
        services.close()
    finally:
        if server is not None:
            server.stop()
        stack.server.drop_database(name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def test_the_data_needs_a_live_token(site: Dashboard) -> None:
    data = f"{site.url}/admin/dashboard/data.json"
    missing = requests.get(data, timeout=10)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    for wrong in ("not-a-token", site.revoked):
        refused = requests.get(data, headers={"Authorization": f"Bearer {wrong}"}, timeout=10)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    ok = requests.get(data, headers={"Authorization": f"Bearer {site.token}"}, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["Cache-Control"] == "no-store"
    assert len(ok.json()["days"]) == 30
    bad = requests.get(
        data, params={"days": "400"}, headers={"Authorization": f"Bearer {site.token}"}, timeout=10
    )
    assert bad.status_code == 422


def test_the_page_itself_holds_no_data_and_allows_nothing_foreign(site: Dashboard) -> None:
    page = requests.get(f"{site.url}/admin/dashboard", timeout=10)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert "http" not in page.text.replace("http://www.w3.org/2000/svg", "")


def sign_in(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("#token-form button[type=submit]")


def test_the_dashboard_in_chromium(site: Dashboard, browser: Browser) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on(
        "console",
        # The wrong token's 401 is expected; anything else (a CSP violation, a script error) not.
        lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{site.url}/admin/dashboard")
    page.wait_for_selector("#token", state="visible")
    sign_in(page, "wrong-token")
    page.wait_for_selector("#login-error:has-text('not accepted')")
    assert page.evaluate("sessionStorage.getItem('hotspot.adminToken')") is None

    sign_in(page, site.token)
    page.wait_for_selector("body[data-state=ready][data-days='30']")
    assert page.is_hidden("#login")
    assert page.evaluate("sessionStorage.getItem('hotspot.adminToken')") == site.token

    # Revenue: stacked bars on (nearly) every day, one colour per package.
    bars = page.locator("#revenue-chart rect[data-day]")
    assert bars.count() >= 60
    assert (
        page.locator("#revenue-chart rect[data-day]").evaluate_all(
            "rs => new Set(rs.map(r => r.getAttribute('data-day'))).size"
        )
        >= 29  # today too, unless the test runs just after midnight (UTC)
    )
    assert page.locator("#revenue-legend span.swatch").count() == 3
    # Active sessions: one bar per NAS, longest first, with its count.
    nas_bars = page.locator("#sessions-chart rect[data-nas]")
    assert nas_bars.evaluate_all("rs => rs.map(r => r.getAttribute('data-nas'))") == [
        "campus-main", "library", "hostel",
    ]  # fmt: skip
    assert page.text_content("#kpi-sessions") == str(sum(OPEN_SESSIONS.values()))
    # Success rate: two lines over the month, percentages on the axis.
    assert page.locator("#rate-chart path").count() == 2
    assert page.locator("#rate-chart circle").count() >= 55
    assert "100%" in (page.text_content("#rate-chart") or "")
    assert (page.text_content("#kpi-revenue") or "").startswith("KES ")
    assert (page.text_content("#kpi-success") or "").endswith("%")

    page.screenshot(path=str(ARTIFACTS / "dashboard-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_timeout(400)  # the charts are redrawn for the new width
    width = page.locator("#revenue-chart svg").evaluate("s => s.getBoundingClientRect().width")
    assert width <= 340
    page.screenshot(path=str(ARTIFACTS / "dashboard-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.click("button[data-days='7']")
    page.wait_for_selector("body[data-days='7']")
    assert page.locator("#revenue-chart rect[data-day]").evaluate_all(
        "rs => new Set(rs.map(r => r.getAttribute('data-day'))).size"
    ) in (6, 7)
    page.click("#signout")
    page.wait_for_selector("#token", state="visible")
    page.reload()
    page.wait_for_selector("#token", state="visible")

    assert all(url.startswith(site.url) for url in requested), requested
    assert problems == []
    context.close()
