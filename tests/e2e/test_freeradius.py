"""FreeRADIUS 3.2, started by the harness, authenticates users straight from our schema.

Logins go through pyrad (to read reply attributes) and through `radclient` from freeradius-utils,
a client we did not write.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import time

import pytest
from pyrad import packet
from pyrad.client import Timeout
from sqlalchemy import String, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from hotspot.models import Nas, RadAcct, RadPostAuth
from hotspot.operators.tenants import default_operator_id
from radius.client import make_client
from radius.status import status_server
from tests.support.factories import make_package, make_user
from tests.support.radius import (
    accounting,
    answer_from,
    pyrad_login,
    radclient,
    unique_loopback_address,
)
from tests.support.stack import UNSIGNED_NAS_ADDRESS, StackUnderTest
from tests.support.waiting import wait_for

MESSAGE_AUTHENTICATOR = 80  # the attribute's number: first after the 20-octet header


def new_user(
    committed: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    duration_seconds: int = 3600,
    devices: int = 1,
) -> Credentials:
    with committed.begin() as session:
        return make_user(session, now=now, duration_seconds=duration_seconds, devices=devices)


def test_accept_carries_speed_interim_interval_and_time_left(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    reply = pyrad_login(stack, user.username, user.password)
    assert reply.code == packet.AccessAccept
    assert reply["Mikrotik-Rate-Limit"] == ["2M/5M"]
    assert reply["Acct-Interim-Interval"] == [60]
    seconds_left = (user.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert seconds_left - 10 < reply["Session-Timeout"][0] <= seconds_left


def test_accept_carries_the_data_cap(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package = make_package(session, data_cap_bytes=5 * 2**30)
        user = make_user(session, package=package)
    reply = pyrad_login(stack, user.username, user.password)
    assert reply["Mikrotik-Total-Limit"] == [2**30]
    assert reply["Mikrotik-Total-Limit-Gigawords"] == [1]


def test_chap_logins_work_as_a_mikrotik_sends_them(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    assert pyrad_login(stack, user.username, user.password, chap=True).code == packet.AccessAccept
    wrong = pyrad_login(stack, user.username, user.password + "x", chap=True)
    assert wrong.code == packet.AccessReject


def test_radclient_is_accepted_with_the_right_password(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    reply = radclient(stack, "auth", {"User-Name": user.username, "User-Password": user.password})
    assert "Received Access-Accept" in reply
    assert 'Mikrotik-Rate-Limit = "2M/5M"' in reply


def test_radclient_is_rejected_with_a_wrong_password(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    reply = radclient(stack, "auth", {"User-Name": user.username, "User-Password": "wrong1"})
    assert "Received Access-Reject" in reply


def test_an_unknown_user_is_rejected(stack: StackUnderTest) -> None:
    assert pyrad_login(stack, "nobody", "secret").code == packet.AccessReject


def test_an_expired_user_is_rejected(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    user = new_user(committed, now=two_hours_ago, duration_seconds=3600)
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessReject


def test_a_device_beyond_simultaneous_use_is_rejected(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed, devices=1)
    session_id = secrets.token_hex(4)
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept
    accounting(stack, "Start", user.username, session_id)
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessReject
    accounting(stack, "Stop", user.username, session_id, {"Acct-Session-Time": 5})
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept


def test_start_interim_stop_make_one_radacct_row_with_gigawords(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    session_id = secrets.token_hex(4)
    accounting(stack, "Start", user.username, session_id)
    accounting(
        stack,
        "Interim-Update",
        user.username,
        session_id,
        {"Acct-Input-Octets": 1000, "Acct-Output-Octets": 5000, "Acct-Session-Time": 60},
    )
    accounting(
        stack,
        "Stop",
        user.username,
        session_id,
        {
            "Acct-Input-Octets": 100,
            "Acct-Input-Gigawords": 1,
            "Acct-Output-Octets": 200,
            "Acct-Output-Gigawords": 2,
            "Acct-Session-Time": 120,
            "Acct-Terminate-Cause": "User-Request",
        },
    )
    with committed() as session:
        rows = session.scalars(select(RadAcct).where(RadAcct.username == user.username)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.acctinputoctets == 2**32 + 100
    assert row.acctoutputoctets == 2 * 2**32 + 200
    assert row.acctsessiontime == 120
    assert row.acctstoptime is not None
    assert row.acctterminatecause == "User-Request"
    assert str(row.framedipaddress) == "10.5.50.23"


def test_login_attempts_are_logged_without_passwords(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    pyrad_login(stack, user.username, user.password)
    pyrad_login(stack, user.username, "wrong1")
    with committed() as session:
        rows = session.scalars(
            select(RadPostAuth).where(RadPostAuth.username == user.username)
        ).all()
    assert sorted(row.reply or "" for row in rows) == ["Access-Accept", "Access-Reject"]
    assert all(not row.pass_ for row in rows)
    with committed() as session:  # the month's partition (migration 0018), not the default
        home = literal_column("tableoid::regclass::text", String)
        homes = session.scalars(select(home).where(RadPostAuth.username == user.username)).all()
    assert set(homes) == {f"radpostauth_p{dt.datetime.now(dt.UTC):%Y%m}"}


@pytest.mark.usefixtures("committed")
def test_accounting_is_not_also_written_to_detail_files(stack: StackUnderTest) -> None:
    accounting(stack, "Start", "detail-check", secrets.token_hex(4))
    radacct_dir = stack.settings.state_dir / "log" / "radius" / "radacct"
    assert not radacct_dir.exists() or not any(radacct_dir.rglob("*"))


# --- BlastRADIUS (CVE-2024-3596) -----------------------------------------------------------------


def test_accepts_and_rejects_carry_a_message_authenticator_first(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """pyrad (enforce_ma, like RouterOS >= 7.15) discards an answer without a valid one."""
    user = new_user(committed)
    accept = pyrad_login(stack, user.username, user.password)
    reject = pyrad_login(stack, user.username, "wrong1")
    assert (accept.code, reject.code) == (packet.AccessAccept, packet.AccessReject)
    assert accept.raw_packet[20] == reject.raw_packet[20] == MESSAGE_AUTHENTICATOR


def test_an_unsigned_login_from_a_nas_that_must_sign_gets_no_answer(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    with pytest.raises(Timeout):
        pyrad_login(stack, user.username, user.password, message_authenticator=False)
    with pytest.raises(Timeout):
        pyrad_login(stack, user.username, user.password, chap=True, message_authenticator=False)
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept
    with committed() as session:
        replies = session.scalars(
            select(RadPostAuth.reply).where(RadPostAuth.username == user.username)
        ).all()
    # "0": no answer was sent
    assert sorted(r or "" for r in replies) == ["0", "0", "Access-Accept"]


def test_an_unsigned_login_from_a_nas_allowed_to_is_answered(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    unsigned = pyrad_login(
        stack,
        user.username,
        user.password,
        message_authenticator=False,
        source_address=UNSIGNED_NAS_ADDRESS,
    )
    assert unsigned.code == packet.AccessAccept
    with pytest.raises(Timeout):  # the attack's vehicle: an echoed Proxy-State
        pyrad_login(
            stack,
            user.username,
            user.password,
            message_authenticator=False,
            source_address=UNSIGNED_NAS_ADDRESS,
            Proxy_State=b"attacker's collision block",
        )


def test_a_forged_message_authenticator_gets_no_answer_from_any_nas(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    address, auth_port, _ = stack.radius_address
    for source in ("127.0.0.1", UNSIGNED_NAS_ADDRESS):
        client = make_client(address, stack.nas_secret, auth_port=auth_port)
        request = client.CreateAuthPacket(
            code=packet.AccessRequest, User_Name=user.username, message_authenticator=True
        )
        request["User-Password"] = request.PwCrypt(user.password)
        raw = bytearray(request.RequestPacket())
        assert raw[20] == MESSAGE_AUTHENTICATOR
        raw[22] ^= 0xFF  # the first octet of its value
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.settimeout(0.5)
            sock.sendto(bytes(raw), (address, auth_port))
            with pytest.raises(TimeoutError):
                sock.recv(4096)


# --- routers (dynamic clients) ------------------------------------------------------------------


def test_a_request_from_an_address_not_in_the_nas_table_gets_no_answer(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    stranger = unique_loopback_address()
    with committed() as session:
        assert session.scalar(select(Nas.id).where(Nas.nasname == stranger)) is None
    # With the secret of a NAS that is in the table: the source address decides.
    assert answer_from(stack, stranger, stack.nas_secret, user.username, user.password) is None
    assert (
        answer_from(
            stack, stranger, stack.nas_secret, user.username, kind="acct", Acct_Status_Type="Start"
        )
        is None
    )
    assert pyrad_login(stack, user.username, user.password).code == packet.AccessAccept


def test_a_router_in_the_nas_table_is_served_and_refused_as_its_row_changes(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """Rows written straight into the table (as any tool might), FreeRADIUS running throughout:
    a new row is served at the router's first packet, a changed or deleted one within the
    client lifetime. (tests/e2e/test_admin.py does the same through the admin API.)"""
    user = new_user(committed)
    address = unique_loopback_address()
    secret, new_secret = (secrets.token_urlsafe(18) for _ in range(2))
    margin = stack.settings.radius_client_lifetime + 3

    def answer(with_secret: str) -> packet.Packet | None:
        return answer_from(stack, address, with_secret, user.username, user.password)

    assert answer(secret) is None
    with committed.begin() as session:
        nas = Nas(
            operator_id=default_operator_id(session),
            nasname=address,
            shortname="dynamic",
            secret=secret,
        )
        session.add(nas)
    started = time.monotonic()
    reply = wait_for(lambda: answer(secret), margin)
    served_after = time.monotonic() - started
    assert reply is not None
    assert reply.code == packet.AccessAccept
    assert served_after < 1.0  # looked up at its first packet, not after a lifetime

    with committed.begin() as session:
        session.get_one(Nas, nas.id).secret = new_secret
    started = time.monotonic()
    wait_for(lambda: answer(secret) is None, margin)
    rekeyed_after = time.monotonic() - started
    reply = answer(new_secret)
    assert reply is not None
    assert reply.code == packet.AccessAccept
    assert rekeyed_after <= stack.settings.radius_client_lifetime + 1.5

    with committed.begin() as session:
        session.delete(session.get_one(Nas, nas.id))
    wait_for(lambda: answer(new_secret) is None, margin)
    assert answer(new_secret) is None


def test_a_router_secret_with_quotes_backslashes_and_braces_works(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    """The secret travels from SQL through an xlat into the client definition: nothing in it
    is expanded, unescaped or cut."""
    user = new_user(committed)
    address = unique_loopback_address()
    secret = 'it\'s a \\ "quoted" %{User-Name} ${confdir} sécret'
    with committed.begin() as session:
        session.add(
            Nas(
                operator_id=default_operator_id(session),
                nasname=address,
                shortname="odd-secret",
                secret=secret,
            )
        )
    reply = answer_from(stack, address, secret, user.username, user.password)
    assert reply is not None
    assert reply.code == packet.AccessAccept
    assert answer_from(stack, address, secret + "x", user.username, user.password) is None


def test_the_status_listener_answers_its_own_secret_only(stack: StackUnderTest) -> None:
    s = stack.settings
    address = s.radius_listen_address
    assert status_server(address, s.radius_status_port, s.radius_status_secret)
    # A router's secret is not good there, and the status secret is no router's.
    assert not status_server(address, s.radius_status_port, stack.nas_secret, timeout=0.5)
    assert not status_server(address, s.radius_auth_port, s.radius_status_secret, timeout=0.5)
