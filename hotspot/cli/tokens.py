"""`hotspot tokens …`: bearer tokens for the admin API.

Kept apart from `hotspot.cli.main` (which adds this group) so neither imports the other at load
time.
Token changes are audited like the API's writes, with the actor `cli`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from hotspot.adapters import db
from hotspot.cli.context import CLI_ACTOR
from hotspot.core.settings import Settings
from hotspot.models import AdminRole
from hotspot.operators.audit import audit
from hotspot.operators.tokens import issue_token, list_tokens, revoke_token


@contextmanager
def transaction() -> Iterator[Session]:
    """One transaction on the database the settings name, for a command run outside
    `hotspot.cli.main`'s Context (this group and `hotspot report`); the engine is disposed of
    after."""
    with db.one_off_transaction(Settings.from_env().effective_database_url) as session:
        yield session


@click.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for the admin API (/api/admin)."""


@tokens_group.command("create")
@click.option("--name", required=True, help="Who holds it; shown as the actor in the audit log.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in AdminRole]),
    required=True,
    help="admin reads and writes; viewer only reads.",
)
@click.option(
    "--operator",
    "operator_code",
    help="The operator whose data it reaches (its code); default: the only operator there is.",
)
@click.option("--platform", is_flag=True, help="Over every operator (the platform's admins).")
def tokens_create(name: str, role: str, operator_code: str | None, platform: bool) -> None:
    """Create a token and print it, once: only its SHA-256 is stored."""
    if platform and operator_code:
        raise click.UsageError("--platform or --operator, not both")
    with transaction() as session:
        owner = None if platform else CLI_ACTOR.owner(session, operator_code)
        created, token = issue_token(session, name, role, owner.id if owner else None)
        audit(
            session,
            CLI_ACTOR,
            "token.create",
            f"token:{created.id}",
            {
                "name": created.name,
                "role": created.role.value,
                "operator": owner.code if owner else "platform",
            },
            owner=created.operator_id,
        )
        token_id = created.id
    click.echo(
        f"token {token_id} ({role}) for {name.strip()}; shown only now, keep it safe:", err=True
    )
    click.echo(token)


@tokens_group.command("list")
def tokens_list() -> None:
    """Every token: id, name, role, created, last used, revoked (never the token)."""
    with transaction() as session:
        tokens = list_tokens(session)
        if not tokens:
            click.echo("no tokens; create one with: hotspot tokens create --name NAME")
        for t in tokens:
            last = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
            revoked = (
                f"revoked {t.revoked_at.isoformat(timespec='seconds')}" if t.revoked_at else "live"
            )
            click.echo(
                f"{t.id:>4}  {t.name:<24} {t.role.value:<7} "
                f"created {t.created_at.isoformat(timespec='seconds')}  "
                f"last used {last}  {revoked}"
            )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token ID: from now it gets 401."""
    with transaction() as session:
        token = revoke_token(session, token_id)
        audit(
            session,
            CLI_ACTOR,
            "token.revoke",
            f"token:{token.id}",
            {"name": token.name},
            owner=token.operator_id,
        )
        name = token.name
    click.echo(f"token {token_id} ({name}) revoked")
