"""`hotspot db provision`: an owner role that migrates, an application role that only reads and
writes rows, FreeRADIUS's role, on a fresh database of the test server (issue 12).

The app's own code paths that write run here as the application role: they must need no
privilege it lacks, and it must be unable to change the schema.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access import retention, termination
from hotspot.access.accounting import sync_accounting
from hotspot.adapters import db, db_roles
from hotspot.billing import callback_tokens, vouchers
from hotspot.billing.callbacks import handle_stk_callback
from hotspot.billing.payment_state import AfterCommit
from hotspot.catalog.packages import create_package
from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import Settings
from hotspot.models import (
    HotspotCredential,
    HotspotUser,
    Payment,
    PaymentStatus,
    RadiusSession,
    UserStatus,
)
from hotspot.reports import queries
from tests.support.factories import default_operator
from tests.support.payments import mpesa_payment, random_phone, receipt, success_callback
from tests.support.stack import StackUnderTest

Conn = psycopg.Connection[tuple[Any, ...]]


def password() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class Deployment:
    """One provisioned database: its settings (as a deployment's environment would give them)."""

    stack: StackUnderTest
    settings: Settings
    database: str

    @property
    def owner(self) -> str:
        return str(make_url(self.settings.database_owner_url).username)

    @property
    def application(self) -> str:
        return str(make_url(self.settings.database_url).username)

    def url(self, user: str, secret: str) -> str:
        return (
            make_url(self.stack.server.admin_url)
            .set(username=user, password=secret, database=self.database)
            .render_as_string(hide_password=False)
        )

    def with_passwords(self, *, owner: str, application: str, radius: str) -> Settings:
        return self.settings.with_changes(
            database_owner_url=self.url(self.owner, owner),
            database_url=self.url(self.application, application),
            radius_db_password=radius,
        )

    def connect(self, url: str, *, autocommit: bool = False) -> Conn:
        return psycopg.connect(db_roles.psycopg_dsn(url), autocommit=autocommit)

    def as_application(self, *, autocommit: bool = False) -> Conn:
        return self.connect(self.settings.database_url, autocommit=autocommit)

    def as_owner(self) -> Conn:
        return self.connect(self.settings.database_owner_url)

    def as_radius(self) -> Conn:
        return psycopg.connect(
            db_roles.psycopg_dsn(self.settings.database_url),
            user=self.settings.radius_db_user,
            password=self.settings.radius_db_password,
        )

    def as_admin(self, database: str | None = None) -> Conn:
        return psycopg.connect(
            db_roles.psycopg_dsn(self.stack.server.admin_url, database), autocommit=True
        )


@dataclass
class Deployments:
    stack: StackUnderTest
    made: list[Deployment] = field(default_factory=list)

    def new(self) -> Deployment:
        """Settings for a database and three roles of its own (roles are cluster-wide: the
        suite's own `radius` role is left alone)."""
        prefix = f"prov_{secrets.token_hex(4)}"
        database = prefix
        deployment = Deployment(self.stack, self.stack.settings, database)
        deployment.settings = self.stack.settings.with_changes(
            database_admin_url=self.stack.server.admin_url,
            database_owner_url=deployment.url(f"{prefix}_owner", password()),
            database_url=deployment.url(f"{prefix}_app", password()),
            radius_db_user=f"{prefix}_radius",
            radius_db_password=password(),
        )
        self.made.append(deployment)
        return deployment

    def drop_all(self) -> None:
        for deployment in self.made:
            self.stack.server.drop_database(deployment.database)
            with deployment.as_admin() as conn:
                for role in (
                    deployment.application,
                    deployment.settings.radius_db_user,
                    deployment.owner,
                ):
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def deployments(stack: StackUnderTest) -> Iterator[Deployments]:
    made = Deployments(stack)
    try:
        yield made
    finally:
        made.drop_all()


@pytest.fixture(scope="module")
def provisioned(deployments: Deployments) -> Deployment:
    deployment = deployments.new()
    db_roles.provision(deployment.settings, say=lambda _: None)
    return deployment


@pytest.fixture(scope="module")
def app_sessions(provisioned: Deployment) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(provisioned.settings.database_url)
    try:
        yield db.session_factory(engine)
    finally:
        engine.dispose()


# --- what provision makes --------------------------------------------------------------------


def test_the_roles_have_only_their_attributes(provisioned: Deployment) -> None:
    s = provisioned.settings
    with provisioned.as_admin() as conn:
        found = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, "
                "rolreplication, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
                ([provisioned.owner, provisioned.application, s.radius_db_user],),
            )
        }
        owner_of_database = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
            (provisioned.database,),
        ).fetchone()
    assert found == {
        provisioned.owner: (True, False, False, False, True, False, False),
        provisioned.application: (True, False, False, False, False, False, False),
        s.radius_db_user: (True, False, False, False, False, False, False),
    }
    assert owner_of_database == (provisioned.owner,)
    with provisioned.as_admin(provisioned.database) as conn:
        schema = conn.execute(
            "SELECT pg_get_userbyid(nspowner), has_schema_privilege('public', 'public', 'CREATE')"
            " FROM pg_namespace WHERE nspname = 'public'"
        ).fetchone()
        others = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner <> %s::regrole",
            (provisioned.owner,),
        ).fetchone()
    assert schema == (provisioned.owner, False)
    assert others == (0,)  # the owner owns everything the migrations made


