"""Renewal reminders by SMS (hotspot.access.reminders): found every minute, one job each."""

from __future__ import annotations

import datetime as dt

from rq import Retry

from hotspot.access.reminders import REMINDER_PURPOSE, Due, due_reminders, reminder_text, still_due
from jobs import services
from jobs.notify import send_to_customer

SEND_JOB = "jobs.reminders.send_reminder"


def send_due_reminders() -> list[str]:
    """Periodic: a send job for each reminder due (its id the reminder's key, so a job queued
    twice is one job); returns the keys."""
    s = services()
    with s.sessions() as session:
        due = due_reminders(
            session,
            dt.datetime.now(dt.UTC),
            minutes=s.settings.reminder_minutes,
            min_duration=s.settings.reminder_min_duration,
        )
    for each in due:
        s.notifier.enqueue(
            SEND_JOB,
            each.user_id,
            each.expires_at.timestamp(),
            job_id=each.key.replace(":", "-"),
            retry=Retry(max=3, interval=[30, 60, 120]),
        )
    return [each.key for each in due]


def send_reminder(user_id: int, expires_at: float) -> str:
    """Sends the reminder at most once (a transient failure raises, for rq's retry)."""
    s = services()
    due = Due(user_id, dt.datetime.fromtimestamp(expires_at, dt.UTC))
    with s.sessions() as session:
        user = still_due(session, due, dt.datetime.now(dt.UTC))
        if user is None or user.phone is None:
            return "nothing to send: renewed, ended, blocked or without a phone"
        body = reminder_text(
            s.settings.reminder_template,
            user=user,
            paybill=s.settings.mpesa_shortcode,
            portal_url=f"{s.settings.public_base_url.rstrip('/')}/portal",
            offset_hours=s.settings.sms_timezone_offset_hours,
        )
    return send_to_customer(due.key, REMINDER_PURPOSE, user, body)
