"""Database schema.

The FreeRADIUS tables keep the stock PostgreSQL names and columns (lower case, as PostgreSQL folds
the stock schema's identifiers) so the stock `queries.conf` runs unchanged. Our own tables say what
they are. Money is NUMERIC, times are timestamptz.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The ranges of PostgreSQL's integer and bigint: ids and counts beyond them are refused as input.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12, 2)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> Any:
    return mapped_column(Timestamp, nullable=False, server_default=func.now())


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


# --- FreeRADIUS tables (stock names and columns) -------------------------------------------------


class Nas(Base):
    __tablename__ = "nas"
    __table_args__ = (Index("nas_nasname", "nasname"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nasname: Mapped[str] = mapped_column(Text)
    shortname: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, server_default="other")
    ports: Mapped[int | None] = mapped_column(Integer)
    secret: Mapped[str] = mapped_column(Text)
    server: Mapped[str | None] = mapped_column(Text)
    community: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # Ours, not stock (the stock queries name their columns): where Disconnect/CoA go.
    coa_port: Mapped[int] = mapped_column(Integer, server_default="3799")
    # Ours (migration 0006): BlastRADIUS protection, and where the portal may post logins.
    require_message_authenticator: Mapped[bool] = mapped_column(
        Boolean, server_default=text("true")
    )
    hotspot_address: Mapped[str | None] = mapped_column(
        Text, doc="host[:port] of the router's hotspot login page"
    )


class NasReload(Base):
    """Written by the stock Accounting-On query and read by the stock simultaneous-use count."""

    __tablename__ = "nasreload"

    nasipaddress: Mapped[str] = mapped_column(INET, primary_key=True)
    reloadtime: Mapped[dt.datetime] = mapped_column(Timestamp)


class _AttributeRow:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attribute: Mapped[str] = mapped_column(Text, server_default="")
    value: Mapped[str] = mapped_column(Text, server_default="")


class RadCheck(_AttributeRow, Base):
    __tablename__ = "radcheck"
    __table_args__ = (Index("radcheck_username", "username", "attribute"),)

    username: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="==")


class RadReply(_AttributeRow, Base):
    __tablename__ = "radreply"
    __table_args__ = (Index("radreply_username", "username", "attribute"),)

    username: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadGroupCheck(_AttributeRow, Base):
    __tablename__ = "radgroupcheck"
    __table_args__ = (Index("radgroupcheck_groupname", "groupname", "attribute"),)

    groupname: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="==")


class RadGroupReply(_AttributeRow, Base):
    __tablename__ = "radgroupreply"
    __table_args__ = (Index("radgroupreply_groupname", "groupname", "attribute"),)

    groupname: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadUserGroup(Base):
    __tablename__ = "radusergroup"
    __table_args__ = (Index("radusergroup_username", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(Text, server_default="")
    groupname: Mapped[str] = mapped_column(Text, server_default="")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")


class RadAcct(Base):
    __tablename__ = "radacct"
    __table_args__ = (
        # The stock update/stop/simultaneous-use queries look up open sessions by unique id.
        Index(
            "radacct_active_session_idx",
            "acctuniqueid",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        # Accounting-On/Off closes every open session of one NAS.
        Index(
            "radacct_bulk_close",
            "nasipaddress",
            "acctstarttime",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        Index("radacct_start_user_idx", "acctstarttime", "username"),
        # Simultaneous-Use counts a user's open sessions on every login.
        Index(
            "radacct_active_user_idx",
            "username",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        Index("radacct_calss_idx", "class"),
        Index("radacct_sync_seq_idx", "sync_seq"),
        # Operator reports (migration 0002): a user's first session after a payment. Usage per
        # day reads its live days through radacct_start_user_idx: an index holding the counters
        # would take an entry on every Interim-Update (0002 had one; 0004 dropped it).
        Index(
            "radacct_username_start_idx",
            "username",
            "acctstarttime",
            postgresql_include=["nasipaddress"],
        ),
    )

    radacctid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    acctsessionid: Mapped[str] = mapped_column(Text)
    acctuniqueid: Mapped[str] = mapped_column(Text, unique=True)
    username: Mapped[str | None] = mapped_column(Text)
    realm: Mapped[str | None] = mapped_column(Text)
    nasipaddress: Mapped[str] = mapped_column(INET)
    nasportid: Mapped[str | None] = mapped_column(Text)
    nasporttype: Mapped[str | None] = mapped_column(Text)
    acctstarttime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctupdatetime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctstoptime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctinterval: Mapped[int | None] = mapped_column(BigInteger)
    acctsessiontime: Mapped[int | None] = mapped_column(BigInteger)
    acctauthentic: Mapped[str | None] = mapped_column(Text)
    connectinfo_start: Mapped[str | None] = mapped_column(Text)
    connectinfo_stop: Mapped[str | None] = mapped_column(Text)
    acctinputoctets: Mapped[int | None] = mapped_column(BigInteger)
    acctoutputoctets: Mapped[int | None] = mapped_column(BigInteger)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    acctterminatecause: Mapped[str | None] = mapped_column(Text)
    servicetype: Mapped[str | None] = mapped_column(Text)
    framedprotocol: Mapped[str | None] = mapped_column(Text)
    framedipaddress: Mapped[str | None] = mapped_column(INET)
    framedipv6address: Mapped[str | None] = mapped_column(INET)
    framedipv6prefix: Mapped[str | None] = mapped_column(INET)
    framedinterfaceid: Mapped[str | None] = mapped_column(Text)
    delegatedipv6prefix: Mapped[str | None] = mapped_column(INET)
    class_: Mapped[str | None] = mapped_column("class", Text)
    # Ours, from a sequence: inserts take it as their default, and a trigger stamps every
    # update that leaves the row closed (migration 0003), so the accounting sync reads only the
    # sessions started or ended since its watermark, whatever clock the NAS has. Interim-Updates
    # leave it alone and call no trigger (the sync reads them from the open rows).
    sync_seq: Mapped[int | None] = mapped_column(
        BigInteger, server_default=text("nextval('radacct_sync_seq'::regclass)")
    )


class RadPostAuth(Base):
    __tablename__ = "radpostauth"
    __table_args__ = (
        Index("radpostauth_username_idx", "username"),
        Index("radpostauth_class_idx", "class"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(Text)
    pass_: Mapped[str | None] = mapped_column("pass", Text)
    reply: Mapped[str | None] = mapped_column(Text)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    authdate: Mapped[dt.datetime] = _now()
    class_: Mapped[str | None] = mapped_column("class", Text)


# Tables FreeRADIUS reads (its database role gets SELECT) and writes (INSERT/UPDATE).
RADIUS_READ_TABLES = (
    "nas",
    "nasreload",
    "radcheck",
    "radreply",
    "radgroupcheck",
    "radgroupreply",
    "radusergroup",
    "radacct",
    "radpostauth",
)
RADIUS_WRITE_TABLES = ("radacct", "radpostauth", "nasreload")
RADIUS_SEQUENCES = ("radacct_radacctid_seq", "radpostauth_id_seq", "radacct_sync_seq")


# --- Our domain ----------------------------------------------------------------------------------


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    CAPPED = "capped"  # used its package's data
    DISABLED = "disabled"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    UNMATCHED = "unmatched"  # C2B money whose account reference names nobody: for an operator

    @property
    def final(self) -> bool:
        return self is not PaymentStatus.PENDING


class PaymentMethod(enum.StrEnum):
    STK = "stk"
    C2B = "c2b"


class SessionStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CLOSED = "closed"


class VoucherStatus(enum.StrEnum):
    UNUSED = "unused"
    REDEEMED = "redeemed"
    REVOKED = "revoked"


class SmsStatus(enum.StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Package(Base):
    """What a customer buys; each package is one RADIUS group named `group_name`."""

    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("duration_seconds > 0", name="duration_positive"),
        CheckConstraint("devices > 0", name="devices_positive"),
        CheckConstraint("data_cap_bytes IS NULL OR data_cap_bytes > 0", name="data_cap_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    group_name: Mapped[str] = mapped_column(Text, unique=True)
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), server_default="KES")
    duration_seconds: Mapped[int] = mapped_column(Integer)
    data_cap_bytes: Mapped[int | None] = mapped_column(BigInteger)
    rate_limit: Mapped[str] = mapped_column(Text, doc="MikroTik rate limit, upload/download")
    devices: Mapped[int] = mapped_column(Integer, server_default="1")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class HotspotUser(Base):
    __tablename__ = "hotspot_users"
    __table_args__ = (
        # One phone, one account: renewals extend it instead of piling up users.
        Index(
            "uq_hotspot_users_phone",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
        ),
        Index("ix_hotspot_users_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    phone: Mapped[str | None] = mapped_column(Text)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    status: Mapped[UserStatus] = mapped_column(
        _enum(UserStatus, "user_status"), server_default=UserStatus.ACTIVE.value
    )
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    credit: Mapped[Decimal] = mapped_column(Money, server_default="0")
    data_used_bytes: Mapped[int] = mapped_column(
        BigInteger, server_default="0", doc="since the last purchase, counted by the sync"
    )
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    package: Mapped[Package] = relationship()


class Payment(Base):
    """One payment: an STK push we started, or C2B money sent to the paybill.

    `checkout_request_id` and `mpesa_receipt` are unique, so the same callback or receipt can
    never settle two payments.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_status_created_at", "status", "created_at"),
        Index("ix_payments_phone", "phone"),
        Index(
            "ix_payments_paid_day",
            text("((paid_at AT TIME ZONE 'UTC')::date)"),
            postgresql_where=text("status = 'paid'"),
        ),
        Index("ix_payments_created_day", text("((created_at AT TIME ZONE 'UTC')::date)")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(
        _enum(PaymentMethod, "payment_method"), server_default=PaymentMethod.STK.value
    )
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    phone: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money, doc="asked for (STK) or received (C2B)")
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[PaymentStatus] = mapped_column(
        _enum(PaymentStatus, "payment_status"), server_default=PaymentStatus.PENDING.value
    )
    portal_token_hash: Mapped[str | None] = mapped_column(Text)
    bill_ref_number: Mapped[str | None] = mapped_column(Text)
    checkout_request_id: Mapped[str | None] = mapped_column(Text, unique=True)
    merchant_request_id: Mapped[str | None] = mapped_column(Text)
    mpesa_receipt: Mapped[str | None] = mapped_column(Text, unique=True)
    result_code: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    mac: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    paid_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # The package's terms when the STK push was asked for (migration 0006): a payment settles at
    # the price it asked, whatever changes while the customer types the PIN.
    package_price: Mapped[Decimal | None] = mapped_column(Money)
    package_duration_seconds: Mapped[int | None] = mapped_column(Integer)

    package: Mapped[Package | None] = relationship()


