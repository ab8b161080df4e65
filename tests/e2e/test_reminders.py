"""Renewal reminders by SMS through the Africa's Talking SDK to the local AT sandbox: some
minutes before a package ends, at most once per purchase, none for short packages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import extend_user
from hotspot.access.reminders import reminder_key
from hotspot.models import HotspotUser, SmsMessage, SmsStatus
from jobs.reminders import send_due_reminders, send_reminder
from tests.support.factories import make_package, make_user
from tests.support.harness import SmsSandboxUnderTest
from tests.support.jobs import jobs_reading
from tests.support.sms import random_phone, sms_job_environ
from tests.support.stack import StackUnderTest

DAY = 86400


@pytest.fixture
def job_env(
    stack: StackUnderTest, at: SmsSandboxUnderTest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    environ = {
        **sms_job_environ(stack, at),
        "HOTSPOT_REMINDER_MINUTES": "30",
        "HOTSPOT_REMINDER_MIN_DURATION": str(DAY),
        "HOTSPOT_PUBLIC_BASE_URL": "https://wifi.example.com",
        "HOTSPOT_MPESA_SHORTCODE": "600100",
    }
    with jobs_reading(monkeypatch, environ):
        yield


def account(
    committed: sessionmaker[Session], *, ends_in: dt.timedelta, duration: int = 7 * DAY
) -> HotspotUser:
    """An account on a `duration` package, with a phone, whose time ends in `ends_in`."""
    with committed.begin() as session:
        package = make_package(session, duration_seconds=duration)
        user = make_user(session, package=package, phone=random_phone())
        ends = (dt.datetime.now(dt.UTC) + ends_in).replace(microsecond=0)
        session.execute(
            update(HotspotUser).where(HotspotUser.id == user.user_id).values(expires_at=ends)
        )
        found = session.get_one(HotspotUser, user.user_id)
        found.package  # noqa: B018 - loaded now, read after the session
        return found


def send_all_due() -> list[str]:
    """The periodic job, then the send jobs it queued, run here as a worker would."""
    keys = send_due_reminders()
    for key in keys:
        _, _, user_id, ends = key.split(":")
        send_reminder(int(user_id), float(ends))
    return keys


@pytest.mark.usefixtures("job_env")
def test_a_package_ending_within_the_half_hour_is_reminded_once(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    user = account(committed, ends_in=dt.timedelta(minutes=20))
    key = reminder_key(user.id, user.expires_at)
    assert key in send_all_due()
    [received] = [m for m in at.messages() if m["to"] == user.phone]
    local = user.expires_at.astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert received["message"] == (
        f"Your WiFi package {user.package.name} ends at {local.day} "
        f"{local:%b} {local.year} {local:%H:%M}. Renew: pay to paybill 600100, account "
        f"{user.username}, or open https://wifi.example.com/portal"
    )
    with committed() as session:
        row = session.scalars(select(SmsMessage).where(SmsMessage.idempotency_key == key)).one()
    assert (row.purpose, row.status) == ("reminder", SmsStatus.SENT)

    assert key not in send_all_due()  # the next minute's run
    assert send_reminder(user.id, user.expires_at.timestamp()) == "already sent"
    assert len([m for m in at.messages() if m["to"] == user.phone]) == 1


@pytest.mark.usefixtures("job_env")
def test_no_reminder_too_early_for_short_packages_or_blocked_accounts(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    later = account(committed, ends_in=dt.timedelta(hours=2))
    short = account(committed, ends_in=dt.timedelta(minutes=10), duration=3600)
    blocked = account(committed, ends_in=dt.timedelta(minutes=10))
    with committed.begin() as session:
        session.execute(
            update(HotspotUser).where(HotspotUser.id == blocked.id).values(status="disabled")
        )
    keys = send_all_due()
    for user in (later, short, blocked):
        assert reminder_key(user.id, user.expires_at) not in keys
    phones = {m["to"] for m in at.messages()}
    assert not phones & {later.phone, short.phone, blocked.phone}


@pytest.mark.usefixtures("job_env")
def test_a_renewal_gets_a_reminder_of_its_own_and_the_stale_one_is_not_sent(
    committed: sessionmaker[Session], at: SmsSandboxUnderTest
) -> None:
    user = account(committed, ends_in=dt.timedelta(minutes=20))
    first_end = user.expires_at
    assert reminder_key(user.id, first_end) in send_all_due()
    with committed.begin() as session:
        renewed = session.get_one(HotspotUser, user.id, with_for_update=True)
        extend_user(session, renewed, renewed.package, dt.datetime.now(dt.UTC))
    # a job queued for the old end, run late, sends nothing
    assert send_reminder(user.id, first_end.timestamp()).startswith("nothing to send")
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)
    with committed.begin() as session:  # the renewed week is nearly over
        session.execute(
            update(HotspotUser).where(HotspotUser.id == user.id).values(expires_at=soon)
        )
    assert reminder_key(user.id, soon) in send_all_due()
    assert len([m for m in at.messages() if m["to"] == user.phone]) == 2
