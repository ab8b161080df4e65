"""One settings object, read from the environment.

Precedence, highest first: the process environment, a `.env` file in the working directory,
`STATE_DIR/runtime.env` (written by a running `hotspot run`, so every `hotspot ...` command in the
checkout talks to the same stack), `STATE_DIR/secrets.env` (secrets generated on first use, so
no secret ever lives in code), then the defaults below.

Only in development are secrets generated (and `secrets.env` read at all): a sandbox or production
deployment must set every secret itself, and `hotspot.deployment.require_deployable()` refuses to
start one that does not (`hotspot deploy init` writes them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

PREFIX = "HOTSPOT_"
PRIVATE_DB_NAME = "hotspot"
PRIVATE_DB_USER = "hotspot"
DEVELOPMENT = "development"
SANDBOX = "sandbox"
PRODUCTION = "production"
ENVIRONMENTS = (DEVELOPMENT, SANDBOX, PRODUCTION)


def _setting(default: Any, doc: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"doc": doc, "secret": secret})


def project_root() -> Path | None:
    """The checkout this package runs from, when installed editable (the common dev case)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def default_state_dir() -> Path:
    return (project_root() or Path.cwd()) / ".hotspot"


@dataclass(frozen=True)
class Settings:
    state_dir: Path = _setting(
        Path(".hotspot"), "Where the private stack keeps its data, config, logs and sockets."
    )
    environment: str = _setting(
        "development",
        "development (secrets generated into the state dir) | sandbox (the production compose, "
        "offline, with stand-in gateways) | production; anything else is refused.",
    )
    database_url: str = _setting(
        "",
        "SQLAlchemy URL of PostgreSQL. Empty: a private PostgreSQL is started under the state "
        "dir by `hotspot run` and the tests.",
        secret=True,
    )
    database_admin_url: str = _setting(
        "",
        "SQLAlchemy URL of a role that may create roles and databases (e.g. the superuser, on "
        "database postgres), used only by `hotspot db provision` to create or update the owner, "
        "application and FreeRADIUS roles and the database. Empty: provision creates nothing and "
        "only migrates and grants as the owner (managed PostgreSQL, roles made by an operator).",
        secret=True,
    )
    database_owner_url: str = _setting(
        "",
        "SQLAlchemy URL of the role that owns the schema and runs the migrations (same database "
        "as HOTSPOT_DATABASE_URL, whose role then gets row privileges only), used only by "
        "`hotspot db provision` and `hotspot db maintain`. Empty: HOTSPOT_DATABASE_URL's role owns "
        "the schema (development).",
        secret=True,
    )
    retention_months: str = _setting(
        "radacct:13,radius_sessions:13,session_disconnections:13,radpostauth:6,"
        "data_usage_logs:3,sms_messages:12",
        "Months each table that grows without end keeps, as table:months pairs (0 or absent keeps "
        "all: payment_events unless set); older rows are archived (HOTSPOT_ARCHIVE_DIR) and "
        "dropped by `hotspot db maintain`.",
    )
    archive_dir: str = _setting(
        "",
        "Folder rows past their retention are written to (gzip CSV: a file per month of a "
        "partitioned table, per batch of the others) before they are dropped; empty: dropped "
        "unarchived.",
    )
    redis_url: str = _setting(
        "", "URL of Redis. Empty: a private Redis is started under the state dir.", secret=True
    )
    postgres_port: int = _setting(5439, "Port of the private PostgreSQL (127.0.0.1).")
    postgres_password: str = _setting(
        "", "Password of the private PostgreSQL's application role (generated).", secret=True
    )
    postgres_superuser_password: str = _setting(
        "", "Password of the private PostgreSQL's superuser (generated).", secret=True
    )
    redis_port: int = _setting(6389, "Port of the private Redis (127.0.0.1).")
    api_host: str = _setting("127.0.0.1", "Address the API (gunicorn) listens on.")
    api_port: int = _setting(8000, "Port the API listens on.")
    api_workers: int = _setting(4, "gunicorn worker processes.")
    api_threads: int = _setting(
        16, "Threads per gunicorn worker (each open payment event stream holds one)."
    )
    max_request_bytes: int = _setting(
        65536, "Largest request body the API reads (bytes); a larger one is a 413."
    )
    public_base_url: str = _setting(
        "http://127.0.0.1:8000", "Base URL at which M-Pesa reaches this API (callbacks)."
    )
    radius_listen_address: str = _setting("127.0.0.1", "Address FreeRADIUS listens on.")
    radius_auth_port: int = _setting(1812, "FreeRADIUS authentication port.")
    radius_acct_port: int = _setting(1813, "FreeRADIUS accounting port.")
    radius_db_user: str = _setting(
        "radius", "Database role FreeRADIUS connects as (reads auth tables, writes radacct)."
    )
    radius_db_password: str = _setting(
        "", "Password of the FreeRADIUS database role (generated when empty).", secret=True
    )
    radius_reject_delay: int = _setting(1, "Seconds FreeRADIUS waits before an Access-Reject.")
    radius_detail_accounting: bool = _setting(
        False, "Also write every accounting packet to FreeRADIUS detail files."
    )
    radius_client_lifetime: int = _setting(
        30,
        "Seconds FreeRADIUS keeps a router's nas row before reading it again: a router added, "
        "changed or deleted through the admin API is served (or refused) within this time.",
    )
    radius_status_port: int = _setting(
        18121, "Port of FreeRADIUS's Status-Server listener (the API's readiness probe)."
    )
    radius_status_host: str = _setting(
        "",
        "Host (name or address) the API sends its Status-Server probe to. Empty: "
        "HOTSPOT_RADIUS_LISTEN_ADDRESS, or 127.0.0.1 when that is a wildcard.",
    )
    radius_status_secret: str = _setting(
        "", "Shared secret of the Status-Server listener (generated when empty).", secret=True
    )
    radius_status_clients: str = _setting(
        "127.0.0.1/32,::1/128",
        "Networks allowed to send Status-Server to FreeRADIUS (comma-separated; where the API "
        "runs).",
    )
    freeradius_raddb: Path = _setting(
        Path("/etc/freeradius/3.0"), "The distribution's FreeRADIUS config our raddb builds on."
    )
    acct_interim_interval: int = _setting(
        60, "Acct-Interim-Interval (seconds) sent to NASes with every package."
    )
    mpesa_base_url: str = _setting(
        "http://127.0.0.1:8089",
        "Daraja base URL: https://api.safaricom.co.ke, https://sandbox.safaricom.co.ke, or the "
        "local sandbox (`hotspot sandbox mpesa`).",
    )
    mpesa_consumer_key: str = _setting("", "Daraja app consumer key (generated for the sandbox).")
    mpesa_consumer_secret: str = _setting(
        "", "Daraja app consumer secret (generated for the sandbox).", secret=True
    )
    mpesa_shortcode: str = _setting("174379", "Paybill or head-office shortcode.")
    mpesa_passkey: str = _setting(
        "", "Lipa na M-Pesa Online passkey (generated for the sandbox).", secret=True
    )
    secrets_key: str = _setting(
        "",
        "Key that seals operators' M-Pesa credentials in the database (AES-256-GCM); keep it "
        "out of backups of the database, and never change it without re-entering them "
        "(generated when empty).",
        secret=True,
    )
    mpesa_transaction_type: str = _setting(
        "CustomerPayBillOnline", "CustomerPayBillOnline (paybill) or CustomerBuyGoodsOnline (till)."
    )
    mpesa_till_number: str = _setting("", "Till number (PartyB) for CustomerBuyGoodsOnline.")
    mpesa_timeout: float = _setting(10.0, "Seconds to wait for Daraja before giving up.")
    mpesa_callback_token: str = _setting(
        "",
        "Secret path segment of the M-Pesa callback URLs until the first rotation (generated).",
        secret=True,
    )
    mpesa_callback_key: str = _setting(
        "",
        "Secret the callback tokens of later generations are derived from (generated; "
        "`hotspot mpesa rotate-callback-token` rotates).",
        secret=True,
    )
    mpesa_callback_token_grace: int = _setting(
        86400, "Seconds the previous callback token stays valid after a rotation."
    )
    mpesa_query_first_delay: int = _setting(
        10, "Seconds before a payment with no callback is first queried (then 20, 40, 80 ...)."
    )
    mpesa_payment_window: int = _setting(
        300, "Seconds after which a payment still unsettled is marked expired."
    )
    sandbox_mpesa_port: int = _setting(8089, "Port of the local Daraja sandbox.")
    sandbox_mpesa_delay: float = _setting(
        2.0, "Seconds the local sandbox waits before approving (the customer entering the PIN)."
    )
    gateways: str = _setting(
        "mpesa",
        "Payment gateways offered where an operator chose none, in the portal's order: mpesa, "
        "iotec, campay (comma-separated).",
    )
    payment_query_first_delay: int = _setting(
        5,
        "Seconds before an IOTEC or CamPay collection is first asked about (then doubling until "
        "the payment window closes); M-Pesa's is HOTSPOT_MPESA_QUERY_FIRST_DELAY.",
    )
    iotec_base_url: str = _setting(
        "http://127.0.0.1:8091",
        "ioTec Pay API base (https://pay.iotec.io, or the local sandbox, `hotspot sandbox iotec`).",
    )
    iotec_token_url: str = _setting(
        "http://127.0.0.1:8091/connect/token",
        "ioTec's OAuth token endpoint (https://id.iotec.io/connect/token).",
    )
    iotec_client_id: str = _setting("", "ioTec API client id (generated for the sandbox).")
    iotec_client_secret: str = _setting(
        "", "ioTec API client secret (generated for the sandbox).", secret=True
    )
    iotec_wallet_id: str = _setting(
        "", "ioTec wallet the money goes to (generated for the sandbox)."
    )
    iotec_currency: str = _setting("UGX", "Currency sent to ioTec: UGX (ITX on ioTec's sandbox).")
    iotec_ipn_header: str = _setting(
        "X-Iotec-Ipn-Secret", "Header ioTec's callbacks carry the wallet's security value in."
    )
    iotec_ipn_secret: str = _setting(
        "", "Value of that header, as set for the wallet on pay.iotec.io (generated).", secret=True
    )
    iotec_timeout: float = _setting(10.0, "Seconds to wait for ioTec before giving up.")
    campay_base_url: str = _setting(
        "http://127.0.0.1:8092/api",
        "CamPay API base (https://www.campay.net/api, https://demo.campay.net/api, or the "
        "local sandbox, `hotspot sandbox campay`).",
    )
    campay_username: str = _setting("", "CamPay app username (generated for the sandbox).")
    campay_password: str = _setting(
        "", "CamPay app password (generated for the sandbox).", secret=True
    )
    campay_webhook_key: str = _setting(
        "",
        "CamPay app webhook key that signs its webhooks (generated for the sandbox).",
        secret=True,
    )
    campay_webhook_max_age: int = _setting(
        900, "Seconds a CamPay webhook signature's iat may be old before it is refused."
    )
    campay_timeout: float = _setting(10.0, "Seconds to wait for CamPay before giving up.")
    sandbox_iotec_port: int = _setting(8091, "Port of the local ioTec Pay sandbox.")
    sandbox_campay_port: int = _setting(8092, "Port of the local CamPay sandbox.")
    sandbox_payment_delay: float = _setting(
        2.0, "Seconds the local ioTec and CamPay sandboxes wait before a collection is final."
    )
    sms_username: str = _setting("sandbox", "Africa's Talking username.")
    sms_api_key: str = _setting(
        "", "Africa's Talking API key (generated for the local SMS sandbox).", secret=True
    )
    sms_sender_id: str = _setting("", "Alphanumeric sender ID or shortcode (empty: AT's default).")
    sms_delivery_report_token: str = _setting(
        "", "Secret path segment of the SMS delivery-report URL (generated).", secret=True
    )
    sms_base_url: str = _setting(
        "http://127.0.0.1:8090/version1",
        "Africa's Talking API base (https://api.africastalking.com/version1 in production, or "
        "the local sandbox, `hotspot sandbox sms`).",
    )
    sms_template: str = _setting(
        "WiFi login: username {username} password {password}, valid until {expires_at}.",
        "Credentials SMS; {username}, {password}, {expires_at} and {package} are filled in.",
    )
    sms_timezone_offset_hours: int = _setting(
        3, "Offset from UTC for times shown to customers (3: East Africa Time)."
    )
    reminder_minutes: int = _setting(
        30,
        "Minutes before a package ends that its customer gets a renewal reminder by SMS, once per "
        "purchase; 0: no reminders.",
    )
    reminder_min_duration: int = _setting(
        43200,
        "Packages shorter than this many seconds get no reminder (one for a 1-hour package would "
        "come halfway through it).",
    )
    reminder_template: str = _setting(
        "Your WiFi package {package} ends at {expires_at}. Renew: pay to paybill {paybill}, "
        "account {username}, or open {portal_url}",
        "Renewal reminder SMS; {package}, {expires_at}, {username}, {paybill} and {portal_url} "
        "are filled in.",
    )
    timezone: str = _setting(
        "Africa/Nairobi",
        "The operator's time zone (IANA name): daily data quotas are back at its midnight.",
    )
    sandbox_sms_port: int = _setting(8090, "Port of the local Africa's Talking SMS sandbox.")
    accounting_sync_interval: int = _setting(
        30, "Seconds between accounting syncs (radacct → sessions, usage, data caps)."
    )
    stale_session_grace: int = _setting(
        60, "A session is stale after twice Acct-Interim-Interval plus this many seconds unheard."
    )
    expiry_sweep_interval: int = _setting(
        30, "Seconds between sweeps for expired users whose expiry job was missed."
    )
    disconnect_timeout: float = _setting(
        2.0, "Seconds to wait for a NAS to answer a Disconnect-Request."
    )
    disconnect_retry_delays: str = _setting(
        "5,15,30,60", "Seconds between Disconnect-Request attempts after a timeout or NAK."
    )
    coa_retry_delays: str = _setting(
        "2,5,10",
        "Seconds between CoA-Request attempts after a timeout or NAK; after the last, a "
        "Disconnect-Request, so the customer logs in again to the new entitlement.",
    )
    paybill_rules: str = _setting(
        "subscriber,hotspot,sms,wallet",
        "How a paybill payment's account reference is read, rule by rule in this order: "
        "subscriber (a PPPoE account number), hotspot (a username or phone), sms (SMS<operator "
        "code>: SMS credits), wallet (ACC<operator code>: into its wallet); else unmatched.",
    )
    sms_credit_price: Decimal = _setting(  # noqa: RUF009 - a Decimal is immutable
        Decimal("1.00"), "What one SMS credit costs an operator (paybill SMS<code>)."
    )
    notify_rules: str = _setting(
        "payment_received:customer,payment_received:operator,reconnected:customer,"
        "credit_kept:customer,credits_bought:operator,low_credits:operator,unmatched:platform,"
        "reconnect_failed:platform,gateway_error:platform,alert:platform",
        "Who is told of what by SMS, as event:recipient pairs (recipients: customer, operator, "
        "platform); leave one out to stop it.",
    )
    platform_phones: str = _setting(
        "", "Phones of the platform's admins (comma-separated) for platform notifications."
    )
    alert_receiver_token: str = _setting(
        "",
        "Bearer token Prometheus sends alerts with (its alertmanager `authorization`) to "
        "/api/alerts/api/v2/alerts; empty: that endpoint is off.",
        secret=True,
    )
    alert_webhook_url: str = _setting(
        "", "URL each alert event is POSTed to as JSON, once (empty: none)."
    )
    alert_webhook_secret: str = _setting(
        "",
        "Key of the HMAC-SHA256 signature of each alert webhook's body (X-Hotspot-Signature).",
        secret=True,
    )
    alert_max_per_hour: int = _setting(
        6,
        "At most this many alert events an hour reach people by SMS and webhook; the rest are "
        "recorded only (Prometheus still shows them).",
    )
    low_sms_credits: int = _setting(
        20, "An operator is told when its SMS credits fall below this (and at 0)."
    )
    nas_sim_coa_port: int = _setting(3799, "Port the NAS simulator listens on for Disconnect/CoA.")
    nas_sim_http_port: int = _setting(
        8088,
        "Port of the NAS simulator's hotspot pages (`hotspot nas-sim --http-port`); the demo NAS's "
        "hotspot address is 127.0.0.1 on this port.",
    )
    worker_processes: int = _setting(
        4, "rq worker processes `hotspot run` starts (expiry at scale needs several)."
    )
    worker_heartbeat_ttl: int = _setting(
        60, "Seconds a worker or scheduler heartbeat stays valid in Redis."
    )
    rate_limit_payments_per_phone: str = _setting(
        "5/600", "Payment initiations allowed per phone: COUNT/SECONDS."
    )
    rate_limit_payments_per_client: str = _setting(
        "10/600",
        "Payment initiations allowed per hotspot client (its MAC at a registered router; its IP "
        "when the portal names neither): COUNT/SECONDS.",
    )
    rate_limit_payments_per_ip: str = _setting(
        "200/600",
        "Payment initiations allowed per client IP, every customer behind a site's NAT together: "
        "COUNT/SECONDS.",
    )
    rate_limit_vouchers_per_client: str = _setting(
        "10/600",
        "Voucher redemption attempts allowed per hotspot client (its MAC at a registered router; "
        "its IP when the portal names neither): COUNT/SECONDS.",
    )
    rate_limit_vouchers_per_ip: str = _setting(
        "100/600",
        "Voucher redemption attempts allowed per client IP, every customer behind a site's NAT "
        "together: COUNT/SECONDS.",
    )
    rate_limit_lookups_per_ip: str = _setting(
        "300/60",
        "Session look-ups (returning customers) allowed per client IP, every customer behind a "
        "site's NAT together: COUNT/SECONDS.",
    )
    rate_limit_logouts: str = _setting(
        "10/600",
        "Portal logouts (each checks a password) allowed per username: COUNT/SECONDS.",
    )
    auto_login: bool = _setting(
        True,
        "The portal logs the customer in at the router with the credentials it was handed. "
        "Off: it shows them, and posts them to the router only when the customer asks.",
    )
    trusted_proxies: str = _setting(
        "",
        "Reverse proxies in front of the API (IP addresses or networks, comma-separated): only on "
        "requests from these is X-Forwarded-For (its last address) taken as the client's address. "
        "Empty: the connection's own address, always.",
    )
    credentials_cache_ttl: int = _setting(
        300, "Seconds the portal's auto-login credentials stay cached in Redis."
    )
    cleartext_retention: int = _setting(
        86400,
        "Seconds a customer's password stays in hotspot_credentials and in sent SMS bodies "
        "(radcheck keeps the copy CHAP needs); then it is forgotten.",
    )
    default_region: str = _setting("KE", "Region for phone numbers written without +country.")
    currency: str = _setting("KES", "Currency of package prices.")
    log_level: str = _setting("INFO", "Log level.")

    @property
    def private_postgres(self) -> bool:
        return self.database_url in ("", self.private_database_url)

    @property
    def private_redis(self) -> bool:
        return self.redis_url in ("", self.private_redis_url)

    @property
    def private_database_url(self) -> str:
        password = quote(self.postgres_password, safe="")
        return (
            f"postgresql+psycopg://{PRIVATE_DB_USER}:{password}@127.0.0.1:"
            f"{self.postgres_port}/{PRIVATE_DB_NAME}"
        )

    @property
    def private_redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.private_database_url

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or self.private_redis_url

    def with_changes(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, Any]:
        """The effective settings, safe to print: secrets and URL passwords replaced by ***."""
        shown: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                value = mask_url(self.effective_database_url)
            elif f.name == "redis_url":
                value = mask_url(self.effective_redis_url)
            elif f.name in ("database_admin_url", "database_owner_url"):
                value = mask_url(value)
            elif f.metadata["secret"]:
                value = "***" if value else ""
            elif isinstance(value, Path | Decimal):
                value = str(value)
            shown[f.name] = value
        shown["private_postgres"] = self.private_postgres
        shown["private_redis"] = self.private_redis
        return shown

    def to_json(self) -> str:
        return json.dumps(self.masked(), indent=2, sort_keys=True)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> Settings:
        env = dict(os.environ if environ is None else environ)
        if dotenv is not None and dotenv.is_file():
            env = {**read_env_file(dotenv), **env}
        state_dir = Path(env.get(PREFIX + "STATE_DIR") or default_state_dir()).absolute()
        runtime = {**read_env_file(state_dir / "runtime.env"), **env}
        environment = runtime.get(PREFIX + "ENVIRONMENT", DEVELOPMENT)
        if environment not in ENVIRONMENTS:
            raise ValueError(
                f"{PREFIX}ENVIRONMENT: expected {', '.join(ENVIRONMENTS)}, got {environment!r}"
            )
        generated = read_env_file(state_dir / "secrets.env") if environment == DEVELOPMENT else {}
        layered = {**generated, **runtime}
        values: dict[str, Any] = {"state_dir": state_dir}
        for f in dataclasses.fields(cls):
            raw = layered.get(PREFIX + f.name.upper())
            if f.name == "state_dir" or raw is None:
                continue
            values[f.name] = _parse(f, raw)
        settings = cls(**values)
        check_timezone(settings.timezone)
        check_paybill_rules(settings.paybill_rules)
        check_notify_rules(settings.notify_rules)
        check_gateways(settings.gateways)
        check_retention(settings.retention_months)
        if settings.alert_webhook_url and not settings.alert_webhook_secret:
            # A body signed with an empty key is a signature anyone can forge.
            raise ValueError(f"{PREFIX}ALERT_WEBHOOK_URL needs {PREFIX}ALERT_WEBHOOK_SECRET")
        if settings.environment != DEVELOPMENT:
            return settings  # nothing generated or written; deployment.problems names what lacks
        return settings.with_changes(**ensure_generated_secrets(settings))


