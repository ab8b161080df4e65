"""Database roles of a production deployment: `hotspot db provision`.

Three roles, each with only what it needs:

- the owner (`HOTSPOT_DATABASE_OWNER_URL`) owns the database, the schema and every object in it,
  and runs the migrations; nothing else connects as it;
- the application role (`HOTSPOT_DATABASE_URL`: the API, the workers, the scheduler) reads and
  writes rows, uses the sequences, calls the functions and makes temporary tables, and can create,
  alter or drop nothing;
- FreeRADIUS's role (`HOTSPOT_RADIUS_DB_USER`) reads the auth tables and writes accounting
  (`db.grant_radius_role`).

`provision` is idempotent, so a deployment runs it on every start:

1. with `HOTSPOT_DATABASE_ADMIN_URL` (a role that may create roles and databases): the three roles
   are created, or brought to their attributes and passwords; the database is created owned by
   the owner (or given to it), and so is its `public` schema, on which PUBLIC may create nothing.
   Without an admin URL this step is skipped: on a managed PostgreSQL an operator creates the
   roles and the database once, and provision only does step 2.
2. as the owner: the migrations, then the grants, including default privileges so that whatever
   a later migration creates is granted too.

Passwords reach PostgreSQL only as SCRAM verifiers computed here (libpq's PQencryptPasswordConn),
so they appear in no statement the server could log, and they are never printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from alembic import command
from psycopg import sql
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from hotspot.adapters import db
from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import Settings

Say = Callable[[str], None]

# (pg_roles column, the value wanted, the keyword that sets it)
Attribute = tuple[str, bool, str]
OWNER_ATTRIBUTES: tuple[Attribute, ...] = (
    ("rolcanlogin", True, "LOGIN"),
    ("rolsuper", False, "NOSUPERUSER"),
    ("rolcreatedb", False, "NOCREATEDB"),
    ("rolcreaterole", False, "NOCREATEROLE"),
)
# NOINHERIT: should it ever be made a member of another role, it gets none of its rights.
APPLICATION_ATTRIBUTES = (*OWNER_ATTRIBUTES, ("rolinherit", False, "NOINHERIT"))
RADIUS_ATTRIBUTES = APPLICATION_ATTRIBUTES

APPLICATION_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APPLICATION_SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"


@dataclass(frozen=True)
class Login:
    name: str
    password: str = ""


@dataclass(frozen=True)
class Plan:
    """Who is who, read from the settings and checked before anything is touched."""

    owner_url: str  # SQLAlchemy URL, as the owner, of the application's database
    database: str
    owner: Login
    application: Login
    radius: Login

    @property
    def application_is_owner(self) -> bool:
        """Development: one role owns the schema and runs the app (no grants to give it)."""
        return self.application.name == self.owner.name


def plan(settings: Settings) -> Plan:
    app_url = make_url(settings.effective_database_url)
    owner_url = make_url(settings.database_owner_url or settings.effective_database_url)
    if not owner_url.username or not owner_url.database:
        raise InvalidInputError(
            "HOTSPOT_DATABASE_OWNER_URL must name the owner role and the application's database"
        )
    if not app_url.username:
        raise InvalidInputError("HOTSPOT_DATABASE_URL must name the application's role")
    if app_url.database != owner_url.database:
        raise InvalidInputError(
            f"HOTSPOT_DATABASE_URL names the database {app_url.database!r} and "
            f"HOTSPOT_DATABASE_OWNER_URL {owner_url.database!r}: they must be the same"
        )
    owner = Login(owner_url.username, owner_url.password or "")
    application = Login(app_url.username, app_url.password or "")
    radius = Login(settings.radius_db_user, settings.radius_db_password)
    if radius.name in (owner.name, application.name):
        raise InvalidInputError(
            f"HOTSPOT_RADIUS_DB_USER ({radius.name!r}) must be a role of its own, not the "
            "owner's or the application's"
        )
    return Plan(
        owner_url=owner_url.render_as_string(hide_password=False),
        database=owner_url.database,
        owner=owner,
        application=application,
        radius=radius,
    )


def provision(settings: Settings, say: Say = print) -> Plan:
    """Roles and database (with an admin URL), then migrations and grants as the owner."""
    the_plan = plan(settings)
    if settings.database_admin_url:
        create_roles_and_database(settings.database_admin_url, the_plan, say)
    else:
        say("HOTSPOT_DATABASE_ADMIN_URL is empty: roles and database are taken as they are")
    migrate_and_grant(the_plan, say)
    return the_plan


# --- step 1: as the admin ------------------------------------------------------------------------


def psycopg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def create_roles_and_database(admin_url: str, the_plan: Plan, say: Say) -> None:
    if not the_plan.owner.password or not the_plan.application.password:
        raise InvalidInputError(
            "the owner's and the application's URLs must carry their passwords: provision sets them"
        )
    with psycopg.connect(psycopg_dsn(admin_url), autocommit=True) as conn:
        admin = conn.execute("SELECT current_user").fetchone()
        names = {the_plan.owner.name, the_plan.application.name, the_plan.radius.name}
        if admin is not None and admin[0] in names:
            raise InvalidInputError(
                f"HOTSPOT_DATABASE_ADMIN_URL's role {admin[0]!r} must not be one of the roles "
                "provision creates (owner, application, FreeRADIUS)"
            )
        if the_plan.application_is_owner:
            ensure_login_role(conn, the_plan.owner, OWNER_ATTRIBUTES, say, "owner and application")
        else:
            ensure_login_role(conn, the_plan.owner, OWNER_ATTRIBUTES, say, "owner")
            ensure_login_role(
                conn, the_plan.application, APPLICATION_ATTRIBUTES, say, "application"
            )
        ensure_login_role(conn, the_plan.radius, RADIUS_ATTRIBUTES, say, "FreeRADIUS")
        ensure_database(conn, the_plan.database, the_plan.owner.name, say)
    with psycopg.connect(psycopg_dsn(admin_url, the_plan.database), autocommit=True) as conn:
        owner = sql.Identifier(the_plan.owner.name)
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(owner))
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def ensure_login_role(
    conn: psycopg.Connection[tuple[object, ...]],
    login: Login,
    attributes: tuple[Attribute, ...],
    say: Say,
    what: str,
) -> None:
    """Creates the role, or changes the attributes that differ and sets its password."""
    columns = sql.SQL(", ").join(sql.Identifier(column) for column, _, _ in attributes)
    current = conn.execute(
        sql.SQL("SELECT {} FROM pg_catalog.pg_roles WHERE rolname = %s").format(columns),
        (login.name,),
    ).fetchone()
    if current is None:
        keywords = [keyword for _, _, keyword in attributes]
        verb = "CREATE"
    else:
        # Only what differs: a role that may create roles but is no superuser (a managed
        # PostgreSQL's admin) may not name the superuser attribute, even to leave it off.
        keywords = [
            keyword
            for value, (_, wanted, keyword) in zip(current, attributes, strict=True)
            if value != wanted
        ]
        verb = "ALTER"
    verifier = conn.pgconn.encrypt_password(login.password.encode(), login.name.encode())
    conn.execute(
        sql.SQL("{} ROLE {} WITH {} PASSWORD {}").format(
            sql.SQL(verb),
            sql.Identifier(login.name),
            sql.SQL(" ").join(sql.SQL(keyword) for keyword in keywords),
            sql.Literal(verifier.decode()),
        )
    )
    say(f"{what} role {login.name}: {'created' if current is None else 'password set'}")


def ensure_database(
    conn: psycopg.Connection[tuple[object, ...]], database: str, owner: str, say: Say
) -> None:
    row = conn.execute(
        "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    if row is None:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
        say(f"database {database}: created, owned by {owner}")
    elif row[0] != owner:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
        say(f"database {database}: now owned by {owner}")
    else:
        say(f"database {database}: present, owned by {owner}")


def check_owned_by(conn: psycopg.Connection[tuple[object, ...]], owner: str) -> None:
    """The owner must own every relation in `public` to migrate it and grant on it; a database
    migrated by another role (the superuser of an older deployment) is not adopted silently."""
    rows = conn.execute(
        """
        SELECT c.relname, pg_catalog.pg_get_userbyid(c.relowner)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND pg_catalog.pg_get_userbyid(c.relowner) <> %s
         ORDER BY c.relname
        """,
        (owner,),
    ).fetchall()
    if rows:
        others = sorted({str(row[1]) for row in rows})
        shown = ", ".join(f"{name} ({by})" for name, by in rows[:5])
        raise InvalidInputError(
            f"{len(rows)} relations in schema public are not owned by {owner!r}, e.g. {shown}; "
            f"give them to it first (as a superuser, per object: ALTER TABLE … OWNER TO "
            f"{owner}; or REASSIGN OWNED BY {', '.join(others)} TO {owner} when that is not "
            "the bootstrap superuser)"
        )


def warn_about_application_role(
    conn: psycopg.Connection[tuple[object, ...]], the_plan: Plan, say: Say
) -> None:
    """A role made by hand (managed PostgreSQL) may have more than it should: said, not changed
    (only the admin could change it)."""
    row = conn.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, "
        "pg_catalog.pg_has_role(rolname, %s, 'MEMBER') "
        "FROM pg_catalog.pg_roles WHERE rolname = %s",
        (the_plan.owner.name, the_plan.application.name),
    ).fetchone()
    if row is None:
        raise InvalidInputError(
            f"the application role {the_plan.application.name!r} (HOTSPOT_DATABASE_URL) does "
            "not exist: create it, or give provision HOTSPOT_DATABASE_ADMIN_URL"
        )
    extra = [
        what
        for what, held in zip(
            ("SUPERUSER", "CREATEROLE", "CREATEDB", f"membership in {the_plan.owner.name}"),
            row,
            strict=True,
        )
        if held
    ]
    if extra:
        say(
            f"warning: the application role {the_plan.application.name} has "
            f"{', '.join(extra)}: it should have none of these"
        )


# --- step 2: as the owner ------------------------------------------------------------------------


def migrate_and_grant(the_plan: Plan, say: Say) -> None:
    with psycopg.connect(psycopg_dsn(the_plan.owner_url)) as conn:
        check_owned_by(conn, the_plan.owner.name)
        if not the_plan.application_is_owner:
            warn_about_application_role(conn, the_plan, say)
    command.upgrade(db.alembic_config(the_plan.owner_url), "head")
    engine = db.make_engine(the_plan.owner_url)
    try:
        with engine.begin() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            say(f"database {the_plan.database} at {revision}, migrated as {the_plan.owner.name}")
            if not the_plan.application_is_owner:
                grant_application_role(conn, the_plan.application.name, the_plan.owner.name)
                say(f"application role {the_plan.application.name}: row privileges granted")
            db.grant_radius_role(conn, the_plan.radius.name, the_plan.radius.password)
            say(f"FreeRADIUS role {the_plan.radius.name}: granted")
    finally:
        engine.dispose()


def application_grants(role: str, owner: str, database: str) -> list[sql.Composed]:
    app = sql.Identifier(role)
    owner_id = sql.Identifier(owner)
    tables = sql.SQL(APPLICATION_TABLE_PRIVILEGES)
    sequences = sql.SQL(APPLICATION_SEQUENCE_PRIVILEGES)
    defaults = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public ").format(owner_id)
    return [
        # The database: connect, and the temporary table of the accounting sync.
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(database), app
        ),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app),
        # Exactly these, whatever was granted before.
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(app),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(app),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA public TO {}").format(tables, app),
        sql.SQL("GRANT {} ON ALL SEQUENCES IN SCHEMA public TO {}").format(sequences, app),
        sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(app),
        # What later migrations create (as the owner) is granted as it is created.
        defaults + sql.SQL("GRANT {} ON TABLES TO {}").format(tables, app),
        defaults + sql.SQL("GRANT {} ON SEQUENCES TO {}").format(sequences, app),
        defaults + sql.SQL("GRANT EXECUTE ON FUNCTIONS TO {}").format(app),
    ]


def grant_application_role(conn: Connection, role: str, owner: str) -> None:
    """Row privileges for the application role, on what exists and on what migrations add."""
    raw = conn.connection.driver_connection  # the same transaction
    assert isinstance(raw, psycopg.Connection)
    for statement in application_grants(role, owner, conn.engine.url.database or ""):
        raw.execute(statement)
