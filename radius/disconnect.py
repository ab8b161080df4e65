"""RFC 5176 Disconnect-Request to the NAS that holds a session."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from pyrad import packet
from pyrad.client import Timeout

from radius import dictionary
from radius.client import make_client


class Answer(enum.StrEnum):
    ACK = "ack"
    NAK = "nak"
    TIMEOUT = "timeout"


SESSION_CONTEXT_NOT_FOUND = 503


@dataclass(frozen=True)
class SessionOnNas:
    """What identifies a hotspot session to a MikroTik: with only the MAC as User-Name it
    would drop the wireless registration instead, so the IP goes too."""

    nas_ip: str
    coa_port: int
    secret: str
    username: str
    acct_session_id: str | None
    framed_ip: str | None


@dataclass(frozen=True)
class DisconnectResult:
    answer: Answer
    error_cause: int | None = None

    @property
    def session_gone(self) -> bool:
        """ACK, or the NAK that says the NAS has no such session (already over)."""
        return self.answer is Answer.ACK or self.error_cause == SESSION_CONTEXT_NOT_FOUND


def disconnect(target: SessionOnNas, *, timeout: float, retries: int = 1) -> DisconnectResult:
    """One Disconnect-Request (pyrad retransmits it unchanged `retries` times on silence)."""
    client = make_client(
        target.nas_ip, target.secret, coa_port=target.coa_port, timeout=timeout, retries=retries
    )
    attributes: dict[str, object] = {
        "User_Name": target.username,
        "NAS_IP_Address": target.nas_ip,
        "Event_Timestamp": int(time.time()),
    }
    if target.acct_session_id:
        attributes["Acct_Session_Id"] = target.acct_session_id
    if target.framed_ip:
        attributes["Framed_IP_Address"] = target.framed_ip
    request = client.CreateCoAPacket(code=packet.DisconnectRequest, **attributes)
    try:
        reply = client.SendPacket(request)
    except Timeout:
        return DisconnectResult(Answer.TIMEOUT)
    finally:
        client._CloseSocket()
    if reply.code == packet.DisconnectACK:
        return DisconnectResult(Answer.ACK)
    causes = reply.get("Error-Cause") or []
    return DisconnectResult(Answer.NAK, error_cause_number(causes[0]) if causes else None)


def error_cause_number(value: int | str) -> int:
    """pyrad names the values our dictionary names; the number is what we keep."""
    if isinstance(value, int):
        return value
    return int(dictionary().attributes["Error-Cause"].values.GetForward(value))