class PaymentEvent(Base):
    """Audit trail: every step of every payment, raw bodies included."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_payment_id_created_at", "payment_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = _now()


class HotspotCredential(Base):
    """The credentials handed out for one purchase, for the portal's auto-login and the SMS."""

    __tablename__ = "hotspot_credentials"
    __table_args__ = (
        # The rows still holding a password (migration 0008), for retention and recovery.
        Index(
            "ix_hotspot_credentials_kept_created_at",
            "created_at",
            postgresql_where=text("password <> ''"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    username: Mapped[str] = mapped_column(Text)
    password: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = _now()


class RadiusSession(Base):
    """Our view of one NAS session, kept in step with radacct by the accounting sync."""

    __tablename__ = "radius_sessions"
    __table_args__ = (Index("ix_radius_sessions_user_id_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hotspot_users.id"))
    status: Mapped[SessionStatus] = mapped_column(
        _enum(SessionStatus, "session_status"), server_default=SessionStatus.PENDING.value
    )
    acct_unique_id: Mapped[str | None] = mapped_column(Text, unique=True)
    acct_session_id: Mapped[str | None] = mapped_column(Text)
    nas_ip: Mapped[str | None] = mapped_column(INET)
    framed_ip: Mapped[str | None] = mapped_column(INET)
    mac: Mapped[str | None] = mapped_column(Text)
    nas_port_id: Mapped[str | None] = mapped_column(Text)
    terminate_cause: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    last_update_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    expected_end: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    input_octets: Mapped[int] = mapped_column(BigInteger, server_default="0")
    output_octets: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[dt.datetime] = _now()


class SessionDisconnection(Base):
    """One Disconnect-Request attempt and what the NAS answered."""

    __tablename__ = "session_disconnections"
    __table_args__ = (
        Index(
            "ix_session_disconnections_failed_day",
            text("((created_at AT TIME ZONE 'UTC')::date)"),
            postgresql_where=text("result <> 'ack'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("radius_sessions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    error_cause: Mapped[int | None] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    nas_ip: Mapped[str | None] = mapped_column(INET)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class DataUsageLog(Base):
    __tablename__ = "data_usage_logs"
    __table_args__ = (Index("ix_data_usage_logs_user_id_recorded_at", "user_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("radius_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hotspot_users.id"))
    input_octets_delta: Mapped[int] = mapped_column(BigInteger)
    output_octets_delta: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = _now()


class Voucher(Base):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    batch: Mapped[str | None] = mapped_column(Text, index=True)
    status: Mapped[VoucherStatus] = mapped_column(
        _enum(VoucherStatus, "voucher_status"), server_default=VoucherStatus.UNUSED.value
    )
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"))
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = _now()


class SyncWatermark(Base):
    """How far a periodic job has read (e.g. the accounting sync's last radacct sync_seq)."""

    __tablename__ = "sync_watermarks"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[dt.datetime] = _now()


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    __table_args__ = (
        Index(
            "ix_sms_messages_failures_day",
            text("((created_at AT TIME ZONE 'UTC')::date)"),
            postgresql_where=text(
                "status = 'failed' OR (status = 'claimed' AND error IS NOT NULL)"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    phone: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[SmsStatus] = mapped_column(
        _enum(SmsStatus, "sms_status"), server_default=SmsStatus.CLAIMED.value
    )
    provider_status_code: Mapped[int | None] = mapped_column(Integer)
    provider_message_id: Mapped[str | None] = mapped_column(Text, index=True)
    cost: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class CallbackTokenGeneration(Base):
    """A generation of the M-Pesa callback URL token (the token is derived, never stored): valid
    until `retires_at`, or for good while it is empty."""

    __tablename__ = "callback_token_generations"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = _now()
    retires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AdminRole(enum.StrEnum):
    ADMIN = "admin"  # reads and writes
    VIEWER = "viewer"  # reads only


class AdminToken(Base):
    """A bearer token for the admin API; only its SHA-256 is stored."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[AdminRole] = mapped_column(_enum(AdminRole, "admin_role"))
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AuditEntry(Base):
    """Who changed what, when: every write through the admin API."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = _now()
