"""The admin API over real HTTP, on the real PostgreSQL, Redis and FreeRADIUS: bearer tokens and
roles, each endpoint, RADIUS following every change, and the audit log."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from pyrad import packet
from rq.job import Job
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from hotspot.cli.tokens import tokens_group
from hotspot.core.phones import normalize_phone
from hotspot.models import (
    AdminRole,
    AdminToken,
    HotspotUser,
    Package,
    Payment,
    RadCheck,
    RadGroupReply,
    RadiusSession,
    SessionStatus,
    SmsMessage,
    SmsStatus,
)
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token, issue_token, revoke_token
from hotspot.web.app import create_app
from tests.support.admin import Admin
from tests.support.factories import (
    GIB,
    expiration_value,
    make_package,
    make_user,
    unique_nas_address,
)
from tests.support.harness import ApiUnderTest
from tests.support.payments import c2b_body, random_phone, receipt
from tests.support.radius import accounting, answer_from, pyrad_login, unique_loopback_address
from tests.support.stack import RADIUS_CLIENT_LIFETIME, StackUnderTest, make_test_settings
from tests.support.waiting import wait_for

LONG_SECRET = "sixteen+chars-ok"  # the shortest secret the API takes


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    tag = secrets.token_hex(3)
    return {"admin": f"test-admin-{tag}", "viewer": f"test-viewer-{tag}"}


@pytest.fixture(scope="module")
def tokens(stack: StackUnderTest, names: dict[str, str]) -> dict[str, str]:
    with stack.sessions.begin() as session:
        return {
            role: create_token(session, names[role], AdminRole(role), default_operator_id(session))
            for role in ("admin", "viewer")
        }


@pytest.fixture
def admin(api: ApiUnderTest, tokens: dict[str, str]) -> Admin:
    return Admin(api, tokens["admin"])


@pytest.fixture
def viewer(api: ApiUnderTest, tokens: dict[str, str]) -> Admin:
    return Admin(api, tokens["viewer"])


def new_user(
    committed: sessionmaker[Session], *, phone: str | None = None, **kw: Any
) -> Credentials:
    with committed.begin() as session:
        package = make_package(session, **kw)
        return make_user(session, package=package, phone=phone)


def radcheck(committed: sessionmaker[Session], username: str, attribute: str) -> list[str]:
    with committed() as session:
        return list(
            session.scalars(
                select(RadCheck.value).where(
                    RadCheck.username == username, RadCheck.attribute == attribute
                )
            )
        )


def audit_entries(admin: Admin, **filters: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = admin.ok("GET", "/audit", params={"limit": 500, **filters})[
        "entries"
    ]
    return entries


def job(api: ApiUnderTest, job_id: str) -> Any:
    return Job.fetch(job_id, connection=api.services.redis)


# --- tokens and roles --------------------------------------------------------------------------


def test_requests_without_a_valid_token_are_401_with_a_bearer_challenge(
    api: ApiUnderTest, stack: StackUnderTest, tokens: dict[str, str]
) -> None:
    with stack.sessions.begin() as session:
        row, revoked = issue_token(
            session, f"test-revoked-{secrets.token_hex(3)}", "admin", default_operator_id(session)
        )
        revoke_token(session, row.id)
    url = f"{api.url}/api/admin/packages"
    for headers in (
        {},
        {"Authorization": f"Basic {tokens['admin']}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer two words"},
        {"Authorization": "Bearer " + secrets.token_urlsafe(32)},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), headers
        assert response.json()["error"]
    unknown = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    # The scheme is case-insensitive (RFC 7235).
    lower = requests.get(url, headers={"Authorization": f"bearer {tokens['viewer']}"}, timeout=5)
    assert lower.status_code == 200


def test_every_operator_route_wants_a_token(tmp_path: Path) -> None:
    """Each handler carries `requires`: a route added without it fails here, named."""
    app = create_app(make_test_settings(tmp_path))
    client = app.test_client()
    operator_rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/admin/") or rule.rule == "/admin/dashboard/data.json"
    ]
    assert len(operator_rules) > 20
    for rule in operator_rules:
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, rule.rule)
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, rule.rule)


def test_a_viewer_reads_everything_and_writes_nothing(
    viewer: Admin, admin: Admin, committed: sessionmaker[Session], names: dict[str, str]
) -> None:
    user = new_user(committed)
    for path in (
        "/packages",
        "/nas",
        "/users",
        f"/users/{user.username}",
        "/sessions/active",
        "/sessions",
        "/payments",
        "/vouchers/batches",
        "/sms",
        "/audit",
        "/whoami",
    ):
        assert viewer("GET", path).status_code == 200, path
    for method, path in (
        ("POST", "/packages"),
        ("PATCH", "/packages/1"),
        ("POST", "/packages/1/retire"),
        ("POST", "/nas"),
        ("DELETE", "/nas/1"),
        ("POST", f"/users/{user.username}/disable"),
        ("POST", f"/users/{user.username}/extend"),
        ("POST", f"/users/{user.username}/disconnect"),
        ("POST", "/payments/1/resolve"),
        ("POST", "/vouchers/batches"),
    ):
        response = viewer(method, path, json={})
        assert response.status_code == 403, (method, path)
    assert radcheck(committed, user.username, "Auth-Type") == []  # nothing happened
    me = viewer.ok("GET", "/whoami")
    assert (me["name"], me["role"]) == (names["viewer"], "viewer")
    assert admin.ok("GET", "/whoami")["role"] == "admin"


def test_last_used_is_recorded(
    admin: Admin, committed: sessionmaker[Session], names: dict[str, str]
) -> None:
    admin.ok("GET", "/whoami")
    with committed() as session:
        token = session.scalars(select(AdminToken).where(AdminToken.name == names["admin"])).one()
    assert token.last_used_at is not None
    assert dt.datetime.now(dt.UTC) - token.last_used_at < dt.timedelta(minutes=2)


def test_the_cli_creates_lists_and_revokes_tokens(api: ApiUnderTest, stack: StackUnderTest) -> None:
    runner = CliRunner()
    env = stack.env()
    name = f"test-cli-{secrets.token_hex(3)}"
    created = runner.invoke(
        tokens_group,
        ["create", "--name", name, "--role", "viewer", "--operator", "default"],
        env=env,
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    client = Admin(api, token)
    me = client.ok("GET", "/whoami")
    assert me["name"] == name
    assert me["role"] == "viewer"
    listed = runner.invoke(tokens_group, ["list"], env=env)
    assert listed.exit_code == 0
    assert name in listed.stdout
    assert token not in listed.stdout
    again = runner.invoke(tokens_group, ["create", "--name", name, "--role", "admin"], env=env)
    assert again.exit_code != 0  # a live token of that name exists
    revoked = runner.invoke(tokens_group, ["revoke", str(me["id"])], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert client("GET", "/whoami").status_code == 401
    with stack.sessions() as session:
        stored = session.get_one(AdminToken, me["id"])
    assert stored.token_hash != token  # only the digest is stored
    assert len(stored.token_hash) == 64


# --- packages ----------------------------------------------------------------------------------


def group_reply(committed: sessionmaker[Session], group: str) -> dict[str, str]:
    with committed() as session:
        rows = session.execute(
            select(RadGroupReply.attribute, RadGroupReply.value).where(
                RadGroupReply.groupname == group
            )
        ).all()
    return dict(rows)


def test_packages_are_created_changed_and_retired_with_radius_following(
    admin: Admin,
    api: ApiUnderTest,
    stack: StackUnderTest,
    committed: sessionmaker[Session],
) -> None:
    name = f"test pkg {secrets.token_hex(3)}"
    created = admin.ok(
        "POST",
        "/packages",
        201,
        json={
            "name": name,
            "price": "35",
            "duration_seconds": 7200,
            "rate_limit": "2M/4M",
            "data_cap_bytes": GIB,
        },
    )
    assert created["price"] == "35.00"
    assert created["devices"] == 1
    group = created["group_name"]
    assert group_reply(committed, group)["Mikrotik-Rate-Limit"] == "2M/4M"
    listed = admin.ok("GET", "/packages", params={"active": "true", "limit": 500})["packages"]
    assert created["id"] in [p["id"] for p in listed]

    with committed.begin() as session:
        user = make_user(session, package=session.get_one(Package, created["id"]))
    assert radcheck(committed, user.username, "Simultaneous-Use") == ["1"]

    changed = admin.ok(
        "PATCH",
        f"/packages/{created['id']}",
        json={
            "rate_limit": "3M/6M",
            "data_cap_bytes": 5 * GIB,
            "devices": 2,
            "price": 40,
            "name": name + " v2",
        },
    )
    assert changed["group_name"] == group  # the RADIUS identity stays
    assert changed["name"] == name + " v2"
    assert changed["users_resynced"] == 1
    assert set(changed["changed"]) == {"rate_limit", "data_cap_bytes", "devices", "price", "name"}
    reply_rows = group_reply(committed, group)
    assert reply_rows["Mikrotik-Rate-Limit"] == "3M/6M"
    assert reply_rows["Mikrotik-Total-Limit"] == str((5 * GIB) % 2**32)
    assert reply_rows["Mikrotik-Total-Limit-Gigawords"] == "1"
    assert radcheck(committed, user.username, "Simultaneous-Use") == ["2"]
    reply = pyrad_login(stack, user.username, user.password)
    assert reply.code == packet.AccessAccept
    assert reply["Mikrotik-Rate-Limit"] == ["3M/6M"]

    uncapped = admin.ok("PATCH", f"/packages/{created['id']}", json={"data_cap_bytes": None})
    assert uncapped["data_cap_bytes"] is None
    assert "Mikrotik-Total-Limit" not in group_reply(committed, group)

    retired = admin.ok("POST", f"/packages/{created['id']}/retire")
    assert retired["is_active"] is False
    on_sale = requests.get(f"{api.url}/api/packages", timeout=5).json()["packages"]
    assert created["id"] not in [p["id"] for p in on_sale]
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept
    assert admin("POST", f"/packages/{created['id']}/retire").status_code == 409

    actions = [e["action"] for e in audit_entries(admin, target=f"package:{created['id']}")]
    assert actions == ["package.retire", "package.change", "package.change", "package.create"]


# --- NAS ---------------------------------------------------------------------------------------


def test_nas_are_created_changed_and_deleted_and_say_when_freeradius_follows(
    admin: Admin, viewer: Admin
) -> None:
    address = unique_nas_address()
    secret = "nas-" + secrets.token_urlsafe(12)
    created = admin.ok(
        "POST",
        "/nas",
        201,
        json={"nasname": address, "shortname": "branch", "secret": secret, "coa_port": 3799},
    )
    assert created["freeradius_reload_needed"] is False
    assert created["freeradius_applies_within_seconds"] == RADIUS_CLIENT_LIFETIME
    assert f"within {RADIUS_CLIENT_LIFETIME} s" in created["note"]
    assert created["type"] == "other"
    assert created["require_message_authenticator"] is True
    assert created["hotspot_address"] is None
    assert created["secret_set"] is True
    assert secret not in json.dumps(created)
    assert (
        admin(
            "POST", "/nas", json={"nasname": address, "shortname": "x", "secret": LONG_SECRET}
        ).status_code
        == 409
    )

    new_secret = "nas-" + secrets.token_urlsafe(12)
    changed = admin.ok(
        "PATCH", f"/nas/{created['id']}", json={"secret": new_secret, "description": "2nd floor"}
    )
    assert changed["description"] == "2nd floor"
    assert changed["freeradius_reload_needed"] is False
    listed = viewer.ok("GET", "/nas", params={"limit": 500})["nas"]
    assert address in [n["nasname"] for n in listed]
    assert secret not in json.dumps(listed)
    assert new_secret not in json.dumps(listed)

    deleted = admin.ok("DELETE", f"/nas/{created['id']}")
    assert deleted["freeradius_reload_needed"] is False
    assert admin("GET", f"/nas/{created['id']}").status_code == 404

    entries = audit_entries(admin, target=f"nas:{created['id']}")
    assert [e["action"] for e in entries] == ["nas.delete", "nas.change", "nas.create"]
    assert entries[1]["detail"]["changes"]["secret_changed"] is True
    dumped = json.dumps(entries)
    assert secret not in dumped
    assert new_secret not in dumped


def test_freeradius_serves_rekeys_and_refuses_a_router_within_its_lifetime_without_a_restart(
    admin: Admin, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """FreeRADIUS keeps running throughout: it looks the router up in the nas table when the
    router first sends, and again once the cached definition is RADIUS_CLIENT_LIFETIME s old."""
    user = new_user(committed)
    address = unique_loopback_address()
    secret, new_secret = ("nas-" + secrets.token_urlsafe(12) for _ in range(2))
    margin = RADIUS_CLIENT_LIFETIME + 3

    def login(with_secret: str) -> packet.Packet | None:
        return answer_from(stack, address, with_secret, user.username, user.password)

    assert login(secret) is None  # not a router of ours yet: no answer

    created = admin.ok(
        "POST", "/nas", 201, json={"nasname": address, "shortname": "new-branch", "secret": secret}
    )
    # Not known before, so looked up at its first packet: served at once.
    reply = wait_for(lambda: login(secret), margin)
    assert reply is not None
    assert reply.code == packet.AccessAccept
    accounting_reply = answer_from(
        stack, address, secret, user.username, kind="acct", Acct_Status_Type="Accounting-On"
    )
    assert accounting_reply is not None  # the accounting port knows it too

    admin.ok("PATCH", f"/nas/{created['id']}", json={"secret": new_secret})
    wait_for(lambda: login(secret) is None, margin)  # the old secret: answered no more
    reply = login(new_secret)
    assert reply is not None
    assert reply.code == packet.AccessAccept

    admin.ok("DELETE", f"/nas/{created['id']}")
    wait_for(lambda: login(new_secret) is None, margin)
    assert login(new_secret) is None
    assert login(secret) is None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_nas_secret_shorter_than_16_characters_is_refused(admin: Admin, method: str) -> None:
    address = unique_nas_address()
    fields = {"nasname": address, "shortname": "short", "secret": LONG_SECRET}
    path = "/nas"
    if method == "PATCH":
        path = f"/nas/{admin.ok('POST', '/nas', 201, json=fields)['id']}"
    short = secrets.token_hex(8)[:15]
    response = admin(method, path, json={**fields, "secret": short})
    assert response.status_code == 422, response.text
    assert "at least 16 characters" in response.json()["error"]
    assert short not in response.text
    admin.ok(method, path, 201 if method == "POST" else 200, json={**fields, "secret": short + "x"})


def test_a_nas_takes_the_message_authenticator_flag_and_hotspot_address_audited(
    admin: Admin, viewer: Admin
) -> None:
    created = admin.ok(
        "POST",
        "/nas",
        201,
        json={
            "nasname": unique_nas_address(),
            "shortname": "old-routeros",
            "secret": LONG_SECRET,
            "require_message_authenticator": False,
            "hotspot_address": "Hotspot.Example.COM:8080",
        },
    )
    assert created["require_message_authenticator"] is False
    assert created["hotspot_address"] == "hotspot.example.com:8080"
    changed = admin.ok(
        "PATCH",
        f"/nas/{created['id']}",
        json={"require_message_authenticator": True, "hotspot_address": "10.5.50.1"},
    )
    assert changed["require_message_authenticator"] is True
    assert viewer.ok("GET", f"/nas/{created['id']}")["hotspot_address"] == "10.5.50.1"
    cleared = admin.ok("PATCH", f"/nas/{created['id']}", json={"hotspot_address": None})
    assert cleared["hotspot_address"] is None
    [*changes, create] = audit_entries(admin, target=f"nas:{created['id']}")
    assert create["detail"]["require_message_authenticator"] is False
    assert create["detail"]["hotspot_address"] == "hotspot.example.com:8080"
    assert changes[1]["detail"]["changes"] == {
        "require_message_authenticator": {"from": False, "to": True},
        "hotspot_address": {"from": "hotspot.example.com:8080", "to": "10.5.50.1"},
    }
    assert changes[0]["detail"]["changes"] == {"hotspot_address": {"from": "10.5.50.1", "to": None}}


# --- hotspot users -----------------------------------------------------------------------------


def test_users_are_found_by_any_phone_form_or_username_prefix_and_shown_whole(
    admin: Admin, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    user = new_user(committed, phone=normalize_phone(phone))
    for query in ({"q": phone}, {"q": "+254" + phone[1:]}, {"phone": "254" + phone[1:]}):
        found = admin.ok("GET", "/users", params=query)["users"]
        assert [u["username"] for u in found] == [user.username], query
    by_prefix = admin.ok("GET", "/users", params={"q": user.username[:4], "limit": 500})["users"]
    assert user.username in [u["username"] for u in by_prefix]
    assert admin.ok("GET", "/users", params={"username": user.username})["users"][0]["phone"] == (
        "+254" + phone[1:]
    )

    session_id = secrets.token_hex(4)
    accounting(stack, "Start", user.username, session_id)
    try:
        shown = admin.ok("GET", f"/users/{user.username}")
        assert shown["package"]["name"].startswith("test ")
        assert shown["expires_at"] == user.expires_at.isoformat()
        assert shown["data_used_bytes"] == 0
        assert shown["credit"] == "0.00"
        assert [s["acct_session_id"] for s in shown["open_sessions"]] == [session_id]
        assert shown["recent_payments"] == []
        assert user.password not in json.dumps(shown)

        active = admin.ok("GET", "/sessions/active", params={"username": user.username})
        assert [s["acct_session_id"] for s in active["sessions"]] == [session_id]
        assert active["sessions"][0]["user"]["phone"] == "+254" + phone[1:]
        by_nas = admin.ok("GET", "/sessions/active", params={"nas": "127.0.0.1", "limit": 500})
        assert session_id in [s["acct_session_id"] for s in by_nas["sessions"]]
    finally:
        accounting(stack, "Stop", user.username, session_id, {"Acct-Session-Time": 5})
    assert admin.ok("GET", "/sessions/active", params={"username": user.username})["sessions"] == []


def test_session_history_filters_by_user_nas_and_time(
    admin: Admin, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    started = dt.datetime(2031, 5, 4, 10, 0, tzinfo=dt.UTC)
    with committed.begin() as session:
        user_id = session.scalars(
            select(HotspotUser.id).where(HotspotUser.username == user.username)
        ).one()
        session.add(
            RadiusSession(
                user_id=user_id,
                status=SessionStatus.CLOSED,
                acct_unique_id=secrets.token_hex(8),
                nas_ip="127.0.0.1",
                started_at=started,
                stopped_at=started + dt.timedelta(minutes=30),
                input_octets=100,
                output_octets=200,
            )
        )
    shown = admin.ok("GET", "/sessions", params={"username": user.username})["sessions"]
    assert [(s["status"], s["nas_ip"]) for s in shown] == [("closed", "127.0.0.1")]
    in_range = {"since": "2031-05-04T12:00:00+03:00", "until": "2031-05-04T14:00:00+03:00"}
    assert (
        len(admin.ok("GET", "/sessions", params={**in_range, "nas": "127.0.0.1"})["sessions"]) == 1
    )
    out_of_range = {"username": user.username, "since": "2031-05-04T10:00:01Z"}
    assert admin.ok("GET", "/sessions", params=out_of_range)["sessions"] == []
    other_nas = {"username": user.username, "nas": "192.0.2.1"}
    assert admin.ok("GET", "/sessions", params=other_nas)["sessions"] == []


def test_disable_rejects_logins_and_disconnects_enable_lets_them_back(
    admin: Admin, api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept

    disabled = admin.ok("POST", f"/users/{user.username}/disable")
    assert disabled["status"] == "disabled"
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessReject
    entry = audit_entries(admin, target=f"user:{user.username}")[0]
    assert entry["action"] == "user.disable"
    queued = job(api, f"admin-disconnect-{entry['id']}")
    assert queued.func_name == "jobs.expiry.disconnect_user"
    assert list(queued.args) == [user.username, "admin-disabled"]
    assert admin("POST", f"/users/{user.username}/disable").status_code == 409

    enabled = admin.ok("POST", f"/users/{user.username}/enable")
    assert enabled["status"] == "active"
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept
    assert admin("POST", f"/users/{user.username}/enable").status_code == 409

    disconnect = admin.ok("POST", f"/users/{user.username}/disconnect", 202)
    assert disconnect == {"username": user.username, "disconnecting": 0}
    entry = audit_entries(admin, target=f"user:{user.username}")[0]
    assert entry["action"] == "user.disconnect"
    assert job(api, f"admin-disconnect-{entry['id']}").args[1] == "admin"
    assert admin("POST", "/users/nobody-here/disable").status_code == 404


def test_extend_moves_the_expiration_and_schedules_the_expiry(
    admin: Admin, api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    extended = admin.ok("POST", f"/users/{user.username}/extend", json={"days": 2})
    expires_at = dt.datetime.fromisoformat(extended["expires_at"])
    assert expires_at == user.expires_at + dt.timedelta(days=2)
    assert radcheck(committed, user.username, "Expiration") == [expiration_value(expires_at)]
    scheduled = job(api, f"expire-at-{int(expires_at.timestamp())}")
    assert scheduled.func_name == "jobs.expiry.expire_due"

    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    local = until.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat()
    set_to = admin.ok("POST", f"/users/{user.username}/extend", json={"until": local})
    assert dt.datetime.fromisoformat(set_to["expires_at"]) == until
    assert radcheck(committed, user.username, "Expiration") == [expiration_value(until)]
    assert radcheck(committed, user.username, "Cleartext-Password") == [user.password]
    reply = pyrad_login(stack, user.username, user.password)
    assert reply.code == packet.AccessAccept
    assert reply["Session-Timeout"][0] > 29 * 86400

    # A disabled account keeps being rejected whatever its expiry.
    admin.ok("POST", f"/users/{user.username}/disable")
    admin.ok("POST", f"/users/{user.username}/extend", json={"days": 1})
    assert radcheck(committed, user.username, "Auth-Type") == ["Reject"]
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessReject

    entry = audit_entries(admin, target=f"user:{user.username}", action="user.extend")[0]
    assert entry["detail"]["days"] == 1
    assert user.password not in json.dumps(entry)

    for bad in ({}, {"days": 1, "until": local}, {"days": 0}, {"days": "2"}, {"until": "soon"},
                {"until": "2001-01-01T00:00:00Z"}, {"weeks": 1}):  # fmt: skip
        response = admin("POST", f"/users/{user.username}/extend", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"], bad


def test_an_expired_user_extended_is_active_again(
    admin: Admin, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    with committed.begin() as session:
        session.execute(
            update(HotspotUser)
            .where(HotspotUser.username == user.username)
            .values(status="expired", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
        session.add(
            RadCheck(username=user.username, attribute="Auth-Type", op=":=", value="Reject")
        )
    before = dt.datetime.now(dt.UTC)
    extended = admin.ok("POST", f"/users/{user.username}/extend", json={"days": 1})
    assert extended["status"] == "active"
    assert dt.datetime.fromisoformat(extended["expires_at"]) >= before + dt.timedelta(
        days=1, seconds=-1
    )
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept


# --- payments ----------------------------------------------------------------------------------


def test_an_unmatched_c2b_payment_is_resolved_onto_an_account_once(
    admin: Admin, viewer: Admin, api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    user = new_user(committed, phone=normalize_phone(phone), price=Decimal("20"))
    trans_id = receipt()
    response = requests.post(
        api.c2b_url("confirm"),
        json=c2b_body("typo-" + secrets.token_hex(2), "20.00", trans_id),
        timeout=5,
    )
    assert response.status_code == 200
    found = viewer.ok(
        "GET",
        "/payments",
        params={"receipt": trans_id.lower(), "status": "unmatched", "method": "c2b"},
    )["payments"]
    assert len(found) == 1
    payment_id = found[0]["id"]
    assert found[0]["user_id"] is None

    resolved = admin.ok("POST", f"/payments/{payment_id}/resolve", json={"account": phone})
    assert resolved["status"] == "paid"
    assert resolved["outcome"] == "provisioned"
    assert resolved["account"]["username"] == user.username
    expires_at = dt.datetime.fromisoformat(resolved["account"]["expires_at"])
    assert expires_at == user.expires_at + dt.timedelta(hours=1)
    assert radcheck(committed, user.username, "Expiration") == [expiration_value(expires_at)]

    again = admin("POST", f"/payments/{payment_id}/resolve", json={"account": user.username})
    assert again.status_code == 409
    with committed() as session:
        payment = session.get_one(Payment, payment_id)
        assert payment.user_id == user.user_id
        assert (
            session.scalars(
                select(HotspotUser.expires_at).where(HotspotUser.username == user.username)
            ).one()
            == expires_at
        )  # provisioned once

    shown = viewer.ok("GET", f"/payments/{payment_id}")
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds == ["c2b_confirmation", "unmatched", "resolved", "provisioned"]
    assert shown["package"]["id"] == resolved["package_id"]
    by_phone = viewer.ok("GET", "/payments", params={"phone": "+254" + phone[1:]})["payments"]
    assert payment_id in [p["id"] for p in by_phone]
    by_user = viewer.ok("GET", "/payments", params={"username": user.username})["payments"]
    assert [p["id"] for p in by_user] == [payment_id]
    assert job(api, f"sms-credentials-{payment_id}").func_name == "jobs.sms.send_credentials"
    assert job(api, f"expire-at-{int(expires_at.timestamp())}")

    entry = audit_entries(admin, target=f"payment:{payment_id}")[0]
    assert entry["action"] == "payment.resolve"
    assert entry["detail"]["account"] == user.username
    assert user.password not in json.dumps(entry)


def test_resolving_needs_an_unmatched_payment_and_a_known_account(
    admin: Admin, api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    trans_id = receipt()
    requests.post(
        api.c2b_url("confirm"),
        json=c2b_body("nobody-" + secrets.token_hex(2), "5", trans_id),
        timeout=5,
    )
    payment_id = admin.ok("GET", "/payments", params={"receipt": trans_id})["payments"][0]["id"]
    for bad in ({}, {"account": ""}, {"account": 7}, {"account": "no-such-user"}):
        response = admin("POST", f"/payments/{payment_id}/resolve", json=bad)
        assert response.status_code == 422, bad
    assert admin("POST", "/payments/999999999/resolve", json={"account": "x"}).status_code == 404
    user = new_user(committed)
    matched = receipt()
    requests.post(api.c2b_url("confirm"), json=c2b_body(user.username, "5", matched), timeout=5)
    paid = admin.ok("GET", "/payments", params={"receipt": matched})["payments"]
    assert [(p["status"], p["user_id"]) for p in paid] == [("paid", user.user_id)]
    again = admin("POST", f"/payments/{paid[0]['id']}/resolve", json={"account": user.username})
    assert again.status_code == 409


def test_payments_filter_by_date_range(admin: Admin, api: ApiUnderTest) -> None:
    trans_id = receipt()
    requests.post(
        api.c2b_url("confirm"),
        json=c2b_body("nobody-" + secrets.token_hex(2), "5", trans_id),
        timeout=5,
    )
    now = dt.datetime.now(dt.UTC)
    window = {
        "receipt": trans_id,
        "since": (now - dt.timedelta(minutes=5)).isoformat(),
        "until": (now + dt.timedelta(minutes=5)).isoformat(),
    }
    assert len(admin.ok("GET", "/payments", params=window)["payments"]) == 1
    window["since"] = (now + dt.timedelta(minutes=1)).isoformat()
    assert admin.ok("GET", "/payments", params=window)["payments"] == []


# --- vouchers and SMS --------------------------------------------------------------------------


def test_voucher_batches_are_created_counted_and_revoked(
    admin: Admin, api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package_id = make_package(session).id
    batch = f"test-{secrets.token_hex(3)}"
    created = admin.ok(
        "POST",
        "/vouchers/batches",
        201,
        json={"package_id": package_id, "count": 3, "batch": batch},
    )
    assert created["batch"] == batch
    codes = created["codes"]
    assert len(set(codes)) == 3
    redeemed = requests.post(f"{api.url}/api/vouchers/redeem", json={"code": codes[0]}, timeout=5)
    assert redeemed.status_code == 200

    listed = admin.ok("GET", "/vouchers/batches", params={"package_id": package_id})["batches"]
    assert listed == [
        {
            "batch": batch,
            "package_id": package_id,
            "package": created["package"]["name"],
            "created_at": listed[0]["created_at"],
            "counts": {"unused": 2, "redeemed": 1, "revoked": 0},
            "total": 3,
        }
    ]
    assert admin.ok("POST", f"/vouchers/batches/{batch}/revoke") == {"batch": batch, "revoked": 2}
    late = requests.post(f"{api.url}/api/vouchers/redeem", json={"code": codes[1]}, timeout=5)
    assert late.status_code == 404
    counts = admin.ok("GET", "/vouchers/batches", params={"package_id": package_id})["batches"][0]
    assert counts["counts"] == {"unused": 0, "redeemed": 1, "revoked": 2}
    assert admin("POST", "/vouchers/batches/no-such-batch/revoke").status_code == 404
    assert (
        admin(
            "POST", "/vouchers/batches", json={"package_id": package_id, "count": 1, "batch": batch}
        ).status_code
        == 409
    )

    entries = audit_entries(admin, target=f"voucher-batch:{batch}")
    assert [e["action"] for e in entries] == ["vouchers.revoke", "vouchers.create"]
    dumped = json.dumps(entries)
    assert not any(code in dumped for code in codes)

    generated = admin.ok(
        "POST", "/vouchers/batches", 201, json={"package_id": package_id, "count": 2}
    )
    assert len(generated["codes"]) == 2
    assert generated["batch"]


def test_the_sms_log_is_listed_by_phone_and_status_without_bodies(
    viewer: Admin, committed: sessionmaker[Session]
) -> None:
    phone = random_phone()
    body = "Your WiFi login: user abc password s3cr3t"
    with committed.begin() as session:
        session.add(
            SmsMessage(
                operator_id=default_operator_id(session),
                idempotency_key=f"test:{secrets.token_hex(6)}",
                phone=normalize_phone(phone),
                purpose="credentials",
                body=body,
                status=SmsStatus.FAILED,
                error="Rejected",
            )
        )
    found = viewer.ok("GET", "/sms", params={"phone": phone, "status": "failed"})["messages"]
    assert [(m["phone"], m["status"], m["error"]) for m in found] == [
        (normalize_phone(phone), "failed", "Rejected")
    ]
    assert "s3cr3t" not in json.dumps(found)
    assert (
        viewer.ok("GET", "/sms", params={"phone": phone, "status": "delivered"})["messages"] == []
    )


# --- the audit log and bad input ---------------------------------------------------------------


def test_every_write_is_audited_with_the_tokens_name(
    admin: Admin, viewer: Admin, names: dict[str, str], committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    admin.ok("POST", f"/users/{user.username}/extend", json={"days": 1})
    entries = viewer.ok("GET", "/audit", params={"actor": names["admin"], "limit": 1})
    assert entries["limit"] == 1
    assert entries["next_offset"] in (1, None)
    newest = entries["entries"][0]
    assert newest["actor"] == names["admin"]
    assert newest["action"] == "user.extend"
    assert newest["target"] == f"user:{user.username}"
    assert newest["created_at"]
    assert viewer.ok("GET", "/audit", params={"actor": names["viewer"]})["entries"] == []


def test_pagination_walks_the_whole_list(admin: Admin) -> None:
    first = admin.ok("GET", "/audit", params={"limit": 2})
    assert len(first["entries"]) == 2
    assert first["next_offset"] == 2
    second = admin.ok("GET", "/audit", params={"limit": 2, "offset": 2})
    assert {e["id"] for e in first["entries"]}.isdisjoint(e["id"] for e in second["entries"])


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("POST", "/packages", None, 422),
        ("POST", "/packages", [], 422),
        ("POST", "/packages", {"name": "x"}, 422),
        (
            "POST",
            "/packages",
            {"name": "x", "price": "-1", "duration_seconds": 60, "rate_limit": "1M/1M"},
            422,
        ),
        (
            "POST",
            "/packages",
            {"name": "x", "price": "1.001", "duration_seconds": 60, "rate_limit": "1M/1M"},
            422,
        ),
        (
            "POST",
            "/packages",
            {"name": "x", "price": "1", "duration_seconds": 0, "rate_limit": "1M/1M"},
            422,
        ),
        (
            "POST",
            "/packages",
            {"name": "x", "price": "1", "duration_seconds": 60, "rate_limit": "fast"},
            422,
        ),
        (
            "POST",
            "/packages",
            {"name": "x", "price": "1", "duration_seconds": 2**40, "rate_limit": "1M/1M"},
            422,
        ),
        (
            "POST",
            "/packages",
            {"name": "1 Hour", "price": "1", "duration_seconds": 60, "rate_limit": "1M/1M"},
            409,
        ),
        (
            "POST",
            "/packages",
            {
                "name": "x",
                "price": "1",
                "duration_seconds": 60,
                "rate_limit": "1M/1M",
                "colour": "red",
            },
            422,
        ),
        ("PATCH", "/packages/1", {}, 422),
        ("PATCH", "/packages/1", {"devices": 0}, 422),
        ("PATCH", "/packages/1", {"devices": True}, 422),
        ("PATCH", "/packages/1", {"price": "abc"}, 422),
        ("PATCH", "/packages/1", {"name": "1 Day"}, 409),
        ("PATCH", "/packages/999999", {"price": 1}, 404),
        ("POST", "/packages/999999/retire", None, 404),
        ("POST", "/nas", {"nasname": "not-an-ip", "shortname": "a", "secret": LONG_SECRET}, 422),
        ("POST", "/nas", {"nasname": "192.0.2.9", "shortname": "a"}, 422),
        (
            "POST",
            "/nas",
            {"nasname": "192.0.2.9", "shortname": "a", "secret": LONG_SECRET, "coa_port": 70000},
            422,
        ),
        ("POST", "/nas", {"nasname": "127.0.0.1", "shortname": "a", "secret": LONG_SECRET}, 409),
        ("PATCH", "/nas/1", {"require_message_authenticator": "no"}, 422),
        ("PATCH", "/nas/1", {"hotspot_address": "http://10.5.50.1/login"}, 422),
        ("PATCH", "/nas/1", {"hotspot_address": "10.5.50.1:0"}, 422),
        ("PATCH", "/nas/1", {"hotspot_address": "bad_name.example"}, 422),
        ("PATCH", "/nas/999999", {"shortname": "a"}, 404),
        ("DELETE", "/nas/999999", None, 404),
        ("GET", "/users/nobody-here", None, 404),
        ("GET", "/users?status=sleepy", None, 422),
        ("GET", "/users?phone=12", None, 422),
        ("GET", "/users?package_id=x", None, 422),
        ("GET", "/packages?limit=0", None, 422),
        ("GET", "/packages?limit=100000", None, 422),
        ("GET", "/packages?offset=-1", None, 422),
        ("GET", "/packages?active=maybe", None, 422),
        ("GET", "/payments?since=yesterday", None, 422),
        ("GET", "/payments?status=lost", None, 422),
        ("GET", "/payments/999999999", None, 404),
        ("GET", "/sessions?nas=somewhere", None, 422),
        ("GET", "/sms?status=read", None, 422),
        ("POST", "/vouchers/batches", {"package_id": 1, "count": 0}, 422),
        ("POST", "/vouchers/batches", {"package_id": 1, "count": 100001}, 422),
        ("POST", "/vouchers/batches", {"package_id": 999999, "count": 1}, 404),
        ("POST", "/vouchers/batches", {"package_id": 1, "count": 1, "batch": "a b/c"}, 422),
    ],
)
def test_bad_input_is_a_4xx_with_the_reason(
    admin: Admin, method: str, path: str, payload: Any, status: int
) -> None:
    kwargs: dict[str, Any] = {"data": "not json"} if payload is None else {"json": payload}
    response = admin(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]