PAYBILL_RULES = ("subscriber", "hotspot", "sms", "wallet")


def check_paybill_rules(raw: str) -> tuple[str, ...]:
    """The rules named, in order; a name we do not know fails at start."""
    rules = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [rule for rule in rules if rule not in PAYBILL_RULES]
    if unknown or len(set(rules)) != len(rules):
        raise ValueError(
            f"{PREFIX}PAYBILL_RULES: each of {', '.join(PAYBILL_RULES)} at most once, got {raw!r}"
        )
    return rules


NOTIFY_EVENTS = (
    "payment_received",
    "reconnected",
    "credit_kept",
    "credits_bought",
    "low_credits",
    "unmatched",
    "reconnect_failed",
    "gateway_error",
    "alert",
)
NOTIFY_RECIPIENTS = ("customer", "operator", "platform")


def check_notify_rules(raw: str) -> frozenset[tuple[str, str]]:
    """`event:recipient,...`; an unknown event or recipient fails at start."""
    rules = set()
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        event, _, recipient = part.partition(":")
        if event not in NOTIFY_EVENTS or recipient not in NOTIFY_RECIPIENTS:
            raise ValueError(f"{PREFIX}NOTIFY_RULES: {part!r} is not event:recipient")
        rules.add((event, recipient))
    return frozenset(rules)


