"""pyrad clients speaking our dictionary: logins (PAP and CHAP) as a NAS would send them.

Like RouterOS >= 7.15 (`require-message-auth`), they sign every Access-Request with a
Message-Authenticator and accept only answers that carry a valid one (BlastRADIUS,
CVE-2024-3596).
"""

from __future__ import annotations

import hashlib
import secrets
import select
import socket
from typing import Any

from pyrad import client as pyrad_client
from pyrad import packet

from radius import dictionary


class Client(pyrad_client.Client):  # type: ignore[misc]
    """pyrad's client without SO_REUSEADDR on its socket. With it, Linux may give two client
    sockets the same port, and an answer then reaches only one of them: the other times out."""

    _socket: socket.socket | None

    def _SocketOpen(self) -> None:  # noqa: N802 (pyrad's name)
        if not self._socket:
            family = socket.getaddrinfo(self.server, None)[0][0]
            self._socket = socket.socket(family, socket.SOCK_DGRAM)
            self._poll.register(self._socket, select.POLLIN)


def make_client(
    server: str,
    secret: str,
    *,
    auth_port: int = 1812,
    acct_port: int = 1813,
    coa_port: int = 3799,
    timeout: float = 2.0,
    retries: int = 2,
    source_address: str | None = None,
) -> Client:
    """`source_address`: send from this local address (FreeRADIUS tells NASes apart by it)."""
    client = Client(
        server=server,
        authport=auth_port,
        acctport=acct_port,
        coaport=coa_port,
        secret=secret.encode(),
        dict=dictionary(),
        enforce_ma=True,
    )
    client.timeout = timeout
    client.retries = retries
    if source_address is not None:
        client.bind((source_address, 0))
    return client


def chap_response(chap_id: int, password: str, challenge: bytes) -> bytes:
    """CHAP-Password = id + MD5(id + password + challenge) (RFC 1994), as a MikroTik sends it."""
    digest = hashlib.md5(bytes([chap_id]) + password.encode() + challenge).digest()  # noqa: S324
    return bytes([chap_id]) + digest


def login(
    client: Client,
    username: str,
    password: str,
    *,
    chap: bool = False,
    message_authenticator: bool = True,
    **attributes: Any,
) -> packet.Packet:
    """Sends one Access-Request and returns the reply (Access-Accept or Access-Reject).

    `message_authenticator=False` sends it unsigned, as RouterOS before 7.15 does."""
    request = client.CreateAuthPacket(
        code=packet.AccessRequest,
        User_Name=username,
        message_authenticator=message_authenticator,
        **attributes,
    )
    if chap:
        challenge = secrets.token_bytes(16)
        request["CHAP-Challenge"] = challenge
        request["CHAP-Password"] = chap_response(secrets.randbelow(256), password, challenge)
    else:
        request["User-Password"] = request.PwCrypt(password)
    return client.SendPacket(request)
