"""An installation upgraded from the schema before operators (0011) with data in it: one
operator, DEFAULT, owns everything, and the installation keeps working (issue 15, point 8)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from hotspot.adapters import db
from hotspot.core.settings import Settings
from tests.support.payments import random_phone
from tests.support.stack import StackUnderTest

OWNED = ("nas", "packages", "hotspot_users", "payments", "vouchers", "sms_messages")


@pytest.fixture
def old_installation(stack: StackUnderTest) -> Iterator[tuple[Settings, Engine]]:
    name = f"upgrade_{secrets.token_hex(4)}"
    url = stack.server.create_database(name)
    settings = stack.settings.with_changes(database_url=url)
    engine = db.make_engine(settings.effective_database_url)
    try:
        yield settings, engine
    finally:
        engine.dispose()
        stack.server.drop_database(name)


def fill_0011(engine: Engine, phone: str) -> None:
    """What a running single-operator installation holds, written as 0011's schema has it."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO nas (nasname, shortname, secret) VALUES ('10.9.9.9', 'old', "
                "'a-long-enough-secret-1')"
            )
        )
        package_id = conn.execute(
            text(
                "INSERT INTO packages (name, group_name, price, duration_seconds, rate_limit) "
                "VALUES ('1 Hour', '1-hour', 20, 3600, '2M/5M') RETURNING id"
            )
        ).scalar_one()
        user_id = conn.execute(
            text(
                "SELECT user_id FROM hotspot_new_user(ARRAY['olduser'], 'pw', :phone, :package, "
                ":ends, 0, 1, '1-hour')"
            ),
            {"phone": phone, "package": package_id, "ends": now + dt.timedelta(hours=1)},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO payments (package_id, user_id, phone, amount, status, "
                "checkout_request_id) VALUES (:p, :u, :phone, 20, 'paid', 'ws_CO_old')"
            ),
            {"p": package_id, "u": user_id, "phone": phone},
        )
        conn.execute(
            text("INSERT INTO vouchers (code, package_id) VALUES ('oldcode123', :p)"),
            {"p": package_id},
        )
        conn.execute(
            text(
                "INSERT INTO sms_messages (idempotency_key, user_id, phone, purpose, body) "
                "VALUES ('old:1', :u, :phone, 'credentials', 'hi')"
            ),
            {"u": user_id, "phone": phone},
        )
        conn.execute(
            text("INSERT INTO admin_tokens (name, role, token_hash) VALUES ('ops', 'admin', 'h')")
        )
        conn.execute(text("INSERT INTO audit_log (actor, action) VALUES ('ops', 'package.create')"))


@pytest.fixture
def upgraded(old_installation: tuple[Settings, Engine]) -> tuple[Engine, str]:
    """The old installation, filled at 0011 and upgraded to the head; its customer's phone."""
    settings, engine = old_installation
    db.upgrade(settings, "0011")
    phone = random_phone()
    fill_0011(engine, phone)
    db.upgrade(settings)
    return engine, phone


def test_an_upgraded_installation_has_one_default_operator_owning_everything(
    upgraded: tuple[Engine, str],
) -> None:
    engine, _ = upgraded
    with engine.connect() as conn:
        operators = conn.execute(text("SELECT id, code FROM operators")).all()
        assert [code for _, code in operators] == ["DEFAULT"]
        default = operators[0].id
        for table in OWNED:
            owners = conn.execute(text(f"SELECT DISTINCT operator_id FROM {table}")).scalars()
            assert list(owners) == [default], table
        assert conn.execute(text("SELECT operator_id FROM admin_tokens")).scalar() == default
        assert conn.execute(text("SELECT operator_id FROM audit_log")).scalar() == default
        # What was paid before wallets existed is in DEFAULT's wallet, once, without commission.
        balance = "SELECT sum(wallet) FROM ledger"
        assert conn.execute(text(balance)).scalar() == Decimal(20)


def test_an_upgraded_installation_keeps_settling_renewals_and_new_customers(
    upgraded: tuple[Engine, str],
) -> None:
    engine, phone = upgraded

    with engine.begin() as conn:
        package_id = conn.execute(text("SELECT id FROM packages")).scalar_one()
        for checkout, payer in (("ws_CO_renew", phone), ("ws_CO_new", random_phone())):
            conn.execute(
                text(
                    "INSERT INTO payments (operator_id, package_id, phone, amount, "
                    "checkout_request_id) SELECT operator_id, id, :phone, 20, :c "
                    "FROM packages WHERE id = :p"
                ),
                {"phone": payer, "c": checkout, "p": package_id},
            )
            settled = conn.execute(
                text(
                    "SELECT username FROM hotspot_settle_paid_callback(:c, :r, :amount, "
                    "'{}'::jsonb, ARRAY['newuser1'], 'pw2', now())"
                ),
                {"c": checkout, "r": f"R{secrets.token_hex(4).upper()}", "amount": Decimal(20)},
            ).scalar_one()
            assert settled == ("olduser" if payer == phone else "newuser1")
        owners = conn.execute(text("SELECT DISTINCT operator_id FROM hotspot_users")).scalars()
        assert len(list(owners)) == 1
