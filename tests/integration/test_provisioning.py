import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hotspot.access import provisioning
from hotspot.core.codes import ALPHABET
from hotspot.core.errors import ConflictError
from hotspot.models import HotspotUser, RadCheck, RadUserGroup
from tests.support.factories import make_package, make_user

NOW = dt.datetime(2026, 3, 5, 7, 8, 9, tzinfo=dt.UTC)


def checks(session: Session, username: str) -> dict[str, tuple[str, str]]:
    rows = session.scalars(select(RadCheck).where(RadCheck.username == username))
    return {row.attribute: (row.op, row.value) for row in rows}


def test_a_user_gets_password_expiration_and_device_limit(session: Session) -> None:
    package = make_package(session, duration_seconds=3600, devices=3)
    credentials = make_user(session, package=package, now=NOW)
    assert credentials.expires_at == NOW + dt.timedelta(hours=1)
    assert checks(session, credentials.username) == {
        "Cleartext-Password": (":=", credentials.password),
        "Expiration": (":=", "05 Mar 2026 08:08:08"),
        "Simultaneous-Use": (":=", "3"),
    }


def test_a_user_belongs_to_its_package_group(session: Session) -> None:
    package = make_package(session)
    credentials = make_user(session, package=package)
    groups = session.scalars(
        select(RadUserGroup.groupname).where(RadUserGroup.username == credentials.username)
    ).all()
    assert groups == [package.group_name]


def test_credentials_are_unambiguous_and_passwords_long(session: Session) -> None:
    credentials = make_user(session)
    assert len(credentials.username) == 6
    assert len(credentials.password) == provisioning.PASSWORD_LENGTH == 16
    assert set(credentials.username + credentials.password) <= set(ALPHABET)


def test_expiration_is_written_in_utc_one_second_early(session: Session) -> None:
    nairobi = dt.timezone(dt.timedelta(hours=3))
    session.execute(text("SET LOCAL TimeZone = 'Africa/Nairobi'"))
    rows = session.execute(
        text("SELECT attribute, value FROM hotspot_radius_checks('pw', :ends, 2)"),
        {"ends": dt.datetime(2026, 1, 1, 3, 0, tzinfo=nairobi)},
    )
    checks = {str(attribute): str(value) for attribute, value in rows}
    assert checks == {
        "Cleartext-Password": "pw",
        "Expiration": "31 Dec 2025 23:59:59",
        "Simultaneous-Use": "2",
    }


def test_one_phone_one_account(session: Session) -> None:
    package = make_package(session)
    make_user(session, package=package, phone="+254712000001")
    users_before = session.scalar(select(func.count()).select_from(HotspotUser))
    with pytest.raises(ConflictError, match="already has"):
        make_user(session, package=package, phone="+254712000001")
    assert session.scalar(select(func.count()).select_from(HotspotUser)) == users_before


def test_a_taken_username_is_redrawn(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    package = make_package(session)
    taken = make_user(session, package=package).username
    draws = iter(["secret", taken, "fresh2"])  # the password, then the usernames
    monkeypatch.setattr(provisioning, "random_code", lambda length: next(draws, "zzzzzz"))
    credentials = make_user(session, package=package)
    assert (credentials.username, credentials.password) == ("fresh2", "secret")
    assert checks(session, "fresh2")["Cleartext-Password"] == (":=", "secret")
