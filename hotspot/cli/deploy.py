"""`hotspot deploy init`: the two env files of the Docker Compose deployment, secrets generated.

- `docker/.env` is read by `docker compose` itself (variable interpolation in compose.yaml): the
  site's domain and the passwords of the servers the compose file starts.
- `docker/hotspot.env` is the application's settings, given to the app containers as env_file.

It only ever adds: a key already in a file keeps its value (a generated secret left empty is
filled), lines and comments stay as they are, and running it again changes nothing. Both files are
mode 0600. The operator's own Daraja and Africa's Talking credentials cannot be generated: in
production they are written empty, with a comment, for the operator to fill in.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import click

from hotspot.core.deployment import DARAJA_PRODUCTION_URL, public_host_problem
from hotspot.core.settings import PREFIX, PRODUCTION, SANDBOX, read_env_file

COMPOSE_ENV = ".env"
APP_ENV = "hotspot.env"
SANDBOX_DOMAIN = "127.0.0.1"
SANDBOX_PUBLIC_BASE_URL = "https://127.0.0.1:8443"
SANDBOX_MPESA_BASE_URL = "http://sandbox-mpesa:8089"
SANDBOX_SMS_BASE_URL = "http://sandbox-sms:8090/version1"
AT_PRODUCTION_URL = "https://api.africastalking.com/version1"
HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*$")
KEY_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def new_secret() -> str:
    """URL-safe (it goes into database and Redis URLs as it is) and free of `$` (compose)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Entry:
    """One key of an env file: a fixed value, a generated secret, or one the operator fills in."""

    key: str
    value: str
    comment: str
    generated: bool = False
    operator: bool = False  # written empty: only the operator has it

    @classmethod
    def secret(cls, key: str, comment: str) -> Entry:
        return cls(key, new_secret(), comment, generated=True)

    @classmethod
    def to_fill(cls, key: str, comment: str) -> Entry:
        return cls(key, "", f"FILL IN: {comment}", operator=True)


def compose_entries(environment: str, domain: str) -> list[Entry]:
    """docker/.env: what compose.yaml interpolates; not handed to the containers wholesale."""
    return [
        Entry(
            PREFIX + "ENVIRONMENT",
            environment,
            "sandbox (offline trial, stand-in gateways) or production.",
        ),
        Entry(PREFIX + "DOMAIN", domain, "Site address the TLS proxy serves (its certificate's)."),
        Entry.secret(
            PREFIX + "POSTGRES_SUPERUSER_PASSWORD", "PostgreSQL superuser (postgres) password."
        ),
        Entry.secret(
            PREFIX + "DB_OWNER_PASSWORD", "Role owning the schema (migrations run as it)."
        ),
        Entry.secret(PREFIX + "DB_APP_PASSWORD", "Role the API, worker and scheduler use."),
        Entry.secret(PREFIX + "RADIUS_DB_PASSWORD", "Role FreeRADIUS uses (auth and radacct)."),
        Entry.secret(PREFIX + "REDIS_PASSWORD", "Redis password."),
        Entry.secret(PREFIX + "RADIUS_STATUS_SECRET", "Secret of FreeRADIUS's status listener."),
        Entry(
            PREFIX + "MONITORING",
            "false",
            "true: also run Prometheus with the shipped alert rules (profile monitoring).",
        ),
        Entry.secret(
            PREFIX + "ALERT_RECEIVER_TOKEN", "Token Prometheus sends its alerts to the API with."
        ),
        *(trial_ports() if environment == SANDBOX else []),
    ]


def trial_ports() -> list[Entry]:
    """The offline trial answers on this machine only, on ports a developer's user may bind."""
    return [
        Entry(PREFIX + "PROXY_BIND", "127.0.0.1", "Where the proxy's ports are published."),
        Entry(PREFIX + "HTTPS_PORT", "8443", "Published HTTPS port of the TLS proxy."),
        Entry(PREFIX + "HTTP_PORT", "8080", "Published HTTP port of the TLS proxy."),
    ]


