"""The SMS we send and what Africa's Talking said about each."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import (
    Base,
    Timestamp,
    enum_column,
    now_column,
)
from hotspot.models.operators import operator_column


class SmsStatus(enum.StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


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
        Index("ix_sms_messages_created_at", "created_at"),  # pruned past their retention
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator_id: Mapped[int] = operator_column()
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_users.id"), index=True)
    phone: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    credits: Mapped[int] = mapped_column(Integer, server_default="0", doc="what it cost")
    status: Mapped[SmsStatus] = mapped_column(
        enum_column(SmsStatus, "sms_status"), server_default=SmsStatus.CLAIMED.value
    )
    provider_status_code: Mapped[int | None] = mapped_column(Integer)
    provider_message_id: Mapped[str | None] = mapped_column(Text, index=True)
    cost: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = now_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
