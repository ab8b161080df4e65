"""What varies between deployments of the rendered raddb, and the checks that keep each value
from producing a broken or injectable configuration."""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from hotspot.adapters.freeradius import FreeRadiusConfigError
from hotspot.adapters.freeradius.quoting import check_config_string, quoted_status_secret
from hotspot.core.settings import PRIVATE_DB_NAME, Settings

TIMEZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


@dataclass(frozen=True)
class RaddbParams:
    """Everything that varies between deployments of the rendered raddb."""

    listen_address: str
    auth_port: int
    acct_port: int
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: str
    status_port: int
    status_secret: str
    status_clients: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    client_lifetime: int = 30
    reject_delay: int = 1
    detail_accounting: bool = False
    timezone: str = "UTC"  # daily quotas are back at its midnight
    log_dir: Path | None = None
    debian_raddb: Path = Path("/etc/freeradius/3.0")


def raddb_params(settings: Settings, log_dir: Path) -> RaddbParams:
    """This deployment's raddb: FreeRADIUS reads the database the settings name, as its own role."""
    url = make_url(settings.effective_database_url)
    return RaddbParams(
        listen_address=settings.radius_listen_address,
        auth_port=settings.radius_auth_port,
        acct_port=settings.radius_acct_port,
        status_port=settings.radius_status_port,
        status_secret=settings.radius_status_secret,
        status_clients=tuple(settings.radius_status_clients.split(",")),
        client_lifetime=settings.radius_client_lifetime,
        db_host=url.host or "127.0.0.1",
        db_port=url.port or 5432,
        db_name=url.database or PRIVATE_DB_NAME,
        db_user=settings.radius_db_user,
        db_password=settings.radius_db_password,
        reject_delay=settings.radius_reject_delay,
        detail_accounting=settings.radius_detail_accounting,
        timezone=settings.timezone,
        log_dir=log_dir,
        debian_raddb=settings.freeradius_raddb,
    )


def validate_params(params: RaddbParams) -> None:
    """Reject values that would produce a broken or injectable config."""
    if not isinstance(params.listen_address, str):
        raise FreeRadiusConfigError("listen_address must be a string")
    if params.listen_address != "*":
        try:
            ipaddress.ip_address(params.listen_address)
        except ValueError as exc:
            raise FreeRadiusConfigError(
                f"listen_address must be an IP address or '*', not {params.listen_address!r}"
            ) from exc
    _validate_numbers(params)
    _validate_timezone(params.timezone)
    quoted_status_secret(params.status_secret)
    status_networks(params.status_clients)
    for name in ("db_host", "db_name", "db_user", "db_password"):
        value = getattr(params, name)
        if not isinstance(value, str):
            raise FreeRadiusConfigError(f"{name} must be a string, not {type(value).__name__}")
        check_config_string(name, value)
    for name in ("db_host", "db_name", "db_user"):
        if not getattr(params, name):
            raise FreeRadiusConfigError(f"{name} must not be empty")
    if "=" in params.db_name:
        # rlm_sql_postgresql takes a radius_db containing "=" for a complete
        # libpq conninfo string instead of a database name.
        raise FreeRadiusConfigError(f"db_name must not contain '=': {params.db_name!r}")


def _validate_timezone(name: str) -> None:
    """An IANA name, written into a SQL string literal of the site: nothing else gets in."""
    if not isinstance(name, str) or not TIMEZONE_NAME.fullmatch(name):
        raise FreeRadiusConfigError(f"timezone must be an IANA time zone name, not {name!r}")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise FreeRadiusConfigError(f"unknown time zone {name!r}") from exc


def _validate_numbers(params: RaddbParams) -> None:
    """Ports, reject delay and client lifetime."""
    for name in ("auth_port", "acct_port", "status_port", "db_port"):
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise FreeRadiusConfigError(f"{name} must be a port number 1-65535, not {value!r}")
    ports = {name: getattr(params, name) for name in ("auth_port", "acct_port", "status_port")}
    if len(set(ports.values())) != len(ports):
        raise FreeRadiusConfigError(
            "auth_port, acct_port and status_port must differ: "
            + ", ".join(f"{name}={port}" for name, port in ports.items())
        )
    lifetime = params.client_lifetime
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 1 <= lifetime <= 86400:
        # 0 would be FreeRADIUS's "forever": a changed or deleted router would stay served.
        raise FreeRadiusConfigError(f"client_lifetime must be 1-86400 seconds, not {lifetime!r}")
    delay = params.reject_delay
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 10:
        raise FreeRadiusConfigError(f"reject_delay must be 0-10 seconds, not {delay!r}")


def status_networks(
    clients: str | tuple[str, ...] | list[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks allowed to probe the status listener: a comma-separated string (the
    setting) or a sequence; an address alone is its own /32 or /128."""
    items = clients.split(",") if isinstance(clients, str) else list(clients)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in items:
        if not isinstance(item, str):
            raise FreeRadiusConfigError(f"status client {item!r} is not a string")
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise FreeRadiusConfigError(
                f"status client {text!r} is not an IP network (e.g. 10.0.0.0/8 or 127.0.0.1): {exc}"
            ) from exc
    if not networks:
        raise FreeRadiusConfigError("status_clients must name at least one network")
    return networks