def app_entries(environment: str, domain: str) -> list[Entry]:
    """docker/hotspot.env: the application's settings (env_file of every app container)."""
    environment_entry = Entry(PREFIX + "ENVIRONMENT", environment, "sandbox or production.")
    ours = [
        Entry.secret(
            PREFIX + "MPESA_CALLBACK_TOKEN", "Secret path segment of the M-Pesa callback URLs."
        ),
        Entry.secret(
            PREFIX + "MPESA_CALLBACK_KEY", "Secret later callback tokens are derived from."
        ),
        Entry.secret(
            PREFIX + "SMS_DELIVERY_REPORT_TOKEN", "Secret path segment of the SMS delivery reports."
        ),
        Entry.secret(
            PREFIX + "SECRETS_KEY",
            "Seals operators' M-Pesa credentials in the database; not in database backups.",
        ),
    ]
    if environment == SANDBOX:
        return [
            environment_entry,
            Entry(
                PREFIX + "PUBLIC_BASE_URL", SANDBOX_PUBLIC_BASE_URL, "Where the TLS proxy serves."
            ),
            Entry(PREFIX + "MPESA_BASE_URL", SANDBOX_MPESA_BASE_URL, "The Daraja stand-in."),
            Entry.secret(PREFIX + "MPESA_CONSUMER_KEY", "Daraja stand-in consumer key."),
            Entry.secret(PREFIX + "MPESA_CONSUMER_SECRET", "Daraja stand-in consumer secret."),
            Entry.secret(PREFIX + "MPESA_PASSKEY", "Daraja stand-in passkey."),
            Entry(PREFIX + "SMS_BASE_URL", SANDBOX_SMS_BASE_URL, "The Africa's Talking stand-in."),
            Entry(PREFIX + "SMS_USERNAME", "sandbox", "Africa's Talking stand-in username."),
            Entry.secret(PREFIX + "SMS_API_KEY", "Africa's Talking stand-in API key."),
            *ours,
        ]
    return [
        environment_entry,
        Entry(
            PREFIX + "PUBLIC_BASE_URL",
            f"https://{domain}",
            "Where M-Pesa and Africa's Talking reach the API (through the TLS proxy).",
        ),
        Entry(PREFIX + "MPESA_BASE_URL", DARAJA_PRODUCTION_URL, "Safaricom's Daraja API."),
        Entry.to_fill(PREFIX + "MPESA_SHORTCODE", "your paybill (or head-office) shortcode."),
        Entry.to_fill(PREFIX + "MPESA_CONSUMER_KEY", "your Daraja app's consumer key."),
        Entry.to_fill(PREFIX + "MPESA_CONSUMER_SECRET", "your Daraja app's consumer secret."),
        Entry.to_fill(PREFIX + "MPESA_PASSKEY", "your Lipa na M-Pesa Online passkey."),
        Entry(PREFIX + "SMS_BASE_URL", AT_PRODUCTION_URL, "Africa's Talking's API."),
        Entry.to_fill(PREFIX + "SMS_USERNAME", "your Africa's Talking username."),
        Entry.to_fill(PREFIX + "SMS_API_KEY", "your Africa's Talking API key."),
        *ours,
    ]


@dataclass
class Merged:
    path: Path
    added: list[str]
    kept_different: list[str]  # fixed values already there and unlike this run's
    to_fill: list[str]  # operator keys still empty


def merge_env_file(path: Path, entries: list[Entry], header: str) -> Merged:
    """Adds the missing keys to `path` (and fills generated secrets left empty); every other line
    stays as it was. Written through a 0600 temporary file and renamed; the mode is 0600 after."""
    existed = path.exists()
    text = path.read_text() if existed else f"{header}\n"
    values = read_env_file(path) if existed else {}
    lines = text.splitlines()
    added: list[str] = []
    kept: list[str] = []
    for entry in entries:
        if entry.key not in values:
            if lines and lines[-1].strip():
                lines.append("")
            lines += [f"# {entry.comment}", f"{entry.key}={entry.value}"]
            added.append(entry.key)
        elif entry.generated and not values[entry.key]:
            index = max(i for i, line in enumerate(lines) if line_key(line) == entry.key)
            lines[index] = f"{entry.key}={entry.value}"
            added.append(entry.key)
        elif not entry.generated and not entry.operator and values[entry.key] != entry.value:
            kept.append(entry.key)
    if added or not existed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        tmp.replace(path)
    path.chmod(0o600)
    final = read_env_file(path)
    to_fill = [entry.key for entry in entries if entry.operator and not final.get(entry.key)]
    return Merged(path, added, kept, to_fill)


