"""Several operators on one installation (issue 15, point 1): an operator's token sees and
changes only its own data, on every admin route; a platform token sees all; operators' settings,
their M-Pesa credentials sealed at rest; the portal and FreeRADIUS of the router's operator."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
from pyrad import packet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.subscribers import CreatePlan, CreateSubscriber, add_plan, add_subscriber
from hotspot.billing.vouchers import generate
from hotspot.core.sealing import SealingError
from hotspot.models import (
    AdminRole,
    AuditEntry,
    Operator,
    Package,
    PaymentMethod,
    PaymentStatus,
    SmsMessage,
)
from hotspot.operators.tenants import default_operator_id, mpesa_secrets
from hotspot.operators.tokens import create_token
from hotspot.web.app import create_app
from tests.support.admin import Admin
from tests.support.factories import (
    default_operator,
    make_nas,
    make_operator,
    make_package,
    make_payment,
    make_purchase,
    unique_nas_address,
)
from tests.support.harness import ApiUnderTest
from tests.support.payments import random_phone
from tests.support.radius import answer_from, pyrad_login, unique_loopback_address
from tests.support.stack import StackUnderTest

LONG_SECRET = "sixteen+chars-ok"
MODULE_START = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Owned:
    """One operator's rows, one of each kind an admin route reads or changes."""

    tag: str
    package_id: int
    nas_id: int
    username: str
    phone: str
    payment_id: int
    unmatched_id: int
    batch: str
    plan_id: int
    account: str


@dataclass(frozen=True)
class Tenancy:
    code: str  # the second operator's
    tokens: dict[str, str]
    a: Owned  # DEFAULT's rows


