"""A reminder's key is written twice, in Python (for the SMS claim) and in SQL (for the due
query): both give the same text, or reminders would be sent twice or never."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.access.reminders import due_reminders, reminder_key, sql_reminder_key
from hotspot.models import HotspotUser, SmsMessage
from tests.support.factories import make_user
from tests.support.payments import random_phone


def test_the_sql_key_is_the_python_key(session: Session) -> None:
    for seconds in (0.0, 0.4, 0.999999, 59.5):
        ends = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
        user = make_user(session, phone=random_phone())
        row = session.get_one(HotspotUser, user.user_id)
        row.expires_at = ends
        session.flush()
        in_sql = session.scalar(select(sql_reminder_key()).where(HotspotUser.id == row.id))
        assert in_sql == reminder_key(row.id, ends)


def test_accounts_already_reminded_never_fill_a_batch(session: Session) -> None:
    # Years ahead: no other test's account ends then.
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=3000 + secrets.randbelow(1000))
    users = [make_user(session, phone=random_phone(), now=now) for _ in range(3)]
    rows = [session.get_one(HotspotUser, u.user_id) for u in users]
    for n, row in enumerate(rows):
        row.expires_at = now + dt.timedelta(minutes=10, seconds=n)
    session.flush()
    for row in rows[:2]:  # the two soonest were reminded
        key = reminder_key(row.id, row.expires_at)
        session.add(
            SmsMessage(operator_id=row.operator_id, idempotency_key=key, phone=row.phone or "",
                       purpose="reminder", body="x")
        )  # fmt: skip
    session.flush()
    due = due_reminders(session, now, minutes=15, min_duration=0, limit=1)
    assert [each.user_id for each in due] == [rows[2].id]
