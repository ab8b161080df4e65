"""The requests the simulated NAS sends FreeRADIUS, attribute for attribute as a MikroTik hotspot
sends them, the exchange that retransmits them until a verified answer comes, and what the
simulator reads from the answers.

Kept out of the simulator so that it holds the sessions' life cycle and this the wire format.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyrad import packet
from pyrad.client import Timeout

from radius import dictionary
from radius.client import chap_response
from radius.nas_sim_session import GIGAWORD, SimSession


def access_request(
    secret: bytes,
    username: str,
    password: str,
    *,
    chap: bool,
    message_authenticator: bool,
    attributes: Sequence[tuple[str, Any]],
) -> Any:
    """An Access-Request with the password as a MikroTik hotspot sends it (CHAP with a fresh
    challenge, or PAP), then `attributes` in their order."""
    request = packet.AuthPacket(
        code=packet.AccessRequest,
        secret=secret,
        dict=dictionary(),
        message_authenticator=message_authenticator,
    )
    request["User-Name"] = username
    if chap:
        challenge = secrets.token_bytes(16)
        request["CHAP-Challenge"] = challenge
        request["CHAP-Password"] = chap_response(secrets.randbelow(256), password, challenge)
    else:
        request["User-Password"] = request.PwCrypt(password)
    for name, value in attributes:
        request[name] = value
    return request


@dataclass(frozen=True)
class LoginPlace:
    """Where a login comes from, as the router names it."""

    mac: str
    called_station_id: str
    nas_port_id: str
    nas_identifier: str


def login_attributes(
    place: LoginPlace, session_id: str, hotspot_ip: str | None, nas_ip: str
) -> list[tuple[str, Any]]:
    """A hotspot login's (with the client's address) or, without one, a PPPoE dial-in's, as
    RouterOS's PPPoE server sends it (Framed-User, PPP; the address comes in the answer)."""
    kind: list[tuple[str, Any]] = (
        [("Service-Type", "Login-User"), ("NAS-Port-Type", "Wireless-802.11"),
         ("Framed-IP-Address", hotspot_ip)]
        if hotspot_ip is not None
        else [("Service-Type", "Framed-User"), ("Framed-Protocol", "PPP"),
              ("NAS-Port-Type", "Virtual")]
    )  # fmt: skip
    return [
        *kind,
        ("Calling-Station-Id", place.mac),
        ("Called-Station-Id", place.called_station_id),
        ("NAS-Port-Id", place.nas_port_id),
        ("Acct-Session-Id", session_id),
        ("NAS-Identifier", place.nas_identifier),
        ("NAS-IP-Address", nas_ip),
    ]


def accounting_request(secret: bytes, status: str, attributes: Sequence[tuple[str, Any]]) -> Any:
    """An Accounting-Request of Acct-Status-Type `status`, sent at once (Acct-Delay-Time 0)."""
    request = packet.AcctPacket(code=packet.AccountingRequest, secret=secret, dict=dictionary())
    request["Acct-Status-Type"] = status
    for name, value in attributes:
        request.AddAttribute(name, value)
    request["Event-Timestamp"] = int(time.time())
    request["Acct-Delay-Time"] = 0
    return request


def session_identity(
    session: SimSession, nas_ip: str, nas_identifier: str
) -> list[tuple[str, Any]]:
    """The same in Start, Interim-Update and Stop: FreeRADIUS's acct_unique hashes them."""
    return [
        ("User-Name", session.username),
        ("Acct-Session-Id", session.session_id),
        ("NAS-IP-Address", nas_ip),
        ("NAS-Identifier", nas_identifier),
        ("NAS-Port-Id", session.nas_port_id),
        ("NAS-Port-Type", "Wireless-802.11"),
        ("Framed-IP-Address", session.ip),
        ("Calling-Station-Id", session.mac),
        ("Called-Station-Id", session.called_station_id),
        ("Service-Type", "Login-User"),
        ("Acct-Authentic", "RADIUS"),
        *(("Class", c) for c in session.class_),
    ]


def session_counters(session: SimSession, session_time: int) -> list[tuple[str, Any]]:
    """The counters of an Interim-Update or Stop, octets split into gigawords."""
    return [
        ("Acct-Session-Time", session_time),
        ("Acct-Input-Octets", session.input_octets % GIGAWORD),
        ("Acct-Input-Gigawords", session.input_octets // GIGAWORD),
        ("Acct-Output-Octets", session.output_octets % GIGAWORD),
        ("Acct-Output-Gigawords", session.output_octets // GIGAWORD),
        ("Acct-Input-Packets", session.input_packets % GIGAWORD),
        ("Acct-Output-Packets", session.output_packets % GIGAWORD),
    ]


def exchange(
    request: Any,
    server: str,
    port: int,
    *,
    timeout: float,
    retries: int,
    enforce_ma: bool,
    source_address: str | None = None,
) -> Any:
    """Send a request (retransmitting it unchanged) and return the verified reply; raises
    `pyrad.client.Timeout` when none comes. A socket per exchange keeps threads apart;
    `source_address` is the router's own (FreeRADIUS tells routers apart by it)."""
    raw = request.RequestPacket()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if source_address is not None:
            sock.bind((source_address, 0))
        sock.connect((server, port))
        for _ in range(retries):
            sock.send(raw)
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    break
                except ConnectionRefusedError:  # ICMP port unreachable: wait it out
                    time.sleep(min(left, 0.05))
                    continue
                try:
                    reply = request.CreateReply(packet=data)
                except Exception:  # noqa: S112 - garbage is ignored like pyrad does
                    continue
                if request.VerifyReply(reply, data, enforce_ma=enforce_ma):
                    return reply
    raise Timeout(f"no answer from {server}:{port}")


def reply_message(reply: Any) -> str | None:
    """The Reply-Message of an answer, its parts joined; None without one."""
    return "".join(str(m) for m in reply.get("Reply-Message", [])) or None


def reply_value(reply: Any, name: str) -> Any:
    """The first value of attribute `name` in an answer, or None."""
    values = reply.get(name)
    return values[0] if values else None


def reply_int(reply: Any, name: str) -> int | None:
    value = reply_value(reply, name)
    return int(value) if value is not None else None


def reply_total_limit(reply: Any) -> int | None:
    """Mikrotik-Total-Limit[-Gigawords] in bytes, or None when the answer sets no data limit."""
    limit = reply_int(reply, "Mikrotik-Total-Limit")
    gigawords = reply_int(reply, "Mikrotik-Total-Limit-Gigawords")
    if limit is None and gigawords is None:
        return None
    return (gigawords or 0) * GIGAWORD + (limit or 0)
