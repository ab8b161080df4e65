"""Status-Server (RFC 5997) probe: is FreeRADIUS answering (on its status listener)?"""

from __future__ import annotations

from pyrad import packet
from pyrad.client import Timeout

from radius.client import make_client


def status_server(server: str, port: int, secret: str, *, timeout: float = 1.0) -> bool:
    """True when an Access-Accept comes back; request and answer both carry a
    Message-Authenticator (RFC 5997), an unsigned answer counts as none."""
    client = make_client(server, secret, auth_port=port, timeout=timeout, retries=1)
    request = client.CreateAuthPacket(code=packet.StatusServer, message_authenticator=True)
    try:
        reply = client.SendPacket(request)
    except Timeout:
        return False
    finally:
        client._CloseSocket()
    return bool(reply.code == packet.AccessAccept)