# hotspot.adapters.partitions.PARTITIONED and hotspot.adapters.row_pruning.PRUNED
PARTITIONED_TABLES = ("radpostauth", "data_usage_logs", "payment_events")
PRUNED_TABLES = ("radacct", "session_disconnections", "radius_sessions", "sms_messages")
RETAINED_TABLES = PARTITIONED_TABLES + PRUNED_TABLES


def check_retention(raw: str) -> dict[str, int]:
    """`table:months,...` of the tables kept for a time; an unknown table or a bad count fails
    at start."""
    months: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",")):
        table, _, count = part.partition(":")
        if not part:
            continue
        if table not in RETAINED_TABLES or not count.isdigit():
            raise ValueError(
                f"{PREFIX}RETENTION_MONTHS: {part!r} is not table:months "
                f"(tables: {', '.join(RETAINED_TABLES)})"
            )
        months[table] = int(count)
    return months


KNOWN_GATEWAYS = ("mpesa", "iotec", "campay")


def check_gateways(raw: str) -> tuple[str, ...]:
    """HOTSPOT_GATEWAYS read: known names, in order, at least one."""
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in KNOWN_GATEWAYS]
    if unknown or not names:
        raise ValueError(f"{PREFIX}GATEWAYS lists some of {', '.join(KNOWN_GATEWAYS)}, got {raw!r}")
    return names


