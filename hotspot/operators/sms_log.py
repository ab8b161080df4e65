"""The SMS log as operators read it. The messages are written by the SMS jobs through the
adapter, never by a use case, so reading them is all there is here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.core.phones import normalize_phone
from hotspot.models import SmsMessage, SmsStatus
from hotspot.operators.actor import Actor
from hotspot.operators.listing import Listing, Page, paged, time_range


@dataclass(frozen=True)
class SmsFilter:
    status: SmsStatus | None = None
    phone: str | None = None
    purpose: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_sms(
    session: Session, actor: Actor, f: SmsFilter, page: Page, region: str
) -> Listing[SmsMessage]:
    stmt = actor.visible(select(SmsMessage), SmsMessage.operator_id)
    if f.status is not None:
        stmt = stmt.where(SmsMessage.status == f.status)
    if f.phone:
        stmt = stmt.where(SmsMessage.phone == normalize_phone(f.phone, region))
    if f.purpose:
        stmt = stmt.where(SmsMessage.purpose == f.purpose)
    stmt = time_range(stmt, SmsMessage.created_at, f.since, f.until)
    return paged(session, stmt.order_by(SmsMessage.id.desc()), page)
