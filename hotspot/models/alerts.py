"""Alerts Prometheus raised about this installation, one row per event (an alert from the time it
fires until it resolves), so that operators hear of each at most once however often it is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import Base, Timestamp, now_column


class AlertEvent(Base):
    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("fingerprint", "starts_at", name="uq_alert_events_event"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)  # of its labels: which alert
    alertname: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    ends_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # set once it resolved
    notify: Mapped[bool] = mapped_column(Boolean, server_default=false())  # within the rate limit
    webhook: Mapped[str | None] = mapped_column(Text)  # claimed, delivered, failed, unknown
    created_at: Mapped[dt.datetime] = now_column()
