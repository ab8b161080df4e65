"""The NAS simulator against the real FreeRADIUS of the test stack.

Logins and accounting go to FreeRADIUS and land in `radacct`; Disconnect/CoA-Requests come from
`radclient` (freeradius-utils), a client we did not write.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from pyrad import packet
from pyrad.client import Timeout
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.access.provisioning import Credentials
from hotspot.dev.stack import free_port
from hotspot.models import RadAcct
from radius import dictionary
from radius.dynauth import Answer, SessionOnNas, request_packet, send_requests
from radius.nas_sim import DATA_LIMIT_CAUSE, NasSimulator
from radius.nas_sim_demo import DemoTiming, demo_cycle
from radius.nas_sim_session import SimSession
from tests.support.factories import GIB, make_package, make_user
from tests.support.harness import ApiUnderTest
from tests.support.stack import StackUnderTest

NAS_IDENTIFIER = "nas-sim-tests"
MESSAGE_AUTHENTICATOR = 80  # the attribute's number


@pytest.fixture
def make_nas(stack: StackUnderTest) -> Iterator[Callable[..., NasSimulator]]:
    """Simulators talking to the stack's FreeRADIUS, each listening on a free CoA port."""
    made: list[NasSimulator] = []

    def make(**options: Any) -> NasSimulator:
        address, auth_port, acct_port = stack.radius_address
        options.setdefault("nas_identifier", NAS_IDENTIFIER)
        options.setdefault("coa_port", free_port(socket.SOCK_DGRAM))
        nas = NasSimulator(
            address, stack.nas_secret, auth_port=auth_port, acct_port=acct_port, **options
        )
        made.append(nas)
        return nas

    yield make
    for nas in made:
        nas.logout_all()
        nas.close()


@pytest.fixture
def nas(make_nas: Callable[..., NasSimulator]) -> NasSimulator:
    return make_nas()


def new_user(
    committed: sessionmaker[Session],
    *,
    duration_seconds: int = 3600,
    devices: int = 1,
    data_cap_bytes: int | None = GIB,
) -> Credentials:
    with committed.begin() as session:
        package = make_package(
            session,
            duration_seconds=duration_seconds,
            devices=devices,
            data_cap_bytes=data_cap_bytes,
        )
        return make_user(session, package=package)


def radacct_rows(committed: sessionmaker[Session], username: str) -> list[RadAcct]:
    with committed() as session:
        return list(
            session.scalars(
                select(RadAcct).where(RadAcct.username == username).order_by(RadAcct.radacctid)
            )
        )


def logged_in(nas: NasSimulator, user: Credentials, *, chap: bool = True) -> SimSession:
    result = nas.login(user.username, user.password, chap=chap)
    assert result.accepted, result.reply_message
    assert result.session is not None
    return result.session


