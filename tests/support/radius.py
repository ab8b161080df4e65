"""A router talking RADIUS to the stack's FreeRADIUS: through pyrad (to read reply attributes)
and through `radclient` from freeradius-utils, a client we did not write."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyrad import packet
from pyrad.client import Timeout
from sqlalchemy import update

from hotspot.models import Nas
from radius.client import login, make_client
from radius.nas_sim import NasSimulator
from tests.support.stack import StackUnderTest


def pyrad_login(
    stack: StackUnderTest,
    username: str,
    password: str,
    *,
    chap: bool = False,
    message_authenticator: bool = True,
    source_address: str = "127.0.0.1",
    **attributes: Any,
) -> packet.Packet:
    """A login from the NAS at `source_address`; the answer must carry a Message-Authenticator.
    No answer within half a second raises `Timeout`."""
    address, auth_port, _ = stack.radius_address
    client = make_client(
        address,
        stack.nas_secret,
        auth_port=auth_port,
        timeout=0.5,
        retries=1,
        source_address=source_address,
    )
    return login(
        client,
        username,
        password,
        chap=chap,
        message_authenticator=message_authenticator,
        NAS_IP_Address=source_address,
        **attributes,
    )


def unique_loopback_address() -> str:
    """A source address of this machine (all of 127/8 is loopback on Linux) that no nas row
    names: the routers the tests add and delete while FreeRADIUS runs."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def answer_from(
    stack: StackUnderTest,
    source_address: str,
    secret: str,
    username: str,
    password: str = "",
    *,
    kind: str = "auth",
    **attributes: Any,
) -> packet.Packet | None:
    """One signed Access-Request (or, kind="acct", Accounting-Request) from `source_address`
    with `secret`; None when FreeRADIUS does not answer within half a second."""
    address, auth_port, acct_port = stack.radius_address
    client = make_client(
        address,
        secret,
        auth_port=auth_port,
        acct_port=acct_port,
        timeout=0.5,
        retries=1,
        source_address=source_address,
    )
    try:
        if kind == "auth":
            return login(client, username, password, NAS_IP_Address=source_address, **attributes)
        request = client.CreateAcctPacket(
            User_Name=username,
            Acct_Session_Id=secrets.token_hex(4),
            NAS_IP_Address=source_address,
            **attributes,
        )
        return client.SendPacket(request)
    except Timeout:
        return None


def radclient(stack: StackUnderTest, kind: str, attributes: dict[str, str | int]) -> str:
    """Sends one packet with radclient and returns what it printed. Access-Requests are signed
    (radclient computes the Message-Authenticator written as 0x00)."""
    address, auth_port, acct_port = stack.radius_address
    port = auth_port if kind == "auth" else acct_port
    body = ",".join(f'{name}="{value}"' for name, value in attributes.items())
    if kind == "auth":
        body += ",Message-Authenticator=0x00"
    result = subprocess.run(
        ["radclient", "-x", "-r", "1", "-t", "3", f"{address}:{port}", kind, stack.nas_secret],
        input=body,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout + result.stderr


def accounting(
    stack: StackUnderTest,
    status: str,
    username: str,
    session_id: str,
    extra: dict[str, str | int] | None = None,
) -> None:
    """One Accounting-Request with the same identifying attributes every time, like a MikroTik."""
    reply = radclient(
        stack,
        "acct",
        {
            "Acct-Status-Type": status,
            "User-Name": username,
            "Acct-Session-Id": session_id,
            "NAS-IP-Address": "127.0.0.1",
            "NAS-Identifier": "tests",
            "NAS-Port-Id": "bridge-hotspot",
            "Calling-Station-Id": "AA:BB:CC:DD:EE:FF",
            "Framed-IP-Address": "10.5.50.23",
            **(extra or {}),
        },
    )
    assert "Received Accounting-Response" in reply, reply


@contextmanager
def simulated_nas(stack: StackUnderTest, **options: Any) -> Iterator[NasSimulator]:
    """The simulator as the NAS 127.0.0.1 of the stack's FreeRADIUS; Disconnect/CoA-Requests
    reach it on a port of its own (the NAS row is pointed at it)."""
    address, auth_port, acct_port = stack.radius_address
    simulator = NasSimulator(
        address,
        stack.nas_secret,
        auth_port=auth_port,
        acct_port=acct_port,
        coa_port=0,
        **options,
    )
    try:
        with stack.sessions.begin() as session:
            session.execute(
                update(Nas).where(Nas.nasname == "127.0.0.1").values(coa_port=simulator.coa_port)
            )
        yield simulator
    finally:
        simulator.close()
