"""PPPoE home subscribers end to end (issue 15, point 2): the simulated router's PPPoE server
and a subscriber's redialling client, our real FreeRADIUS, worker and paybill confirmation.

Pay late: disconnected at the due date, refused while blocked; pay by paybill (the account
number as the reference): online again within seconds, a month from today."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.subscribers import add_months
from hotspot.billing.wallets import wallet
from hotspot.models import AdminRole
from hotspot.operators.actor import Actor
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from radius.nas_sim_packets import reply_value
from radius.nas_sim_pppoe import PppoeClient
from tests.support.admin import Admin
from tests.support.harness import ApiUnderTest
from tests.support.payments import c2b_body
from tests.support.radius import simulated_nas
from tests.support.stack import StackUnderTest
from tests.support.waiting import wait_for

BLOCK_OVERDUE = "jobs.subscribers.block_overdue"


@pytest.fixture
def admin(api: ApiUnderTest, stack: StackUnderTest) -> Admin:
    with stack.sessions.begin() as session:
        token = create_token(
            session, f"pppoe-{secrets.token_hex(3)}", AdminRole.ADMIN, default_operator_id(session)
        )
    return Admin(api, token)


def today(stack: StackUnderTest) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(stack.settings.timezone)).date()


def new_subscriber(admin: Admin, stack: StackUnderTest, **fields: Any) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    home = {"name": f"Home {tag}", "price": "1500", "rate_limit": "10M/10M", "pool": "pppoe-pool"}
    plan = admin.ok("POST", "/plans", 201, json=home)
    due = today(stack) + dt.timedelta(days=10)
    body = {"plan_id": plan["id"], "account_number": f"ACC{tag.upper()}",
            "username": f"home-{tag}", "due_date": due.isoformat(), **fields}  # fmt: skip
    created: dict[str, Any] = admin.ok("POST", "/subscribers", 201, json=body)
    return created


def test_pay_late_cut_at_the_due_date_then_paybill_puts_it_online_again(
    admin: Admin,
    api: ApiUnderTest,
    stack: StackUnderTest,
    worker: Any,
    committed: sessionmaker[Session],
) -> None:
    address = f"10.200.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    sub = new_subscriber(admin, stack, static_ip=address)
    with (
        simulated_nas(stack, interim_interval=0) as nas,
        PppoeClient(nas, sub["username"], sub["password"]) as home,
    ):
        assert home.wait(online=True, timeout=10)
        assert home.session is not None
        assert home.session.ip == address  # the static address of its Access-Accept
        assert home.session.rate_limit == "10M/10M"

        # The due date comes unpaid (the operator's books say today; no grace): cut off.
        admin.ok("PATCH", f"/subscribers/{sub['account_number']}",
                 json={"due_date": today(stack).isoformat()})  # fmt: skip
        api.services.notifier.enqueue(BLOCK_OVERDUE, job_id=f"block-overdue-{secrets.token_hex(4)}")
        assert home.wait(online=False, timeout=15)
        assert wait_for(lambda: len(home.rejects) >= 2, 10)  # it redials, and is refused
        shown = admin.ok("GET", f"/subscribers/{sub['account_number']}")
        assert shown["status"] == "blocked"

        # Less than a month: kept as credit, still offline.
        confirm(api, sub["account_number"], "500")
        assert admin.ok("GET", f"/subscribers/{sub['account_number']}")["credit"] == "500.00"
        assert not home.wait(online=True, timeout=2)

        # The rest by paybill: online again within seconds, paid a month from today.
        confirm(api, sub["account_number"], "1000")
        assert home.wait(online=True, timeout=15)
        assert home.session is not None
        assert reply_value_of(home) == "PPP"
    paid = admin.ok("GET", f"/subscribers/{sub['account_number']}")
    assert paid["status"] == "active"
    assert paid["credit"] == "0.00"
    assert paid["due_date"] == add_months(today(stack), 1, today(stack).day).isoformat()
    with committed() as session:
        assert wallet(session, Actor("test", None), "DEFAULT").received >= Decimal("1500")


def confirm(api: ApiUnderTest, account: str, amount: str) -> None:
    answer = requests.post(api.c2b_url("confirm"), json=c2b_body(account, amount), timeout=10)
    assert answer.status_code == 200, answer.text


def reply_value_of(home: PppoeClient) -> Any:
    """The Framed-Protocol the router was given for the session now online."""
    return home.last_accept and reply_value(home.last_accept, "Framed-Protocol")