# --- the application role runs the app ---------------------------------------------------------


def test_the_application_role_runs_every_writing_path(
    provisioned: Deployment, app_sessions: sessionmaker[Session]
) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.transaction(app_sessions) as session:
        assert session.scalar(text("SELECT current_user")) == provisioned.application
        package = create_package(
            session,
            default_operator(session),
            name=f"roles {secrets.token_hex(3)}",
            price=Decimal("20"),
            duration_seconds=3600,
            rate_limit="2M/5M",
            data_cap_bytes=2**30,
            interim_interval=60,
        )
        codes = list(vouchers.generate(session, package, 3, batch="roles"))

    # A payment settled by its callback: a new customer (the settle function), then a renewal
    # (the general path, with its advisory lock).
    phone = random_phone()
    for _ in range(2):
        with db.transaction(app_sessions) as session:
            initiated = mpesa_payment(session, package.id, phone)
            checkout = f"ws_CO_roles_{secrets.token_hex(6)}"
            initiated.payment.checkout_request_id = checkout
            amount = int(initiated.payment.amount)
        body = success_callback(checkout, amount, receipt())
        handle_stk_callback(app_sessions, json.dumps(body).encode(), AfterCommit())
    with app_sessions() as session:
        paid = session.scalars(
            select(Payment).where(Payment.phone == "+254" + phone[1:]).order_by(Payment.id)
        ).all()
        assert [p.status for p in paid] == [PaymentStatus.PAID, PaymentStatus.PAID]
        user = session.get_one(HotspotUser, paid[0].user_id)
        username = user.username

    with db.transaction(app_sessions) as session:
        vouchers.redeem(session, codes[0], now)

    # FreeRADIUS writes accounting; the sync (a temporary table, ANALYZE of it) reads it.
    unique_id = secrets.token_hex(8)
    with provisioned.as_radius() as radius:
        radius.execute(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
            "acctstarttime, acctupdatetime, acctinputoctets, acctoutputoctets) "
            "VALUES (%s, %s, %s, '127.0.0.1', now(), now(), 1000, 2000)",
            ("roles", unique_id, username),
        )
    with db.transaction(app_sessions) as session:
        result = sync_accounting(session, now=now, interim_interval=60, stale_grace=60)
    assert result.rows_read == 1
    assert result.sessions_attached == 1
    with app_sessions() as session:
        attached = session.scalars(
            select(RadiusSession).where(RadiusSession.acct_unique_id == unique_id)
        ).one()
        assert (attached.user_id, attached.input_octets) == (user.id, 1000)

    with db.transaction(app_sessions) as session:
        closed = queries.refresh_rollups(session)  # REFRESH needs ownership: the function's
        assert set(closed) == set(queries.ROLLUPS)
        generation = callback_tokens.rotate(session, dt.timedelta(hours=1), now)  # LOCK TABLE
        assert generation >= 1
        termination.expire_due(session, now + dt.timedelta(days=30))
        retention.forget_passwords(session, dt.timedelta(0))
    with app_sessions() as session:
        assert session.get_one(HotspotUser, user.id).status is UserStatus.EXPIRED
        assert session.scalar(
            select(HotspotCredential.password).where(HotspotCredential.user_id == user.id)
        ) in ("", None)


