"""Engine, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import Settings
from hotspot.models import RADIUS_READ_TABLES, RADIUS_SEQUENCES, RADIUS_WRITE_TABLES

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def make_engine(database_url: str, **kwargs: object) -> Engine:
    return create_engine(database_url, pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def one_off_transaction(database_url: str) -> Iterator[Session]:
    """One transaction on an engine of its own, disposed of after: for a command that runs
    once, not a process that serves many."""
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrates the schema, then gives FreeRADIUS's role exactly the rights it needs."""
    command.upgrade(alembic_config(settings.effective_database_url), revision)
    with make_engine(settings.effective_database_url).begin() as conn:
        grant_radius_role(conn, settings.radius_db_user, settings.radius_db_password)


def downgrade(settings: Settings, revision: str = "-1") -> None:
    command.downgrade(alembic_config(settings.effective_database_url), revision)


def current_revision(settings: Settings) -> str | None:
    with make_engine(settings.effective_database_url).connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def grant_radius_role(conn: Connection, role: str, password: str) -> None:
    """FreeRADIUS reads the auth tables and writes only accounting and post-auth rows.

    Creating the role needs CREATEROLE; where the application's own role lacks it, an operator
    creates the role once and this only grants.
    """
    quote = conn.dialect.identifier_preparer.quote
    ident = quote(role)
    literal = password.replace("'", "''")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if not exists:
        if not can_create_roles(conn):
            raise InvalidInputError(
                f"the database role {role!r} (HOTSPOT_RADIUS_DB_USER) does not exist and this "
                "role may not create it: create it (LOGIN, PASSWORD HOTSPOT_RADIUS_DB_PASSWORD)"
            )
        conn.execute(text(f"CREATE ROLE {ident} LOGIN PASSWORD '{literal}'"))
    elif can_create_roles(conn):
        conn.execute(text(f"ALTER ROLE {ident} LOGIN PASSWORD '{literal}'"))
    database = quote(conn.engine.url.database or "")
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {ident}",
        f"GRANT USAGE ON SCHEMA public TO {ident}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ident}",
        f"GRANT SELECT ON {', '.join(RADIUS_READ_TABLES)} TO {ident}",
        f"GRANT INSERT, UPDATE ON {', '.join(RADIUS_WRITE_TABLES)} TO {ident}",
        f"GRANT USAGE ON SEQUENCE {', '.join(RADIUS_SEQUENCES)} TO {ident}",
    ):
        conn.execute(text(statement))


def can_create_roles(conn: Connection) -> bool:
    return bool(
        conn.execute(
            text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        ).scalar()
    )