def line_key(line: str) -> str | None:
    if line.lstrip().startswith("#"):
        return None
    match = KEY_LINE.match(line)
    return match.group(1) if match else None


def check_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    if not HOSTNAME.match(domain):
        raise click.BadParameter(
            "a bare host name such as wifi.example.com (no scheme, port or path)",
            param_hint="--domain",
        )
    problem = public_host_problem(domain)
    if problem:
        raise click.BadParameter(
            f"{problem}: production needs a public name (M-Pesa calls it)", param_hint="--domain"
        )
    return domain


@click.group("deploy")
def deploy_group() -> None:
    """The Docker Compose deployment (docker/compose.yaml)."""


@deploy_group.command("init")
@click.option(
    "--sandbox",
    is_flag=True,
    help="The offline trial: stand-in M-Pesa and SMS gateways, every secret generated.",
)
@click.option(
    "--domain",
    default=None,
    help="Public name of the site (production), e.g. wifi.example.com; it serves https://DOMAIN.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("docker"),
    show_default=True,
    help="Where compose.yaml is: the files are DIR/.env and DIR/hotspot.env.",
)
def deploy_init(sandbox: bool, domain: str | None, directory: Path) -> None:
    """Write DIR/.env and DIR/hotspot.env (mode 0600), adding only what is missing.

    A value already in either file is never changed; run it again after an upgrade to add the
    keys a new version needs. In production, fill in the keys it leaves empty (your Daraja and
    Africa's Talking credentials) before `docker compose up`.
    """
    environment = SANDBOX if sandbox else PRODUCTION
    compose_path, app_path = directory / COMPOSE_ENV, directory / APP_ENV
    for path in (compose_path, app_path):
        written = read_env_file(path).get(PREFIX + "ENVIRONMENT")
        if written is not None and written != environment:
            raise click.UsageError(
                f"{path} is a {written or 'nameless'} deployment's; this run is {environment}: "
                "nothing written (move both files away to start the other kind)"
            )
    if sandbox:
        if domain is not None:
            raise click.UsageError("--domain is for production; the sandbox serves 127.0.0.1")
        domain = SANDBOX_DOMAIN
    elif domain is not None:
        domain = check_domain(domain)
    elif PREFIX + "DOMAIN" not in read_env_file(
        compose_path
    ) or PREFIX + "PUBLIC_BASE_URL" not in read_env_file(app_path):
        raise click.UsageError(
            "production needs --domain (the site's public name), or --sandbox for an offline trial"
        )
    else:
        domain = read_env_file(compose_path)[PREFIX + "DOMAIN"]  # both files already have theirs
    header = (
        f"# Written by `hotspot deploy init` ({environment}), which only ever adds missing keys.\n"
        "# Secrets: keep this file private (mode 0600) and out of version control."
    )
    results = [
        merge_env_file(
            compose_path, compose_entries(environment, domain), f"{header}\n# Read by compose."
        ),
        merge_env_file(
            app_path, app_entries(environment, domain), f"{header}\n# Application settings."
        ),
    ]
    for result in results:
        done = f"added {', '.join(result.added)}" if result.added else "unchanged"
        click.echo(f"{result.path}: {done}")
        if result.kept_different:
            click.echo(
                f"  kept as they are (unlike this run's {environment} values): "
                + ", ".join(result.kept_different)
            )
        if result.to_fill:
            click.echo(f"  fill in before starting: {', '.join(result.to_fill)}")
