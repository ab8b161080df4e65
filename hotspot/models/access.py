"""Hotspot users, their credentials, and what accounting says they did."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotspot.models.base import (
    Base,
    Money,
    Timestamp,
    enum_column,
    now_column,
)
from hotspot.models.catalog import Package
from hotspot.models.operators import operator_column


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    CAPPED = "capped"  # used its package's data
    DISABLED = "disabled"


class SessionStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CLOSED = "closed"


class HotspotUser(Base):
    __tablename__ = "hotspot_users"
    __table_args__ = (
        # One phone, one account per operator: renewals extend it instead of piling up users.
        Index(
            "uq_hotspot_users_operator_id_phone",
            "operator_id",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
        ),
        Index("ix_hotspot_users_status_expires_at", "status", "expires_at"),
        ForeignKeyConstraint(
            ["package_id", "operator_id"],
            ["packages.id", "packages.operator_id"],
            name="fk_hotspot_users_package_of_operator",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    username: Mapped[str] = mapped_column(Text, unique=True, doc="one namespace for FreeRADIUS")
    phone: Mapped[str | None] = mapped_column(Text)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    status: Mapped[UserStatus] = mapped_column(
        enum_column(UserStatus, "user_status"), server_default=UserStatus.ACTIVE.value
    )
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    credit: Mapped[Decimal] = mapped_column(Money, server_default="0")
    data_used_bytes: Mapped[int] = mapped_column(
        BigInteger, server_default="0", doc="since the last purchase, counted by the sync"
    )
    usage_since: Mapped[dt.datetime | None] = mapped_column(
        Timestamp, doc="when the last purchase's usage-time quota began (None: at created_at)"
    )
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()

    package: Mapped[Package] = relationship(foreign_keys=[package_id])


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
    created_at: Mapped[dt.datetime] = now_column()


class RadiusSession(Base):
    """Our view of one NAS session, kept in step with radacct by the accounting sync."""

    __tablename__ = "radius_sessions"
    __table_args__ = (
        Index("ix_radius_sessions_user_id_status", "user_id", "status"),
        Index("ix_radius_sessions_created_at", "created_at"),  # pruned past their retention
        # Reports: a payment's first session (migration 0022).
        Index(
            "ix_radius_sessions_user_started",
            "user_id",
            "started_at",
            postgresql_include=["nas_ip"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hotspot_users.id"))
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "session_status"), server_default=SessionStatus.PENDING.value
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
    created_at: Mapped[dt.datetime] = now_column()


class SessionDisconnection(Base):
    """One Disconnect-Request or CoA-Request attempt and what the NAS answered."""

    __tablename__ = "session_disconnections"
    __table_args__ = (
        CheckConstraint("request IN ('disconnect', 'coa')", name="request_known"),
        Index(
            "ix_session_disconnections_failed_day",
            text("((created_at AT TIME ZONE 'UTC')::date)"),
            postgresql_where=text("result <> 'ack'"),
        ),
        Index("ix_session_disconnections_created_at", "created_at"),  # pruned, as sessions
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("radius_sessions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text, server_default="disconnect")
    result: Mapped[str] = mapped_column(Text)
    error_cause: Mapped[int | None] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    nas_ip: Mapped[str | None] = mapped_column(INET)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = now_column()


class DataUsageLog(Base):
    """A user's bytes in one hour (UTC), `recorded_at` its start: each accounting sync adds
    what it counted to the hour it ran in (migration 0019). Monthly partitions, dropped past
    their retention (hotspot/adapters/partitions.py)."""

    __tablename__ = "data_usage_logs"
    __table_args__ = ({"postgresql_partition_by": "RANGE (recorded_at)"},)

    user_id: Mapped[int] = mapped_column(ForeignKey("hotspot_users.id"), primary_key=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(Timestamp, primary_key=True)
    input_octets_delta: Mapped[int] = mapped_column(BigInteger)
    output_octets_delta: Mapped[int] = mapped_column(BigInteger)


class SyncWatermark(Base):
    """How far a periodic job has read (e.g. the accounting sync's last radacct sync_seq)."""

    __tablename__ = "sync_watermarks"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[dt.datetime] = now_column()


class HotspotDevice(Base):
    """A device (its MAC, as the router writes Calling-Station-Id) and the account it last
    logged in to: the account a MAC login of that device gets (hotspot/access/devices.sql)."""

    __tablename__ = "hotspot_devices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mac: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("hotspot_users.id", ondelete="CASCADE"), index=True
    )
    last_login_at: Mapped[dt.datetime] = now_column()
