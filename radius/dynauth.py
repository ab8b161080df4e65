"""RFC 5176 Disconnect-Requests and CoA-Requests to the NASes that hold sessions."""

from __future__ import annotations

import enum
import ipaddress
import logging
import secrets
import selectors
import socket
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyrad import packet, tools

from radius import dictionary

log = logging.getLogger(__name__)

IDENTIFIERS = 256  # a RADIUS identifier is one octet: requests in flight to one NAS per socket
RECEIVE_BUFFER = 1 << 20  # a whole window of answers may arrive before it is read


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
    # What a CoA-Request changes on the session (attribute, value); none: a Disconnect-Request.
    changes: tuple[tuple[str, str | int], ...] = ()


@dataclass(frozen=True)
class DynAuthResult:
    answer: Answer
    error_cause: int | None = None

    @property
    def session_gone(self) -> bool:
        """ACK, or the NAK that says the NAS has no such session (already over)."""
        return self.answer is Answer.ACK or self.error_cause == SESSION_CONTEXT_NOT_FOUND


NO_ANSWER = DynAuthResult(Answer.TIMEOUT)

Destination = tuple[str, int]  # the NAS's address and Disconnect/CoA port


@dataclass(frozen=True)
class _InFlight:
    index: int  # of the target
    request: Any  # the pyrad packet, to verify its answer
    deadline: float  # time.monotonic()


class SentRequests:
    """Disconnect-Requests and CoA-Requests for many sessions at once, from one UDP socket (per
    address family).

    A busy second's requests all leave within milliseconds instead of queueing behind each
    other's answers; answers are matched by NAS address and identifier and verified with the
    secret. At most 256 requests are in flight to one NAS (the identifiers), the others leave as
    answers come back.
    """

    def __init__(self, targets: Sequence[SessionOnNas], *, timeout: float) -> None:
        self._targets = targets
        self._timeout = timeout
        self._results: list[DynAuthResult | None] = [None] * len(targets)
        self._waiting: dict[Destination, deque[int]] = {}
        for index, target in enumerate(targets):
            self._waiting.setdefault(_destination(target), deque()).append(index)
        self._in_flight: dict[tuple[Destination, int], _InFlight] = {}  # in order of deadline
        self._flying: Counter[Destination] = Counter()
        self._next_id = {
            destination: secrets.randbelow(IDENTIFIERS) for destination in self._waiting
        }
        self._sockets: dict[socket.AddressFamily, socket.socket] = {}
        for destination in self._waiting:
            family = _family(destination[0])
            if family not in self._sockets:
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                self._sockets[family] = sock
        self._send_waiting()

    def results(self) -> list[DynAuthResult]:
        """Each target's answer, in order, once all came or timed out (each request `timeout`
        after it was sent); the sockets are closed."""
        try:
            with selectors.DefaultSelector() as selector:
                for sock in self._sockets.values():
                    selector.register(sock, selectors.EVENT_READ, sock)
                while self._in_flight:
                    first = next(iter(self._in_flight.values()))
                    for key, _ in selector.select(max(0.0, first.deadline - time.monotonic())):
                        self._receive(key.data)
                    self._time_out(time.monotonic())
                    self._send_waiting()
        finally:
            for sock in self._sockets.values():
                sock.close()
        return [result or NO_ANSWER for result in self._results]

    def _send_waiting(self) -> None:
        for destination, waiting in self._waiting.items():
            while waiting and self._flying[destination] < IDENTIFIERS:
                self._send(destination, waiting.popleft())

    def _send(self, destination: Destination, index: int) -> None:
        identifier = self._next_id[destination]
        while (destination, identifier) in self._in_flight:
            identifier = (identifier + 1) % IDENTIFIERS
        self._next_id[destination] = (identifier + 1) % IDENTIFIERS
        request = request_packet(self._targets[index], identifier)
        try:
            self._sockets[_family(destination[0])].sendto(request.RequestPacket(), destination)
        except OSError as exc:
            log.warning("Disconnect/CoA-Request to %s:%d not sent: %s", *destination, exc)
            self._results[index] = NO_ANSWER
            return
        deadline = time.monotonic() + self._timeout
        self._in_flight[(destination, identifier)] = _InFlight(index, request, deadline)
        self._flying[destination] += 1

    def _receive(self, sock: socket.socket) -> None:
        """Every datagram waiting on the socket; anything not a valid answer is ignored."""
        while True:
            try:
                data, source = sock.recvfrom(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:  # an ICMP error reported on the socket
                continue
            if len(data) < 20:
                continue
            key = ((str(ipaddress.ip_address(source[0])), int(source[1])), data[1])
            sent = self._in_flight.get(key)
            if sent is None:
                continue
            try:
                reply = sent.request.CreateReply(packet=data)
            except packet.PacketError:
                continue
            if sent.request.VerifyReply(reply, data):
                self._finish(key, result_of(reply))

    def _time_out(self, now: float) -> None:
        while self._in_flight:
            key, sent = next(iter(self._in_flight.items()))
            if sent.deadline > now:
                return
            self._finish(key, NO_ANSWER)

    def _finish(self, key: tuple[Destination, int], result: DynAuthResult) -> None:
        sent = self._in_flight.pop(key)
        self._flying[key[0]] -= 1
        self._results[sent.index] = result


def send_requests(targets: Sequence[SessionOnNas], *, timeout: float) -> SentRequests:
    """One Disconnect-Request (or CoA-Request, for a target with changes) per target, sent now;
    `results()` waits for the answers."""
    return SentRequests(targets, timeout=timeout)


def request_packet(target: SessionOnNas, identifier: int) -> Any:
    """The session's identification, and for a CoA-Request its changes (RFC 5176 forbids
    anything else in a Disconnect-Request). Signed with a Message-Authenticator (first attribute,
    computed when encoded): a NAS that requires one (BlastRADIUS, CVE-2024-3596) ignores
    requests without it."""
    request = packet.CoAPacket(
        code=packet.CoARequest if target.changes else packet.DisconnectRequest,
        id=identifier,
        secret=target.secret.encode(),
        dict=dictionary(),
        message_authenticator=True,
    )
    request["User-Name"] = target.username
    request["NAS-IP-Address"] = target.nas_ip
    request["Event-Timestamp"] = int(time.time())
    if target.acct_session_id:
        request["Acct-Session-Id"] = target.acct_session_id
    if target.framed_ip:
        request["Framed-IP-Address"] = target.framed_ip
    for name, value in target.changes:
        request[name] = value
    return request


def result_of(reply: Any) -> DynAuthResult:
    if reply.code in (packet.DisconnectACK, packet.CoAACK):
        return DynAuthResult(Answer.ACK)
    causes = reply.get("Error-Cause") or []
    return DynAuthResult(Answer.NAK, error_cause_number(causes[0]) if causes else None)


def error_cause_number(value: int | str) -> int:
    """pyrad names the values our dictionary names (and keeps them encoded); the number is
    what we keep."""
    if isinstance(value, int):
        return value
    attribute = dictionary().attributes["Error-Cause"]
    return int(tools.DecodeAttr(attribute.type, attribute.values.GetForward(value)))


def _destination(target: SessionOnNas) -> Destination:
    """As the answer's source address reads: the canonical text of the address."""
    return str(ipaddress.ip_address(target.nas_ip)), target.coa_port


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
