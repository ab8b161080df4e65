"""Operators' SMS credits: bought by paybill (SMS<code>), spent by each customer SMS's parts
when it is sent (hotspot/adapters/sms.py). An operator whose `sms_credits` is NULL is unmetered:
the installation's own operator pays its SMS provider itself."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from hotspot.models import Operator


def add_sms_credits(session: Session, operator_id: int, credits: int) -> int | None:
    """The balance after; None for an unmetered operator (it stays unmetered)."""
    balance: int | None = session.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(sms_credits=Operator.sms_credits + credits)
        .returning(Operator.sms_credits)
    ).scalar_one()
    return balance
