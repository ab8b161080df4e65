"""Every migration runs up and down on an empty database, and the models match the result."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from hotspot.adapters import db
from hotspot.adapters.partitions import is_partition, not_a_partition
from hotspot.core.settings import Settings
from hotspot.models import Base

FREERADIUS_TABLES = {
    "nas", "nasreload", "radcheck", "radreply", "radgroupcheck", "radgroupreply",
    "radusergroup", "radacct", "radpostauth",
}  # fmt: skip
DOMAIN_TABLES = {
    "packages", "hotspot_users", "payments", "payment_events", "radius_sessions",
    "hotspot_credentials", "hotspot_devices", "session_disconnections", "data_usage_logs",
    "vouchers", "sms_messages", "sync_watermarks", "admin_tokens", "audit_log",
    "callback_token_generations", "operators", "ledger",
    "plans", "subscribers", "alert_events",
}  # fmt: skip


def table_names(settings: Settings) -> set[str]:
    engine = db.make_engine(settings.effective_database_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {name for name in tables if not is_partition(name)}
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
            opts = {"compare_type": True, "include_name": not_a_partition}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def sync_seqs(settings: Settings, unique_id: str) -> tuple[int, int, int]:
    """radacct.sync_seq after a Start (insert), an Interim-Update and a Stop, as the stock queries
    write them."""
    engine = db.make_engine(settings.effective_database_url)
    steps = (
        "INSERT INTO radacct (acctsessionid, acctuniqueid, nasipaddress, acctstarttime) "
        "VALUES ('s', :u, '10.0.0.1', now()) RETURNING sync_seq",
        "UPDATE radacct SET acctinputoctets = 10, acctupdatetime = now() "
        "WHERE acctuniqueid = :u AND acctstoptime IS NULL RETURNING sync_seq",
        "UPDATE radacct SET acctstoptime = now(), acctinputoctets = 20 "
        "WHERE acctuniqueid = :u AND acctstoptime IS NULL RETURNING sync_seq",
    )
    try:
        with engine.begin() as conn:
            started, updated, stopped = [
                int(conn.execute(text(step), {"u": unique_id}).scalar_one()) for step in steps
            ]
    finally:
        engine.dispose()
    return started, updated, stopped


def test_radacct_is_stamped_on_inserts_and_closes_and_on_every_write_before_0003(
    empty_database: Settings,
) -> None:
    db.upgrade(empty_database)
    started, updated, stopped = sync_seqs(empty_database, "head")
    assert updated == started < stopped

    db.downgrade(empty_database, "0002")
    started, updated, stopped = sync_seqs(empty_database, "0002")
    assert started < updated < stopped


def test_the_database_runs_without_jit_from_0023(empty_database: Settings) -> None:
    """Reports cost more than JIT's thresholds on a year of data and run in milliseconds:
    compiling took longer than running them (migration 0023)."""

    def jit() -> tuple[str, list[str]]:
        """A new session's jit (the database's default), and the database's own settings."""
        engine = db.make_engine(empty_database.effective_database_url)
        try:
            with engine.connect() as conn:
                shown = str(conn.execute(text("SHOW jit")).scalar())
                own = conn.execute(
                    text(
                        "SELECT unnest(setconfig) FROM pg_db_role_setting WHERE setrole = 0 "
                        "AND setdatabase = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database())"
                    )
                ).scalars()
                return shown, list(own)
        finally:
            engine.dispose()

    db.upgrade(empty_database)
    assert jit() == ("off", ["jit=off"])
    db.downgrade(empty_database, "0022")
    assert "jit=off" not in jit()[1]