def radclient(
    nas: NasSimulator,
    kind: str,
    attributes: Mapping[str, str | int],
    secret: str,
    *,
    timeout: int = 2,
    signed: bool = True,
) -> tuple[int, str]:
    """One Disconnect/CoA-Request to the simulator from radclient: (exit code, what it printed).
    `signed`: with a Message-Authenticator (radclient computes the one written as 0x00)."""
    body = ",".join(f'{name}="{value}"' for name, value in attributes.items())
    if signed:
        body += ",Message-Authenticator=0x00"
    command = ["radclient", "-x", "-r", "1", "-t", str(timeout)]
    result = subprocess.run(
        [*command, f"127.0.0.1:{nas.coa_port}", kind, secret],
        input=body,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_pap_and_chap_logins_start_sessions_with_the_reply_limits(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    pap_user, chap_user = new_user(committed), new_user(committed)
    sessions = [logged_in(nas, pap_user, chap=False), logged_in(nas, chap_user, chap=True)]
    for session, user in zip(sessions, (pap_user, chap_user), strict=True):
        assert 3590 < (session.session_timeout or 0) <= 3600
        assert session.interim_interval == 60
        assert session.total_limit == GIB
        assert session.rate_limit == "2M/5M"
        assert len(session.session_id) == 8
        int(session.session_id, 16)
        assert session.mac == session.mac.upper()
        assert session.mac.count(":") == 5
        [row] = radacct_rows(committed, user.username)
        assert row.acctsessionid == session.session_id
        assert row.acctstoptime is None
        assert row.callingstationid == session.mac
        assert str(row.framedipaddress) == session.ip
        assert row.nasportid == "bridge-hotspot"
        assert row.nasporttype == "Wireless-802.11"
        assert row.calledstationid == "hotspot1"
        assert str(row.nasipaddress) == "127.0.0.1"
    assert sessions[0].ip != sessions[1].ip
    assert {s.session_id for s in nas.sessions()} == {s.session_id for s in sessions}


def test_a_wrong_password_is_rejected(committed: sessionmaker[Session], nas: NasSimulator) -> None:
    user = new_user(committed)
    for chap in (False, True):
        result = nas.login(user.username, user.password + "x", chap=chap)
        assert not result.accepted
        assert result.session is None
    assert nas.sessions() == []
    assert radacct_rows(committed, user.username) == []


def test_start_interim_stop_make_one_radacct_row_with_gigawords(
    committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed, data_cap_bytes=None)
    session = logged_in(nas, user)
    assert nas.add_traffic(session, 5 * 2**32 + 123, 2**32 + 7)
    assert nas.interim(session)
    [row] = radacct_rows(committed, user.username)
    assert (row.acctinputoctets, row.acctoutputoctets) == (5 * 2**32 + 123, 2**32 + 7)
    assert row.acctstoptime is None
    nas.add_traffic(session, 1000, 2**32)
    assert nas.logout(session)
    assert not nas.logout(session)
    assert not nas.interim(session)
    [row] = radacct_rows(committed, user.username)
    assert (row.acctinputoctets, row.acctoutputoctets) == (5 * 2**32 + 1123, 2 * 2**32 + 7)
    assert row.acctstoptime is not None
    assert row.acctterminatecause == "User-Request"
    assert session.stop_acknowledged


def test_a_disconnect_request_is_acked_and_the_session_stopped_with_admin_reset(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)
    nas.add_traffic(session, 4000, 9000)
    code, output = radclient(
        nas,
        "disconnect",
        {
            "User-Name": user.username,
            "Acct-Session-Id": session.session_id,
            "Framed-IP-Address": session.ip,
            "NAS-IP-Address": "127.0.0.1",
            "Event-Timestamp": int(time.time()),
        },
        stack.nas_secret,
    )
    assert code == 0, output
    assert "Received Disconnect-ACK" in output
    assert session.wait_closed(5)
    assert session.terminate_cause == "Admin-Reset"
    [row] = radacct_rows(committed, user.username)
    assert row.acctstoptime is not None
    assert row.acctterminatecause == "Admin-Reset"
    assert (row.acctinputoctets, row.acctoutputoctets) == (4000, 9000)
    [request] = nas.received
    assert request.kind == "Disconnect-Request"
    assert request.reply_kind == "Disconnect-ACK"
    assert request.session_ids == (session.session_id,)
    assert request.attributes["User-Name"] == [user.username]
    assert abs(request.received_at - time.time()) < 10


def test_the_ack_leaves_before_the_stop_is_answered(
    stack: StackUnderTest, committed: sessionmaker[Session], make_nas: Callable[..., NasSimulator]
) -> None:
    """Like a MikroTik, the simulator answers a busy second's requests as they come: the
    Accounting-Stop follows the ACK from another thread, however long FreeRADIUS takes."""
    nas = make_nas(timeout=3.0, retries=1)
    user = new_user(committed)
    session = logged_in(nas, user)
    nas.acct_port = free_port(socket.SOCK_DGRAM)  # from now on accounting goes unanswered
    started = time.monotonic()
    code, output = radclient(nas, "disconnect", {"User-Name": user.username}, stack.nas_secret)
    answered = time.monotonic() - started
    assert code == 0, output
    assert "Received Disconnect-ACK" in output
    assert answered < 2
    assert session.wait_closed(5)
    assert session.terminate_cause == "Admin-Reset"
    assert not session.stop_acknowledged


def test_one_disconnect_request_ends_every_session_it_matches(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed, devices=2)
    first, second = logged_in(nas, user), logged_in(nas, user)
    code, output = radclient(nas, "disconnect", {"User-Name": user.username}, stack.nas_secret)
    assert code == 0, output
    assert first.wait_closed(5)
    assert second.wait_closed(5)
    rows = radacct_rows(committed, user.username)
    assert [r.acctterminatecause for r in rows] == ["Admin-Reset", "Admin-Reset"]


def test_a_disconnect_request_for_an_unknown_session_gets_a_nak_503(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)
    code, output = radclient(
        nas,
        "disconnect",
        {"User-Name": user.username, "Acct-Session-Id": "deadbeef"},
        stack.nas_secret,
    )
    assert code != 0
    assert "Received Disconnect-NAK" in output
    assert "Error-Cause = Session-Context-Not-Found" in output
    assert nas.received[-1].error_cause == 503
    assert session.live


def test_a_disconnect_request_with_other_attributes_gets_a_nak_401(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)
    code, output = radclient(
        nas,
        "disconnect",
        {"User-Name": user.username, "Mikrotik-Rate-Limit": "1M/1M"},
        stack.nas_secret,
    )
    assert "Received Disconnect-NAK" in output
    assert "Error-Cause = Unsupported-Attribute" in output
    assert code != 0
    assert session.live
    [row] = radacct_rows(committed, user.username)
    assert row.acctstoptime is None


def test_coa_changes_the_rate_limit_of_a_live_session_and_naks_unknown_ones(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)
    code, output = radclient(
        nas,
        "coa",
        {"Acct-Session-Id": session.session_id, "Mikrotik-Rate-Limit": "1M/2M"},
        stack.nas_secret,
    )
    assert code == 0, output
    assert "Received CoA-ACK" in output
    assert session.rate_limit == "1M/2M"
    assert session.live
    code, output = radclient(
        nas,
        "coa",
        {"User-Name": "nobody", "Mikrotik-Rate-Limit": "1M/2M"},
        stack.nas_secret,
    )
    assert "Received CoA-NAK" in output
    assert "Error-Cause = Session-Context-Not-Found" in output
    assert [r.reply_kind for r in nas.received] == ["CoA-ACK", "CoA-NAK"]


def test_accounting_on_closes_the_open_rows_of_the_nas(
    committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    users = [new_user(committed), new_user(committed)]
    sessions = [logged_in(nas, user) for user in users]
    nas.accounting_on()
    assert nas.sessions() == []
    assert all(s.wait_closed(0) and not s.stop_acknowledged for s in sessions)
    for user in users:
        [row] = radacct_rows(committed, user.username)
        assert row.acctstoptime is not None
        assert row.acctterminatecause == "NAS-Reboot"


def test_session_timeout_is_enforced_unless_switched_off(
    committed: sessionmaker[Session], make_nas: Callable[..., NasSimulator]
) -> None:
    enforcing = make_nas()
    ignoring = make_nas(enforce_session_timeout=False, listen=False)
    short, other = new_user(committed, duration_seconds=4), new_user(committed, duration_seconds=4)
    ended, kept = logged_in(enforcing, short), logged_in(ignoring, other)
    assert ended.session_timeout is not None
    assert ended.session_timeout <= 4
    assert kept.session_timeout is not None
    assert ended.wait_closed(ended.session_timeout + 3)
    assert ended.terminate_cause == "Session-Timeout"
    [row] = radacct_rows(committed, short.username)
    assert row.acctterminatecause == "Session-Timeout"
    assert row.acctsessiontime == ended.session_timeout
    time.sleep(max(0.0, kept.started + kept.session_timeout + 0.5 - time.monotonic()))
    assert kept.live
    assert ignoring.check_limits() == []
    [row] = radacct_rows(committed, other.username)
    assert row.acctstoptime is None
    ignoring.enforce_session_timeout = True
    assert ignoring.check_limits() == [kept]
    assert kept.wait_closed(5)


def test_the_data_limit_is_enforced_unless_switched_off(
    committed: sessionmaker[Session], make_nas: Callable[..., NasSimulator]
) -> None:
    enforcing = make_nas()
    ignoring = make_nas(enforce_data_limit=False, listen=False)
    capped, other = (new_user(committed, data_cap_bytes=10_000) for _ in range(2))
    ended, kept = logged_in(enforcing, capped), logged_in(ignoring, other)
    assert ended.total_limit == 10_000
    enforcing.add_traffic(ended, 3000, 6000)
    assert ended.live
    enforcing.add_traffic(ended, 500, 600)
    assert ended.wait_closed(5)
    assert ended.terminate_cause == DATA_LIMIT_CAUSE
    [row] = radacct_rows(committed, capped.username)
    assert (row.acctinputoctets, row.acctoutputoctets) == (3500, 6600)
    assert ignoring.add_traffic(kept, 30_000, 60_000)
    assert kept.live


def test_interim_updates_are_sent_at_the_interval(
    committed: sessionmaker[Session], make_nas: Callable[..., NasSimulator]
) -> None:
    nas = make_nas(interim_interval=0.3, listen=False)
    user = new_user(committed)
    session = logged_in(nas, user)
    nas.add_traffic(session, 1234, 5678)
    deadline = time.monotonic() + 5
    while session.interims_sent < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.interims_sent >= 2
    [row] = radacct_rows(committed, user.username)
    assert (row.acctinputoctets, row.acctoutputoctets) == (1234, 5678)


def test_a_down_nas_and_a_wrong_secret_get_no_answer(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)
    request = {"User-Name": user.username, "Acct-Session-Id": session.session_id}
    nas.down = True
    code, output = radclient(nas, "disconnect", request, stack.nas_secret, timeout=1)
    assert code != 0
    assert "No reply from server" in output
    nas.down = False
    code, output = radclient(nas, "disconnect", request, "not-the-secret", timeout=1)
    assert code != 0
    assert "No reply from server" in output
    assert [r.note for r in nas.received] == ["down", "bad Request Authenticator"]
    assert session.live
    code, output = radclient(nas, "disconnect", request, stack.nas_secret)
    assert code == 0, output
    assert session.wait_closed(5)


def test_a_demo_customer_buys_logs_in_browses_and_logs_out(
    api: ApiUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    said: list[str] = []
    session = demo_cycle(
        nas,
        api.url,
        rng=random.Random(secrets.randbits(32)),  # noqa: S311
        timing=DemoTiming(session_seconds=(0.6, 0.8), traffic_step=0.2, payment_timeout=20),
        stop=threading.Event(),
        say=said.append,
    )
    assert session is not None, said
    assert session.terminate_cause == "User-Request"
    [row] = radacct_rows(committed, session.username)
    assert row.acctterminatecause == "User-Request"
    assert row.acctinputoctets
    assert row.acctoutputoctets
    assert any("logs out" in line for line in said), said


def test_a_retransmission_gets_the_same_answer_and_a_stale_request_none(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    user = new_user(committed)
    session = logged_in(nas, user)

    def disconnect_request(**attributes: Any) -> bytes:
        request = packet.CoAPacket(
            code=packet.DisconnectRequest,
            secret=stack.nas_secret.encode(),
            dict=dictionary(),
            message_authenticator=True,
        )
        request["User-Name"] = user.username
        request["Acct-Session-Id"] = session.session_id
        for name, value in attributes.items():
            request[name.replace("_", "-")] = value
        return bytes(request.RequestPacket())

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect(("127.0.0.1", nas.coa_port))
        raw = disconnect_request()
        sock.send(raw)
        first = sock.recv(4096)
        assert session.wait_closed(5)
        sock.send(raw)
        assert sock.recv(4096) == first
        sock.settimeout(0.5)
        sock.send(disconnect_request(Event_Timestamp=int(time.time()) - 3600))
        with pytest.raises(TimeoutError):
            sock.recv(4096)
    assert first[0] == packet.DisconnectACK
    assert [r.note for r in nas.received] == ["", "retransmission", "stale Event-Timestamp"]
    [row] = radacct_rows(committed, user.username)
    assert row.acctterminatecause == "Admin-Reset"


def test_the_command_keeps_a_nas_running_until_sigterm(
    stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    user = new_user(committed)
    address, auth_port, acct_port = stack.radius_address
    code = (
        "from radius.nas_sim_command import NasSetup, run; "
        f"run(NasSetup(server={address!r}, secret={stack.nas_secret!r}, auth_port={auth_port}, "
        f"acct_port={acct_port}, coa_port={free_port(socket.SOCK_DGRAM)}, "
        f"nas_identifier='nas-sim-command', accounting_on=False), "
        f"logins=[({user.username!r}, {user.password!r})])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while not radacct_rows(committed, user.username) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"login {user.username}" in output
    assert output.rstrip().endswith("stopped"), output
    [row] = radacct_rows(committed, user.username)
    assert row.acctterminatecause == "Admin-Reboot"
    assert row.nasportid == "bridge-hotspot"


# --- BlastRADIUS (CVE-2024-3596) -----------------------------------------------------------------


def test_our_disconnect_requests_are_signed_and_unsigned_or_forged_ones_ignored(
    stack: StackUnderTest, committed: sessionmaker[Session], nas: NasSimulator
) -> None:
    """The simulator, like RouterOS >= 7.15, ignores Disconnect-Requests without a valid
    Message-Authenticator; radius.dynauth's get through."""
    user = new_user(committed)
    session = logged_in(nas, user)
    target = SessionOnNas(
        nas_ip="127.0.0.1",
        coa_port=nas.coa_port or 0,
        secret=stack.nas_secret,
        username=user.username,
        acct_session_id=session.session_id,
        framed_ip=session.ip,
    )
    request = {"User-Name": user.username, "Acct-Session-Id": session.session_id}
    code, output = radclient(nas, "disconnect", request, stack.nas_secret, timeout=1, signed=False)
    assert code != 0
    assert "No reply from server" in output
    forged = bytearray(request_packet(target, 1).RequestPacket())
    assert forged[20] == MESSAGE_AUTHENTICATOR  # first, as recommended
    forged[22] ^= 0xFF  # a wrong Message-Authenticator under a right Request Authenticator:
    forged[4:20] = hashlib.md5(  # noqa: S324 - RFC 5176's digest
        bytes(forged[:4]) + bytes(16) + bytes(forged[20:]) + stack.nas_secret.encode()
    ).digest()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        sock.sendto(bytes(forged), ("127.0.0.1", target.coa_port))
        with pytest.raises(TimeoutError):
            sock.recv(4096)
    assert session.live
    [result] = send_requests([target], timeout=2).results()
    assert result.answer is Answer.ACK
    assert [r.note for r in nas.received] == [
        "no Message-Authenticator",
        "bad Message-Authenticator",
        "",
    ]
    assert session.wait_closed(5)


def test_a_nas_before_routeros_7_15_takes_unsigned_requests_and_cannot_log_in_here(
    stack: StackUnderTest, committed: sessionmaker[Session], make_nas: Callable[..., NasSimulator]
) -> None:
    """Its nas row (127.0.0.1) requires a Message-Authenticator: FreeRADIUS does not answer."""
    nas = make_nas(message_authenticator=False, timeout=0.5, retries=1)
    user = new_user(committed)
    with pytest.raises(Timeout):
        nas.login(user.username, user.password)
    _, output = radclient(
        nas, "disconnect", {"User-Name": user.username}, stack.nas_secret, signed=False
    )
    assert "Received Disconnect-NAK" in output, output  # answered: no such session here
    assert [r.note for r in nas.received] == [""]
