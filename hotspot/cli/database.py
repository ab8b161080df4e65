"""`hotspot db`: the schema, the roles, and the way into the database this installation uses
(the private one `make run` starts, or HOTSPOT_DATABASE_URL), without building a URL by hand."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import click
import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hotspot.adapters import db, db_roles
from hotspot.adapters.partitions import maintain
from hotspot.cli.context import Context, first_line, pass_context
from hotspot.cli.dev import db_seed
from hotspot.core.deployment import require_deployable
from hotspot.core.settings import check_retention, mask_url


@click.group("db")
def db_group() -> None:
    """Schema migrations, roles, demo data, and a psql into the database."""


db_group.add_command(db_seed)


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_context
def db_upgrade(ctx: Context, revision: str) -> None:
    """Migrate the schema up (to REVISION, default head)."""
    require_deployable(ctx.settings)
    db.upgrade(ctx.settings, revision)
    click.echo(f"database at {db.current_revision(ctx.settings)}")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@pass_context
def db_downgrade(ctx: Context, revision: str) -> None:
    """Migrate the schema down (to REVISION, default one step; `base` for empty)."""
    db.downgrade(ctx.settings, revision)
    click.echo(f"database at {db.current_revision(ctx.settings) or 'base'}")


@db_group.command("provision")
@pass_context
def db_provision(ctx: Context) -> None:
    """Create or update the database roles and the database, migrate as the owner and grant
    (idempotent: run it on every deploy).

    With HOTSPOT_DATABASE_ADMIN_URL: the owner role (HOTSPOT_DATABASE_OWNER_URL), the
    application role (HOTSPOT_DATABASE_URL) and FreeRADIUS's (HOTSPOT_RADIUS_DB_USER) are created
    or get their attributes and passwords, and the database is created owned by the owner.
    Without it, only the migrations and the grants, as the owner.
    """
    try:
        db_roles.provision(ctx.settings, say=click.echo)
    except DBAPIError as exc:
        # The driver's message only: SQLAlchemy's would carry the statement.
        raise click.ClickException(f"provisioning failed: {exc.orig}") from None
    except psycopg.Error as exc:
        raise click.ClickException(f"provisioning failed: {exc}") from None


def libpq_url(url: str) -> str:
    """A database URL as psql and every libpq tool take it (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@db_group.command("url")
@click.option("--masked", is_flag=True, help="The password as ***, for showing on a screen.")
@pass_context
def db_url(ctx: Context, masked: bool) -> None:
    """Print the database URL the application uses, in libpq's form: `psql "$(hotspot db url)"`.

    It holds the password (the point of it): pipe it, don't paste it into a ticket.
    """
    url = libpq_url(ctx.settings.effective_database_url)
    click.echo(mask_url(url) if masked else url)


@db_group.command(
    "shell", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@pass_context
def db_shell(ctx: Context, psql_args: tuple[str, ...]) -> None:
    """psql into the application's database, as its role; PSQL_ARGS go to psql (`-c 'select 1'`).

    The password goes to psql in its environment, never on its command line (`ps` shows that).
    """
    psql = shutil.which("psql")
    if psql is None:
        raise click.ClickException(
            "psql is not installed (Debian: apt-get install postgresql-client)"
        )
    url = make_url(ctx.settings.effective_database_url)
    # The URL without its password (its options, sslmode and the like, kept), the password in
    # the environment.
    conninfo = libpq_url(url.set(password=None).render_as_string(hide_password=False))
    env = {**os.environ, "PGAPPNAME": "hotspot db shell"}
    if url.password:
        env["PGPASSWORD"] = url.password
    os.execve(psql, [psql, conninfo, *psql_args], env)  # noqa: S606 (psql by its path, no shell)


@db_group.command("maintain")
@click.option(
    "--every",
    type=click.IntRange(60, 86400),
    default=None,
    help="Run again every SECONDS, as a service; once by default.",
)
@pass_context
def db_maintain(ctx: Context, every: int | None) -> None:
    """Make the coming months' partitions of the tables that grow without end; archive and drop
    the months past their retention (HOTSPOT_RETENTION_MONTHS, HOTSPOT_ARCHIVE_DIR).

    As the schema's owner (HOTSPOT_DATABASE_OWNER_URL, else the application's role): only an
    owner may add and drop partitions. A failed round is reported and tried again next time.
    """
    settings = ctx.settings
    url = libpq_url(settings.database_owner_url or settings.effective_database_url)
    retention = check_retention(settings.retention_months)
    archive = Path(settings.archive_dir) if settings.archive_dir else None
    while True:
        try:
            click.echo(str(maintain(url, dt.datetime.now(dt.UTC).date(), retention, archive)))
        except psycopg.Error as exc:
            if every is None:
                raise
            click.echo(f"error: partitions not maintained: {first_line(exc)}", err=True)
        else:
            (settings.state_dir / "maintained").touch()  # the container's healthcheck reads it
        if every is None:
            return
        time.sleep(every)