FORBIDDEN = [
    "CREATE TABLE intruder (id int)",
    "CREATE VIEW intruder AS SELECT 1",
    "CREATE SCHEMA intruder",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE INDEX intruder ON payments (id)",
    "DROP TABLE payments",
    "DROP MATERIALIZED VIEW report_usage_closed",
    "ALTER TABLE payments ADD COLUMN intruder int",
    "ALTER TABLE payments OWNER TO CURRENT_USER",
    "ALTER SEQUENCE radacct_sync_seq RESTART",
    "ALTER FUNCTION hotspot_refresh_rollup(text) SECURITY INVOKER",
    "TRUNCATE payments",
    "REFRESH MATERIALIZED VIEW report_usage_closed",
    "CREATE ROLE intruder",
    "CREATE DATABASE intruder",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "SET ROLE {owner}",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_application_role_cannot_change_the_schema(
    provisioned: Deployment, statement: str
) -> None:
    with provisioned.as_application(autocommit=True) as conn:  # CREATE DATABASE needs it
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.format(owner=provisioned.owner))
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False)


@pytest.mark.parametrize("name", ["payments", "pg_authid", "report_usage_per_user", None])
def test_the_refresh_function_refreshes_only_the_rollups(
    provisioned: Deployment, name: str | None
) -> None:
    with (
        provisioned.as_application() as conn,
        pytest.raises(psycopg.errors.InvalidParameterValue),
    ):
        conn.execute("SELECT hotspot_refresh_rollup(%s)", (name,))


def test_what_later_migrations_create_is_granted_by_default(provisioned: Deployment) -> None:
    with provisioned.as_owner() as owner:
        owner.execute("CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text)")
        owner.execute("CREATE FUNCTION later_function() RETURNS int LANGUAGE sql AS 'SELECT 7'")
        owner.commit()
    try:
        with provisioned.as_application() as conn:
            conn.execute("INSERT INTO later_migration (note) VALUES ('x')")
            assert conn.execute("SELECT count(*), later_function() FROM later_migration").fetchone()
            conn.execute("DELETE FROM later_migration")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DROP TABLE later_migration")
    finally:
        with provisioned.as_owner() as owner:
            owner.execute("DROP TABLE later_migration")
            owner.execute("DROP FUNCTION later_function()")


# --- FreeRADIUS's role -------------------------------------------------------------------------


