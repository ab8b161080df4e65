"""Every migration runs up and down on an empty database, and the models match the result."""

import secrets
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hotspot import db
from hotspot.models import Base
from hotspot.settings import Settings
from tests.conftest import StackUnderTest

FREERADIUS_TABLES = {
    "nas", "nasreload", "radcheck", "radreply", "radgroupcheck", "radgroupreply",
    "radusergroup", "radacct", "radpostauth",
}  # fmt: skip
DOMAIN_TABLES = {
    "packages", "hotspot_users", "payments", "payment_events", "radius_sessions",
    "hotspot_credentials", "session_disconnections", "data_usage_logs", "vouchers",
    "sms_messages", "sync_watermarks", "admin_tokens", "audit_log",
}  # fmt: skip


@pytest.fixture
def empty_database(stack: StackUnderTest) -> Iterator[Settings]:
    name = f"migrations_{secrets.token_hex(4)}"
    url = stack.server.create_database(name)
    try:
        yield stack.settings.with_changes(database_url=url)
    finally:
        stack.server.drop_database(name)


def table_names(settings: Settings) -> set[str]:
    engine = db.make_engine(settings.effective_database_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_every_migration_goes_up_and_down(empty_database: Settings) -> None:
    db.upgrade(empty_database)
    assert table_names(empty_database) == FREERADIUS_TABLES | DOMAIN_TABLES
    db.downgrade(empty_database, "base")
    assert table_names(empty_database) == set()
    db.upgrade(empty_database)
    assert db.current_revision(empty_database) is not None


def test_the_models_match_the_migrated_schema(empty_database: Settings) -> None:
    db.upgrade(empty_database)
    engine = db.make_engine(empty_database.effective_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
