"""Operators (the ISPs an installation serves), their admin tokens and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import (
    Base,
    Timestamp,
    enum_column,
    now_column,
)

DEFAULT_OPERATOR_CODE = "DEFAULT"  # the one an upgraded single-operator installation gets


class Operator(Base):
    """An ISP: owns routers, packages, customers, payments, vouchers, SMS and admin tokens.

    Empty settings fall back to the installation's (HOTSPOT_*); `mpesa_secrets` is sealed with
    AES-GCM (hotspot/core/sealing.py), never stored in the clear.
    """

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("code ~ '^[A-Z0-9]{2,12}$'", name="code_format"),
        CheckConstraint("commission_rate >= 0 AND commission_rate < 1", name="commission_range"),
        CheckConstraint("sms_credits >= 0", name="sms_credits_not_negative"),
        CheckConstraint(
            "gateways <@ ARRAY['mpesa', 'iotec', 'campay']::text[]", name="gateways_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True, doc="in paybill references: SMS<code>")
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    phone_region: Mapped[str | None] = mapped_column(String(2))
    sms_sender_id: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text, doc="told of payments and credits")
    portal_name: Mapped[str | None] = mapped_column(Text)
    portal_colors: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    mpesa_shortcode: Mapped[str | None] = mapped_column(Text)
    mpesa_secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    gateways: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), doc="offered on its portal, in order (None: HOTSPOT_GATEWAYS)"
    )
    gateway_secrets: Mapped[bytes | None] = mapped_column(
        LargeBinary, doc="its own ioTec/CamPay credentials, sealed"
    )
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), server_default="0")
    sms_credits: Mapped[int | None] = mapped_column(
        Integer, doc="customer SMS it may still send (None: unmetered)"
    )
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()


def operator_column() -> Any:
    """The owning operator of a row (every router, package, user, payment, voucher and SMS)."""
    return mapped_column(ForeignKey("operators.id"), index=True)


class AdminRole(enum.StrEnum):
    ADMIN = "admin"  # reads and writes
    VIEWER = "viewer"  # reads only


class AdminToken(Base):
    """A bearer token for the admin API; only its SHA-256 is stored."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id"), doc="None: a platform token, over every operator"
    )
    role: Mapped[AdminRole] = mapped_column(enum_column(AdminRole, "admin_role"))
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = now_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AuditEntry(Base):
    """Who changed what, when: every write through the admin API."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id"), index=True, doc="whose data it changed (None: the platform's)"
    )
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = now_column()