def check_timezone(name: str) -> None:
    """An IANA name this machine knows (daily quotas turn at its midnight, in PostgreSQL and
    FreeRADIUS alike): a typo fails at start, not at the first sync."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{PREFIX}TIMEZONE: unknown time zone {name!r}") from None


GENERATED_SECRETS = (
    "postgres_password",
    "postgres_superuser_password",
    "radius_db_password",
    "radius_status_secret",
    "mpesa_consumer_key",
    "mpesa_consumer_secret",
    "mpesa_passkey",
    "secrets_key",
    "mpesa_callback_token",
    "mpesa_callback_key",
    "iotec_client_id",
    "iotec_client_secret",
    "iotec_wallet_id",
    "iotec_ipn_secret",
    "campay_username",
    "campay_password",
    "campay_webhook_key",
    "sms_api_key",
    "sms_delivery_report_token",
)


# The installation's own ioTec and CamPay apps: a deployment needs them only where it offers
# that gateway itself (HOTSPOT_GATEWAYS); operators may bring their own.
GATEWAY_SECRETS = {
    "iotec": ("iotec_client_id", "iotec_client_secret", "iotec_wallet_id", "iotec_ipn_secret"),
    "campay": ("campay_username", "campay_password", "campay_webhook_key"),
}


def ensure_generated_secrets(settings: Settings) -> dict[str, str]:
    """Fills empty secrets from STATE_DIR/secrets.env, generating and saving any still missing."""
    missing = [name for name in GENERATED_SECRETS if not getattr(settings, name)]
    if not missing:
        return {}
    path = settings.state_dir / "secrets.env"
    stored = read_env_file(path)
    new = {
        PREFIX + name.upper(): secrets.token_urlsafe(24)
        for name in missing
        if PREFIX + name.upper() not in stored
    }
    if new:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        write_env_file(path, {**stored, **new})
    merged = {**stored, **new}
    return {name: merged[PREFIX + name.upper()] for name in missing}


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    default: Any = f.default
    kind = type(default)
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"{PREFIX}{f.name.upper()}: expected a boolean, got {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    if kind is Decimal:
        try:
            return Decimal(raw.strip())
        except ArithmeticError:
            raise ValueError(f"{PREFIX}{f.name.upper()}: expected a number, got {raw!r}") from None
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{PREFIX}{f.name.upper()}: expected a number, got {raw!r}") from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


def read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw_line in path.read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{key}={value}\n" for key, value in sorted(values.items()))
    tmp.replace(path)


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def setting_docs() -> dict[str, str]:
    """Environment variable name → description, for `.env.example` and the README."""
    return {PREFIX + f.name.upper(): f.metadata["doc"] for f in dataclasses.fields(Settings)}


class ConfigurationError(ValueError):
    """Settings a deployment cannot start with; `problems` name variables, never values."""

    def __init__(self, environment: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"the {environment} configuration cannot start:\n{listed}")


def env_name(name: str) -> str:
    return PREFIX + name.upper()