def test_the_radius_role_reads_radcheck_and_writes_only_accounting(provisioned: Deployment) -> None:
    with provisioned.as_radius() as conn:
        conn.execute("SELECT count(*) FROM radcheck")
        for statement in (
            "INSERT INTO radcheck (username, attribute, op, value) "
            "VALUES ('x', 'Auth-Type', ':=', 'Accept')",
            "SELECT * FROM payments",
            "SELECT hotspot_refresh_rollup('report_usage_closed')",
            "CREATE TABLE intruder (id int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


# --- running it again ----------------------------------------------------------------------------


def can_log_in(url: str) -> bool:
    try:
        psycopg.connect(db_roles.psycopg_dsn(url), connect_timeout=5).close()
    except psycopg.OperationalError:
        return False
    return True


def test_provision_is_idempotent_and_sets_changed_passwords(deployments: Deployments) -> None:
    deployment = deployments.new()
    said: list[str] = []
    db_roles.provision(deployment.settings, say=said.append)
    db_roles.provision(deployment.settings, say=said.append)  # nothing to create: the same again
    old = deployment.settings
    deployment.settings = deployment.with_passwords(
        owner=password(), application=password(), radius=password()
    )
    db_roles.provision(deployment.settings, say=said.append)

    assert not can_log_in(old.database_url)
    assert not can_log_in(old.database_owner_url)
    assert can_log_in(deployment.settings.database_url)
    assert can_log_in(deployment.settings.database_owner_url)
    with deployment.as_radius() as conn:
        conn.execute("SELECT count(*) FROM radcheck")
    shown = "\n".join(said)
    for secret in (old, deployment.settings):
        for url in (secret.database_url, secret.database_owner_url):
            assert str(make_url(url).password) not in shown
        assert secret.radius_db_password not in shown
    assert "database prov_" in shown
    assert f"owner role {deployment.owner}: created" in shown
    assert f"owner role {deployment.owner}: password set" in shown


def test_without_an_admin_url_it_only_migrates_and_grants(provisioned: Deployment) -> None:
    with provisioned.as_owner() as owner:  # an operator's mistake that provision repairs
        owner.execute(
            sql.SQL("REVOKE ALL ON payments FROM {}").format(
                sql.Identifier(provisioned.application)
            )
        )
    said: list[str] = []
    db_roles.provision(provisioned.settings.with_changes(database_admin_url=""), say=said.append)
    assert "HOTSPOT_DATABASE_ADMIN_URL is empty" in said[0]
    with provisioned.as_application() as conn:
        conn.execute("SELECT count(*) FROM payments")


def test_a_relation_the_owner_does_not_own_stops_it(provisioned: Deployment) -> None:
    """A database an older deployment migrated as another role is not adopted silently."""
    with provisioned.as_admin(provisioned.database) as conn:
        conn.execute("CREATE TABLE made_by_the_superuser (id int)")
    try:
        with pytest.raises(InvalidInputError, match="made_by_the_superuser"):
            db_roles.provision(provisioned.settings, say=lambda _: None)
    finally:
        with provisioned.as_admin(provisioned.database) as conn:
            conn.execute("DROP TABLE made_by_the_superuser")


def test_the_command_provisions_and_prints_no_password(
    provisioned: Deployment, stack: StackUnderTest
) -> None:
    s = provisioned.settings
    result = subprocess.run(
        [sys.executable, "-m", "hotspot", "db", "provision"],
        env={
            **stack.env(),
            "HOTSPOT_DATABASE_URL": s.database_url,
            "HOTSPOT_DATABASE_ADMIN_URL": s.database_admin_url,
            "HOTSPOT_DATABASE_OWNER_URL": s.database_owner_url,
            "HOTSPOT_RADIUS_DB_USER": s.radius_db_user,
            "HOTSPOT_RADIUS_DB_PASSWORD": s.radius_db_password,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"application role {provisioned.application}: row privileges granted" in result.stdout
    output = result.stdout + result.stderr
    for secret in (
        make_url(s.database_url).password,
        make_url(s.database_owner_url).password,
        make_url(s.database_admin_url).password,
        s.radius_db_password,
    ):
        assert str(secret) not in output


# --- refused before anything is touched ----------------------------------------------------------


def test_the_admin_must_not_be_one_of_the_roles(provisioned: Deployment) -> None:
    admin = make_url(provisioned.settings.database_admin_url)
    settings = provisioned.settings.with_changes(
        database_owner_url=provisioned.url(str(admin.username), str(admin.password))
    )
    with pytest.raises(InvalidInputError, match="must not be one of the roles"):
        db_roles.provision(settings, say=lambda _: None)


def test_the_owner_and_the_application_share_one_database(provisioned: Deployment) -> None:
    settings = provisioned.settings.with_changes(
        database_url=make_url(provisioned.settings.database_url)
        .set(database="elsewhere")
        .render_as_string(hide_password=False)
    )
    with pytest.raises(InvalidInputError, match="must be the same"):
        db_roles.plan(settings)


def test_config_masks_the_new_urls(provisioned: Deployment) -> None:
    shown = provisioned.settings.masked()
    for name in ("database_admin_url", "database_owner_url"):
        url = getattr(provisioned.settings, name)
        assert shown[name] == url.replace(str(make_url(url).password), "***")
        assert str(make_url(url).password) not in json.dumps(shown)


def test_in_development_one_role_owns_and_runs_the_app(stack: StackUnderTest) -> None:
    """No owner URL, no admin URL: HOTSPOT_DATABASE_URL's role is the owner (as `hotspot db
    upgrade` has it), and provision only migrates and grants FreeRADIUS's role."""
    said: list[str] = []
    the_plan = db_roles.provision(stack.settings, say=said.append)
    assert the_plan.application_is_owner
    assert not any("application role" in line for line in said)
    assert said[-1] == f"FreeRADIUS role {stack.settings.radius_db_user}: granted"
