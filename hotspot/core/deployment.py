"""What a sandbox or production deployment checks before it starts: every secret set (nothing is
generated outside development), in production the real gateways at public https addresses, and
no router with a demo secret, which is public. Problems name variables, never values."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.settings import (
    DEVELOPMENT,
    ENVIRONMENTS,
    GATEWAY_SECRETS,
    GENERATED_SECRETS,
    PREFIX,
    PRODUCTION,
    ConfigurationError,
    Settings,
    check_gateways,
    env_name,
)
from hotspot.models import Nas

# The demo NAS's secrets (`hotspot db seed`) are published, so a deployment refuses to start
# while a router holds one. Public, like any demo secret, but as long as the admin API demands.
DEMO_NAS_SECRET = "hotspot-demo-secret"  # noqa: S105
RETIRED_DEMO_NAS_SECRETS = ("testing123",)  # replaced where an older seed left it
DEMO_NAS_SECRETS = (DEMO_NAS_SECRET, *RETIRED_DEMO_NAS_SECRETS)

# What a sandbox or production process needs set (never generated there): its own servers, and
# every secret development generates but the private PostgreSQL's (a deployment names its
# database in the URL).
PRIVATE_STACK_SECRETS = ("postgres_password", "postgres_superuser_password")
DEPLOYMENT_SECRETS = (
    "database_url",
    "redis_url",
    *(
        name
        for name in GENERATED_SECRETS
        if name not in PRIVATE_STACK_SECRETS
        and not any(name in names for names in GATEWAY_SECRETS.values())
    ),
)

# FreeRADIUS's container holds only what it uses: its database role and the health probe's secret.
RADIUS_SECRETS = ("database_url", "radius_db_password", "radius_status_secret")

DARAJA_PRODUCTION_URL = "https://api.safaricom.co.ke"
DARAJA_SANDBOX_SHORTCODE = "174379"  # Safaricom's test paybill, our development default
AT_SANDBOX_USERNAME = "sandbox"
# Names no public DNS answers for (RFC 6761, RFC 8375, and the usual LAN suffixes).
NON_PUBLIC_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".lan",
    ".internal",
    ".home.arpa",
    ".test",
    ".example",
    ".invalid",
)


def problems(settings: Settings, needs: tuple[str, ...] = ()) -> list[str]:
    """What keeps these settings from running a sandbox or production deployment, each naming
    its variable, never a secret's value. Development has none (secrets are generated there).
    `needs`: the secrets of a process that talks to neither gateway (FreeRADIUS), instead of
    every deployment secret and the production gateway checks."""
    if settings.environment not in ENVIRONMENTS:
        return [f"{PREFIX}ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}"]
    if settings.environment == DEVELOPMENT:
        return []
    offered = check_gateways(settings.gateways)
    wanted = needs or (
        *DEPLOYMENT_SECRETS,
        *(secret for name in offered for secret in GATEWAY_SECRETS.get(name, ())),
    )
    found = [
        f"{env_name(name)} is not set"
        for name in wanted
        if not str(getattr(settings, name)).strip()
    ]
    if settings.environment == PRODUCTION and not needs:
        found += production_problems(settings)
    return found


def require_deployable(settings: Settings, needs: tuple[str, ...] = ()) -> None:
    """Called by every entry point (API, worker, scheduler, migrations, FreeRADIUS render)
    before it starts: all the problems at once, so one edit of the env file fixes them."""
    found = problems(settings, needs)
    if found:
        raise ConfigurationError(settings.environment, found)


def public_https_problem(url: str) -> str | None:
    """Why `url` is not an https URL of a public host (None: it is)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https":
        return "is not https"
    return public_host_problem((parts.hostname or "").rstrip(".").lower())


def public_host_problem(host: str) -> str | None:
    """Why `host` (a name or an address) is not one the internet reaches (None: it is)."""
    if not host:
        return "names no host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if address.is_loopback:
            return "names a loopback address"
        return None if address.is_global else "names a private address"
    if host == "localhost" or host.endswith(NON_PUBLIC_SUFFIXES):
        return f"names {host}, not a public host"
    if "." not in host:
        return f"names {host}, a name without a dot (a compose service or a LAN host)"
    return None


def production_problems(settings: Settings) -> list[str]:
    """Production talks to the real gateways, reachable at a public https address."""
    found: list[str] = []
    public = public_https_problem(settings.public_base_url)
    if public:
        found.append(f"{env_name('public_base_url')} {public} (M-Pesa must reach it)")
    mpesa = settings.mpesa_base_url.strip().rstrip("/")
    if mpesa != DARAJA_PRODUCTION_URL:
        host = (urlsplit(mpesa).hostname or "").lower()
        why = (
            "Safaricom's sandbox"
            if host == "sandbox.safaricom.co.ke"
            else public_https_problem(mpesa) or "not Safaricom's production API"
        )
        found.append(f"{env_name('mpesa_base_url')} must be {DARAJA_PRODUCTION_URL}, not {why}")
    sms = public_https_problem(settings.sms_base_url)
    if sms is None and "sandbox" in (urlsplit(settings.sms_base_url).hostname or "").lower():
        sms = "names Africa's Talking's sandbox"
    if sms:
        found.append(f"{env_name('sms_base_url')} {sms}")
    if not settings.sms_username.strip():
        found.append(f"{env_name('sms_username')} is not set")
    elif settings.sms_username.strip().lower() == AT_SANDBOX_USERNAME:
        found.append(f"{env_name('sms_username')} is Africa's Talking's sandbox account")
    if not settings.mpesa_shortcode.strip():
        found.append(f"{env_name('mpesa_shortcode')} is not set")
    elif settings.mpesa_shortcode.strip() == DARAJA_SANDBOX_SHORTCODE:
        found.append(f"{env_name('mpesa_shortcode')} is the Daraja sandbox's test shortcode")
    return found


def demo_nas_problems(session: Session) -> list[str]:
    """One problem per router whose secret is a demo one, named by nasname (never the secret)."""
    names = session.scalars(
        select(Nas.nasname).where(Nas.secret.in_(DEMO_NAS_SECRETS)).order_by(Nas.nasname)
    )
    return [
        f"the NAS {name} has a published demo secret: give it a secret of its own "
        "(PATCH /api/admin/nas/<id>) or delete it"
        for name in names
    ]


def require_no_demo_nas(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """In production (only), refuse to start while a router has a demo secret."""
    if settings.environment != PRODUCTION:
        return
    with sessions() as session:
        problems = demo_nas_problems(session)
    if problems:
        raise ConfigurationError(settings.environment, problems)


def require_startable(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """The API's and the worker's check at start: the settings, then the routers' secrets."""
    require_deployable(settings)
    require_no_demo_nas(settings, sessions)