def own_rows(session: Session, operator: Operator) -> Owned:
    tag = secrets.token_hex(4)
    package = make_package(session, operator=operator)
    nas = make_nas(session, operator_id=operator.id)
    phone = random_phone()
    payment, credentials = make_purchase(session, package, phone=phone)
    unmatched = make_payment(
        session,
        package,
        method=PaymentMethod.C2B,
        status=PaymentStatus.UNMATCHED,
        phone=None,
        bill_ref_number="nobody",
        package_id=None,
    )
    session.add(
        SmsMessage(
            operator_id=operator.id,
            idempotency_key=f"test:{tag}",
            user_id=credentials.user_id,
            phone=phone,
            purpose="credentials",
            body="x",
        )
    )
    session.add(AuditEntry(actor="test", action="test.mark", target=tag, operator_id=operator.id))
    batch = f"batch-{tag}"
    list(generate(session, package, 2, batch))
    plan = add_plan(session, operator, CreatePlan(f"Home {tag}", Decimal(1500), "10M/10M"))
    home, _ = add_subscriber(
        session,
        plan,
        CreateSubscriber(plan.id, f"A{tag.upper()}", f"home-{tag}", dt.date(2030, 1, 1)),
        zoneinfo.ZoneInfo("UTC"),
    )
    session.flush()
    return Owned(
        tag, package.id, nas.id, credentials.username, phone, payment.id, unmatched.id, batch,
        plan.id, home.account_number,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tenancy(stack: StackUnderTest) -> Iterator[Tenancy]:
    tag = secrets.token_hex(3)
    with stack.sessions.begin() as session:
        other = make_operator(session)
        a = own_rows(session, default_operator(session))
        default = default_operator_id(session)
        tokens = {
            "mine": create_token(session, f"a-{tag}", AdminRole.ADMIN, default),
            "theirs": create_token(session, f"b-{tag}", AdminRole.ADMIN, other.id),
            "their_viewer": create_token(session, f"bv-{tag}", AdminRole.VIEWER, other.id),
            "platform": create_token(session, f"p-{tag}", AdminRole.ADMIN, None),
        }
        made = Tenancy(other.code, tokens, a)
    yield made
    retire_test_packages(stack)


def retire_test_packages(stack: StackUnderTest) -> None:
    """Off the installation's portal: the suite's other tests read its page."""
    with stack.sessions.begin() as session:
        session.execute(
            update(Package)
            .where(Package.name.startswith("test "), Package.created_at > MODULE_START)
            .values(is_active=False)
        )


@pytest.fixture
def admins(tenancy: Tenancy, api: ApiUnderTest) -> dict[str, Admin]:
    return {name: Admin(api, token) for name, token in tenancy.tokens.items()}


# --- every admin route ---------------------------------------------------------------------------

# Listings: (the answer's key, whether an item is one of DEFAULT's rows). Another operator's
# token must list none of them; the platform's lists them.
Mark = Callable[[dict[str, Any], Owned], bool]
LISTINGS: dict[tuple[str, str], tuple[str, dict[str, str], Mark]] = {
    ("GET", "/packages"): ("packages", {}, lambda i, a: i["id"] == a.package_id),
    ("GET", "/nas"): ("nas", {}, lambda i, a: i["id"] == a.nas_id),
    ("GET", "/users"): ("users", {}, lambda i, a: i["username"] == a.username),
    ("GET", "/payments"): ("payments", {}, lambda i, a: i["id"] == a.payment_id),
    ("GET", "/sessions"): (
        "sessions", {"status": "pending"}, lambda i, a: i["username"] == a.username
    ),
    ("GET", "/sessions/active"): ("sessions", {}, lambda i, a: i["username"] == a.username),
    ("GET", "/vouchers/batches"): ("batches", {}, lambda i, a: i["batch"] == a.batch),
    ("GET", "/sms"): ("messages", {}, lambda i, a: i["phone"] == a.phone),
    ("GET", "/audit"): ("entries", {"action": "test.mark"}, lambda i, a: i["target"] == a.tag),
    ("GET", "/operators"): ("operators", {}, lambda i, a: i["code"] == "DEFAULT"),
    ("GET", "/plans"): ("plans", {}, lambda i, a: i["id"] == a.plan_id),
    ("GET", "/subscribers"): ("subscribers", {}, lambda i, a: i["account_number"] == a.account),
}  # fmt: skip


def hidden_requests(a: Owned) -> list[tuple[str, str, Any]]:
    """Requests naming DEFAULT's rows: to another operator's token they do not exist (404)."""
    return [
        ("GET", f"/packages/{a.package_id}", None),
        ("PATCH", f"/packages/{a.package_id}", {"price": "1"}),
        ("POST", f"/packages/{a.package_id}/retire", None),
        ("GET", f"/nas/{a.nas_id}", None),
        ("PATCH", f"/nas/{a.nas_id}", {"shortname": "stolen"}),
        ("DELETE", f"/nas/{a.nas_id}", None),
        ("GET", f"/users/{a.username}", None),
        ("POST", f"/users/{a.username}/extend", {"days": 30}),
        ("POST", f"/users/{a.username}/disable", None),
        ("POST", f"/users/{a.username}/enable", None),
        ("POST", f"/users/{a.username}/disconnect", None),
        ("GET", f"/payments/{a.payment_id}", None),
        ("POST", f"/payments/{a.unmatched_id}/resolve", {"account": a.username}),
        ("POST", f"/vouchers/batches/{a.batch}/revoke", None),
        ("GET", "/operators/DEFAULT", None),
        ("PATCH", "/operators/DEFAULT", {"portal_name": "stolen"}),
        ("GET", "/operators/DEFAULT/wallet", None),
        ("POST", "/operators/DEFAULT/payouts", {"amount": "1"}),
        # Creating in DEFAULT's name, or on its package:
        ("POST", "/packages", {"operator": "DEFAULT", "name": "x", "price": "1",
                               "duration_seconds": 60, "rate_limit": "1M/1M"}),
        ("POST", "/nas", {"operator": "DEFAULT", "nasname": unique_nas_address(),
                          "shortname": "x", "secret": LONG_SECRET}),
        ("POST", "/vouchers/batches", {"package_id": a.package_id, "count": 1}),
        ("GET", f"/subscribers/{a.account}", None),
        ("PATCH", f"/subscribers/{a.account}", {"due_date": "2020-01-01"}),
        ("POST", "/subscribers", {"plan_id": a.plan_id, "account_number": "STOLEN1",
                                  "username": "stolen1", "due_date": "2030-01-01"}),
        ("POST", "/plans", {"operator": "DEFAULT", "name": "x", "price": "1",
                            "rate_limit": "1M/1M"}),
    ]  # fmt: skip


# Routes whose answer is the caller's own, whatever the token: not about anyone's rows.
OWN_ANSWER = {("GET", "/whoami"), ("POST", "/operators")}
# The installation's background jobs (any operator's customers): the platform's alone.
PLATFORM_ONLY = [
    ("GET", "/jobs"),
    ("GET", "/jobs/any-job"),
    ("DELETE", "/jobs/any-job"),
    ("POST", "/jobs/any-job/retry"),
]


def admin_routes(stack: StackUnderTest) -> set[tuple[str, str]]:
    """Every route of the admin API, as (method, rule without the /api/admin prefix)."""
    app = create_app(stack.settings)
    return {
        (method, rule.rule.removeprefix("/api/admin"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/admin/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def rule_of(rules: set[tuple[str, str]], path: str) -> str:
    """A concrete path back to its rule."""
    for _, rule in rules:
        parts, given = rule.split("/"), path.split("/")
        if len(parts) == len(given) and all(
            p == g or p.startswith("<") for p, g in zip(parts, given, strict=True)
        ):
            return rule
    raise AssertionError(f"no route for {path}")


def test_the_table_covers_every_admin_route(tenancy: Tenancy, stack: StackUnderTest) -> None:
    rules = admin_routes(stack)
    covered = set(LISTINGS) | OWN_ANSWER
    covered |= {(m, rule_of(rules, p)) for m, p in PLATFORM_ONLY}
    covered |= {(m, rule_of(rules, p)) for m, p, _ in hidden_requests(tenancy.a)}
    assert rules - covered == set(), "an admin route no tenancy test attacks"


@pytest.mark.parametrize("token", ["theirs", "their_viewer"])
def test_another_operators_token_finds_none_of_its_rows(
    admins: dict[str, Admin], tenancy: Tenancy, token: str
) -> None:
    other = admins[token]
    for (method, path), (key, params, mine) in LISTINGS.items():
        found = other.ok(method, path, params={"limit": 500, **params})[key]
        assert not [item for item in found if mine(item, tenancy.a)], path
    for method, path, body in hidden_requests(tenancy.a):
        response = other(method, path, json=body)
        expected = 404 if token == "theirs" or method == "GET" else 403
        assert response.status_code == expected, (method, path, response.text)


@pytest.mark.parametrize("token", ["mine", "theirs", "their_viewer"])
def test_no_operators_token_reaches_the_installations_jobs(
    admins: dict[str, Admin], token: str
) -> None:
    for method, path in PLATFORM_ONLY:
        response = admins[token](method, path)
        assert response.status_code == 403, (method, path, response.text)


def test_nothing_of_the_default_operator_changed_and_the_platform_sees_it_all(
    admins: dict[str, Admin], tenancy: Tenancy
) -> None:
    platform, a = admins["platform"], tenancy.a
    for method, path, _ in hidden_requests(a):
        if method == "GET":
            assert platform(method, path).status_code == 200, path
    for (method, path), (key, params, mine) in LISTINGS.items():
        found = platform.ok(method, path, params={"limit": 500, **params})[key]
        if path != "/sessions/active":  # DEFAULT's user is not online
            assert [item for item in found if mine(item, a)], path
    assert platform.ok("GET", f"/nas/{a.nas_id}")["shortname"] != "stolen"
    assert platform.ok("GET", f"/users/{a.username}")["status"] == "active"
    assert platform.ok("GET", f"/packages/{a.package_id}")["is_active"] is True
    assert platform.ok("GET", "/operators/DEFAULT")["portal_name"] != "stolen"
    assert platform.ok("GET", f"/subscribers/{a.account}")["due_date"] == "2030-01-01"


def test_an_operators_own_rows_are_its_own_and_not_the_default_operators(
    admins: dict[str, Admin], tenancy: Tenancy
) -> None:
    theirs, mine = admins["theirs"], admins["mine"]
    assert theirs.ok("GET", "/whoami")["operator"] == tenancy.code
    # Its RADIUS group is prefixed with its code: group names are one namespace.
    name = session_package_name(tenancy)
    hour = {"name": name, "price": "15", "duration_seconds": 3600, "rate_limit": "2M/5M"}
    package = theirs.ok("POST", "/packages", 201, json=hour)
    assert package["group_name"] == f"{tenancy.code.lower()}-{name.replace(' ', '-')}"
    assert [p["id"] for p in theirs.ok("GET", "/packages")["packages"]] == [package["id"]]
    assert mine("GET", f"/packages/{package['id']}").status_code == 404
    batch = theirs.ok(
        "POST", "/vouchers/batches", 201, json={"package_id": package["id"], "count": 1}
    )
    assert mine("POST", f"/vouchers/batches/{batch['batch']}/revoke").status_code == 404
    entries = theirs.ok("GET", "/audit")["entries"]
    assert {e["action"] for e in entries} == {"package.create", "vouchers.create"}


def session_package_name(tenancy: Tenancy) -> str:
    return f"test {tenancy.a.tag}"


def test_a_platform_token_names_the_operator_of_what_it_creates(
    admins: dict[str, Admin], tenancy: Tenancy
) -> None:
    platform = admins["platform"]
    body = {"name": f"p {secrets.token_hex(3)}", "price": "5", "duration_seconds": 60,
            "rate_limit": "1M/1M"}  # fmt: skip
    refused = platform("POST", "/packages", json=body)
    assert refused.status_code == 422
    assert "name the operator" in refused.json()["error"]
    made = platform.ok("POST", "/packages", 201, json={**body, "operator": tenancy.code})
    assert made["operator_id"] != platform.ok("GET", "/operators/DEFAULT")["id"]
    assert platform("POST", "/packages", json={**body, "operator": "NOSUCH"}).status_code == 404


def test_a_payment_is_resolved_only_onto_the_operators_own_accounts(
    admins: dict[str, Admin], tenancy: Tenancy, stack: StackUnderTest
) -> None:
    with stack.sessions.begin() as session:
        other = session.scalars(select(Operator).where(Operator.code == tenancy.code)).one()
        package = make_package(session, operator=other)
        unmatched = make_payment(
            session,
            package,
            method=PaymentMethod.C2B,
            status=PaymentStatus.UNMATCHED,
            phone=None,
            package_id=None,
        )
    refused = admins["theirs"]("POST", f"/payments/{unmatched.id}/resolve",
                               json={"account": tenancy.a.username})  # fmt: skip
    assert refused.status_code == 422
    assert "no account" in refused.json()["error"]


def test_the_dashboard_shows_an_operator_its_own_figures(
    admins: dict[str, Admin], api: ApiUnderTest, tenancy: Tenancy, stack: StackUnderTest
) -> None:
    with stack.sessions() as session:
        mine = session.get_one(Package, tenancy.a.package_id).name

    def packages(name: str) -> set[str]:
        response = requests.get(
            f"{api.url}/admin/dashboard/data.json",
            headers={"Authorization": f"Bearer {admins[name].token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return {p["package"] for p in response.json()["revenue"]["packages"]}

    assert mine in packages("platform")
    assert mine in packages("mine")
    assert mine not in packages("theirs")


# --- operators' settings -------------------------------------------------------------------------


def test_operators_are_created_by_the_platform_and_set_up_by_their_admins(
    admins: dict[str, Admin], tenancy: Tenancy
) -> None:
    platform, theirs = admins["platform"], admins["theirs"]
    code = f"N{secrets.token_hex(3).upper()}"
    assert theirs("POST", "/operators", json={"code": code, "name": "x"}).status_code == 403
    created = platform.ok("POST", "/operators", 201, json={"code": code, "name": "Net X"})
    assert created["code"] == code
    assert created["mpesa_credentials_set"] is False
    assert platform("POST", "/operators", json={"code": code, "name": "again"}).status_code == 409
    assert platform("POST", "/operators", json={"code": "bad code", "name": "x"}).status_code == 422
    changed = theirs.ok("PATCH", f"/operators/{tenancy.code}", json={
        "portal_name": "Kahawa WiFi", "portal_colors": {"primary": "#123456"},
        "sms_sender_id": "KAHAWA", "currency": "ugx", "phone_region": "ug"})  # fmt: skip
    assert changed["portal_name"] == "Kahawa WiFi"
    assert changed["currency"] == "UGX"
    assert theirs("PATCH", f"/operators/{tenancy.code}",
                  json={"commission_rate": "0"}).status_code == 403  # fmt: skip
    for bad in ({"portal_colors": {"primary": "red; }"}}, {"commission_rate": "1.5"},
                {"phone_region": "K3"}, {"nonsense": 1}):  # fmt: skip
        assert platform("PATCH", f"/operators/{tenancy.code}", json=bad).status_code == 422, bad
    rate = platform.ok("PATCH", f"/operators/{tenancy.code}", json={"commission_rate": "0.05"})
    assert rate["commission_rate"] == "0.0500"


def test_mpesa_credentials_are_sealed_at_rest_and_never_shown(
    admins: dict[str, Admin], tenancy: Tenancy, stack: StackUnderTest
) -> None:
    passkey = f"pk-{secrets.token_hex(16)}"
    secret = f"cs-{secrets.token_hex(16)}"
    answer = admins["theirs"]("PATCH", f"/operators/{tenancy.code}", json={
        "mpesa_shortcode": "600100",
        "mpesa_credentials": {"consumer_key": "ck", "consumer_secret": secret, "passkey": passkey},
    })  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["mpesa_credentials_set"] is True
    assert passkey not in answer.text
    assert secret not in answer.text
    key = stack.settings.secrets_key
    with stack.sessions.begin() as session:
        row = session.scalars(select(Operator).where(Operator.code == tenancy.code)).one()
        assert row.mpesa_secrets is not None
        assert passkey.encode() not in row.mpesa_secrets
        opened = mpesa_secrets(row, key)
        assert opened is not None
        assert opened.passkey == passkey
        with pytest.raises(SealingError):
            mpesa_secrets(row, key + "-another")
        default = session.get_one(Operator, default_operator_id(session))
        default.mpesa_secrets = row.mpesa_secrets  # a ciphertext moved onto another operator
        with pytest.raises(SealingError):
            mpesa_secrets(default, key)
        session.rollback()
    audit = admins["platform"].ok("GET", "/audit", params={"action": "operator.change"})
    assert passkey not in str(audit)
    assert secret not in str(audit)


# --- the portal and FreeRADIUS of the router's operator ----------------------------------------


def test_the_portal_shows_the_operator_of_the_router_the_customer_is_behind(
    admins: dict[str, Admin], tenancy: Tenancy, api: ApiUnderTest, stack: StackUnderTest
) -> None:
    address = f"10.77.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    with stack.sessions.begin() as session:
        other = session.scalars(select(Operator).where(Operator.code == tenancy.code)).one()
        other.portal_name = "Kahawa WiFi"
        other.portal_colors = {"primary": "#123456"}
        make_nas(session, operator_id=other.id, hotspot_address=address)
        theirs = make_package(session, operator=other)
        mine = session.get_one(Package, tenancy.a.package_id)
        names = theirs.name, mine.name
    page = requests.get(f"{api.url}/portal", timeout=10,
                        params={"link-login-only": f"http://{address}/login"})  # fmt: skip
    assert "Kahawa WiFi" in page.text
    assert names[0] in page.text
    assert names[1] not in page.text
    theme = requests.get(f"{api.url}/portal/theme/{other.id}.css", timeout=10)
    assert "--green:#123456" in theme.text
    assert theme.headers["Content-Type"].startswith("text/css")
    home = requests.get(f"{api.url}/portal", timeout=10)  # no router: the installation's own
    assert "Kahawa WiFi" not in home.text
    assert names[0] not in home.text
    bought = requests.get(f"{api.url}/portal/pay/{tenancy.a.package_id}", timeout=10,
                          params={"link-login-only": f"http://{address}/login"},
                          allow_redirects=False)  # fmt: skip
    assert bought.status_code == 302  # another operator's package is not sold here


def test_freeradius_refuses_an_account_on_another_operators_router(
    tenancy: Tenancy, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    address = unique_loopback_address()
    secret = secrets.token_urlsafe(18)
    with committed.begin() as session:
        other = session.scalars(select(Operator).where(Operator.code == tenancy.code)).one()
        make_nas(session, address=address, secret=secret, operator_id=other.id)
        _, theirs = make_purchase(session, make_package(session, operator=other))
        _, mine = make_purchase(session, make_package(session, operator=default_operator(session)))
    refused = pyrad_login(stack, theirs.username, theirs.password)  # DEFAULT's router
    assert refused.code == packet.AccessReject
    assert "another provider" in str(refused.get("Reply-Message", [b""])[0])
    assert pyrad_login(stack, mine.username, mine.password).code == packet.AccessAccept
    at_theirs = answer_from(stack, address, secret, theirs.username, theirs.password)
    assert at_theirs is not None
    assert at_theirs.code == packet.AccessAccept
    at_theirs = answer_from(stack, address, secret, mine.username, mine.password)
    assert at_theirs is not None
    assert at_theirs.code == packet.AccessReject


def test_an_operator_reads_its_wallet_and_only_the_platform_pays_out(
    admins: dict[str, Admin], tenancy: Tenancy, stack: StackUnderTest
) -> None:
    with stack.sessions.begin() as session:
        other = session.scalars(select(Operator).where(Operator.code == tenancy.code)).one()
        make_purchase(session, make_package(session, operator=other, price=Decimal("40")))
    path = f"/operators/{tenancy.code}"
    before = admins["theirs"].ok("GET", f"{path}/wallet")
    assert Decimal(before["balance"]) > 0
    assert before["entries"][0]["kind"] == "payment"
    assert admins["theirs"]("POST", f"{path}/payouts", json={"amount": "1"}).status_code == 403
    too_much = str(Decimal(before["balance"]) + 1)
    refused = admins["platform"]("POST", f"{path}/payouts", json={"amount": too_much})
    assert refused.status_code == 409
    paid = admins["platform"].ok("POST", f"{path}/payouts", 201,
                                 json={"amount": "10", "reference": "B2C-TEST"})  # fmt: skip
    assert Decimal(paid["balance"]) == Decimal(before["balance"]) - 10
    latest = admins["theirs"].ok("GET", f"{path}/wallet")["entries"][0]
    assert (latest["kind"], latest["amount"], latest["reference"]) == (
        "payout",
        "-10.00",
        "B2C-TEST",
    )
