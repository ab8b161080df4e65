"""The simulated NAS's RFC 5176 side: it listens for Disconnect-Requests and CoA-Requests, checks
them as RouterOS does, applies them to the simulator's sessions and answers, and keeps a record
of every request for tests and benchmarks to read.

Apart from the simulator because it is a server with a socket, a thread and rules of its own;
the simulator owns one `DynAuthListener` (unless it does not listen) and one `ReceivedRequests`,
and shares its `SessionTable` with the listener.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyrad import packet

from radius import dictionary
from radius.nas_sim_session import (
    GIGAWORD,
    SessionTable,
    SimSession,
    normalize_mac,
    parse_rate_limit,
)

if TYPE_CHECKING:
    from radius.nas_sim import NasSimulator

log = logging.getLogger(__name__)

REPLY_MEMORY = 30.0  # seconds a Disconnect/CoA answer is kept for retransmissions

# RFC 5176 Error-Cause values the simulator answers with.
ERROR_UNSUPPORTED_ATTRIBUTE = 401
ERROR_MISSING_ATTRIBUTE = 402
ERROR_NAS_IDENTIFICATION_MISMATCH = 403
ERROR_UNSUPPORTED_SERVICE = 405
ERROR_INVALID_ATTRIBUTE_VALUE = 407
ERROR_SESSION_CONTEXT_NOT_FOUND = 503

# RFC 5176 section 3: what identifies the NAS and what identifies sessions.
NAS_IDENTIFICATION = frozenset({"NAS-IP-Address", "NAS-Identifier"})
SESSION_IDENTIFICATION = frozenset(
    {
        "User-Name",
        "Acct-Session-Id",
        "Framed-IP-Address",
        "Calling-Station-Id",
        "Called-Station-Id",
        "NAS-Port-Id",
        "NAS-Port",
        "Acct-Multi-Session-Id",
    }
)
# Allowed in any Disconnect/CoA-Request besides identification (they change nothing).
PROTOCOL_ATTRIBUTES = frozenset(
    {"Event-Timestamp", "Message-Authenticator", "Proxy-State", "State"}
)
DISCONNECT_ALLOWED = (
    NAS_IDENTIFICATION | SESSION_IDENTIFICATION | PROTOCOL_ATTRIBUTES | {"Acct-Terminate-Cause"}
)
# What a CoA-Request may change on a session; anything else gets a NAK with Error-Cause 401.
COA_CHANGES = frozenset(
    {
        "Mikrotik-Rate-Limit",
        "Session-Timeout",
        "Mikrotik-Total-Limit",
        "Mikrotik-Total-Limit-Gigawords",
        "Acct-Interim-Interval",
    }
)
COA_ALLOWED = NAS_IDENTIFICATION | SESSION_IDENTIFICATION | PROTOCOL_ATTRIBUTES | COA_CHANGES

CODE_NAMES = {
    packet.DisconnectRequest: "Disconnect-Request",
    packet.DisconnectACK: "Disconnect-ACK",
    packet.DisconnectNAK: "Disconnect-NAK",
    packet.CoARequest: "CoA-Request",
    packet.CoAACK: "CoA-ACK",
    packet.CoANAK: "CoA-NAK",
}

Attributes = dict[str, list[Any]]
# (ok, Error-Cause, the sessions it applied to)
Outcome = tuple[bool, int | None, list[SimSession]]
ReplyKey = tuple[tuple[str, int], int, bytes]  # source, packet id, Request Authenticator


@dataclass(frozen=True)
class DynAuthRequest:
    """One Disconnect-Request or CoA-Request as the simulator received it, and what it did."""

    received_at: float  # time.time()
    received_monotonic: float  # time.monotonic(), for lag measurements within this process
    source: tuple[str, int]
    code: int  # 40 Disconnect-Request, 43 CoA-Request
    packet_id: int
    attributes: Attributes
    reply_code: int | None  # None: dropped (down, bad authenticator, stale)
    error_cause: int | None
    session_ids: tuple[str, ...]  # the sessions it applied to
    note: str = ""

    @property
    def kind(self) -> str:
        return CODE_NAMES.get(self.code, str(self.code))

    @property
    def reply_kind(self) -> str | None:
        return None if self.reply_code is None else CODE_NAMES.get(self.reply_code)


class ReceivedRequests:
    """Every Disconnect/CoA-Request received, oldest first, for readers in other threads; a
    simulator that does not listen has one too, which stays empty."""

    def __init__(self) -> None:
        self._requests: list[DynAuthRequest] = []
        self._changed = threading.Condition()

    def add(self, request: DynAuthRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def all(self) -> list[DynAuthRequest]:
        with self._changed:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float) -> list[DynAuthRequest]:
        """Wait until at least `count` requests were received; returns them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._requests)


@dataclass(frozen=True)
class _Received:
    at: float
    monotonic: float
    source: tuple[str, int]


class DynAuthListener:
    """The UDP listener of one simulator, answering in a thread of its own.

    It answers from its construction until `close`, reading the simulator's settings when a
    request comes (`down`, `message_authenticator`, `max_event_age`, its NAS-IP-Address and
    NAS-Identifier, `on_dynauth`), so changing them takes effect at once."""

    def __init__(
        self,
        nas: NasSimulator,
        sessions: SessionTable,
        secret: bytes,
        address: tuple[str, int],
        received: ReceivedRequests,
    ) -> None:
        self._nas = nas
        self._sessions = sessions
        self._secret = secret
        self._received = received
        self._replies: dict[ReplyKey, tuple[float, bytes]] = {}
        self._closing = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # A busy second's Disconnect-Requests arrive in one burst: the default buffer
        # (about 200 requests on loopback) would drop some.
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self._socket.bind(address)
        except OSError:
            self._socket.close()
            raise
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, name="nas-sim-coa", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Stop answering, after the request in hand, and release the port."""
        self._closing.set()
        self._thread.join()
        self._socket.close()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                data, source = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                if self._closing.is_set():
                    return
                continue
            try:
                self._handle(data, (str(source[0]), int(source[1])))
            except Exception:
                log.exception("Disconnect/CoA-Request from %s", source)

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        received = _Received(time.time(), time.monotonic(), source)
        try:
            request = packet.CoAPacket(secret=self._secret, dict=dictionary(), packet=data)
        except Exception:
            log.info("dropped an undecodable packet from %s", source)
            return
        if request.code not in (packet.DisconnectRequest, packet.CoARequest):
            log.info("dropped a packet with code %s from %s", request.code, source)
            return
        attributes, invalid = _decode_attributes(request)
        drop = self._drop_reason(request, attributes, received.at)
        if drop is not None:
            self._record(received, request, attributes, reply_code=None, note=drop)
            return
        key = (source, int(request.id), bytes(request.authenticator))
        cached = self._replies.get(key)
        if cached is not None:
            self._record(
                received, request, attributes, reply_code=cached[1][0], note="retransmission"
            )
            self._send(cached[1], source)
            return
        self._answer(received, request, attributes, invalid, key)

    def _answer(
        self,
        received: _Received,
        request: Any,
        attributes: Attributes,
        invalid: bool,
        key: ReplyKey,
    ) -> None:
        """Apply a new request, then record, answer, and send the Stops of what it ended."""
        ok: bool
        cause: int | None
        applied: list[SimSession] = []
        if invalid:
            ok, cause = False, ERROR_INVALID_ATTRIBUTE_VALUE
        elif request.code == packet.DisconnectRequest:
            ok, cause, applied = self._disconnect(attributes)
        else:
            ok, cause, applied = self._change(attributes)
        raw = _reply(request, ok, cause)
        self._remember_reply(key, raw)
        # recorded before it is answered: whoever sees the answer finds the record
        self._record(
            received, request, attributes, reply_code=raw[0], error_cause=cause, sessions=applied
        )
        self._send(raw, source=received.source)
        if request.code == packet.DisconnectRequest:
            for session in applied:  # the Stop after the ACK, as a NAS does
                self._nas.send_stop_later(session)

    def _drop_reason(self, request: Any, attributes: Attributes, received_at: float) -> str | None:
        """Why a request is dropped unanswered, or None to answer it."""
        nas = self._nas
        if nas.down:
            return "down"
        if not request.VerifyCoARequest():
            return "bad Request Authenticator"
        if request.message_authenticator:
            if not request.verify_message_authenticator():
                return "bad Message-Authenticator"
        elif nas.message_authenticator:
            return "no Message-Authenticator"
        timestamps = attributes.get("Event-Timestamp") or []
        if (
            nas.max_event_age is not None
            and timestamps
            and isinstance(timestamps[0], int)
            and abs(received_at - timestamps[0]) > nas.max_event_age
        ):
            return "stale Event-Timestamp"
        return None

    def _record(
        self,
        received: _Received,
        request: Any,
        attributes: Attributes,
        *,
        reply_code: int | None,
        error_cause: int | None = None,
        sessions: Iterable[SimSession] = (),
        note: str = "",
    ) -> None:
        entry = DynAuthRequest(
            received_at=received.at,
            received_monotonic=received.monotonic,
            source=received.source,
            code=request.code,
            packet_id=request.id,
            attributes=attributes,
            reply_code=reply_code,
            error_cause=error_cause,
            session_ids=tuple(s.session_id for s in sessions),
            note=note,
        )
        self._received.add(entry)
        if log.isEnabledFor(logging.INFO):  # formatting the attributes nearly doubles the work
            log.info(
                "%s from %s %s -> %s%s%s",
                entry.kind,
                received.source[0],
                _show(attributes),
                entry.reply_kind or "dropped",
                f" Error-Cause {error_cause}" if error_cause else "",
                f" ({note})" if note else "",
            )
        if self._nas.on_dynauth is not None:
            self._nas.on_dynauth(entry)

    def _send(self, raw: bytes, source: tuple[str, int]) -> None:
        try:
            self._socket.sendto(raw, source)
        except OSError as exc:
            log.warning("could not answer %s: %s", source, exc)

    def _remember_reply(self, key: ReplyKey, raw: bytes) -> None:
        """Answers are kept 30 s, so a retransmitted request gets the same answer. Kept in the
        order given, the expired ones are dropped from the front: a busy minute's thousands of
        answers are not copied again on every request."""
        now = time.monotonic()
        while self._replies:
            oldest = next(iter(self._replies))
            if now - self._replies[oldest][0] < REPLY_MEMORY:
                break
            del self._replies[oldest]
        self._replies[key] = (now, raw)

    def _check_request(self, attributes: Attributes, allowed: frozenset[str]) -> int | None:
        """The Error-Cause for a request that cannot be applied as it stands, else None."""
        if any(name not in allowed for name in attributes):
            return ERROR_UNSUPPORTED_ATTRIBUTE
        if any(v != self._nas.nas_ip for v in attributes.get("NAS-IP-Address", [])) or any(
            v != self._nas.nas_identifier for v in attributes.get("NAS-Identifier", [])
        ):
            return ERROR_NAS_IDENTIFICATION_MISMATCH
        if not SESSION_IDENTIFICATION & attributes.keys():
            return ERROR_MISSING_ATTRIBUTE
        return None

    def _disconnect(self, attributes: Attributes) -> Outcome:
        cause = self._check_request(attributes, DISCONNECT_ALLOWED)
        if cause is not None:
            return False, cause, []
        with self._sessions.lock:
            matched = _matching(self._sessions.by_id, attributes)
            if not matched:
                return False, ERROR_SESSION_CONTEXT_NOT_FOUND, []
            for session in matched:
                self._sessions.claim(session, "Admin-Reset")
        return True, None, matched

    def _change(self, attributes: Attributes) -> Outcome:
        if self._nas.coa_refused:
            return False, ERROR_UNSUPPORTED_SERVICE, []
        cause = self._check_request(attributes, COA_ALLOWED)
        if cause is not None:
            return False, cause, []
        rate_limit = _single(attributes, "Mikrotik-Rate-Limit")
        if rate_limit is not None:
            try:
                parse_rate_limit(str(rate_limit))
            except ValueError:
                return False, ERROR_INVALID_ATTRIBUTE_VALUE, []
        with self._sessions.lock:
            matched = _matching(self._sessions.by_id, attributes)
            if not matched:
                return False, ERROR_SESSION_CONTEXT_NOT_FOUND, []
            for session in matched:  # all at once, under the lock
                _apply_coa(session, attributes)
        return True, None, matched


# --- helpers ------------------------------------------------------------------------------------


def _matching(live: Mapping[str, SimSession], attributes: Attributes) -> list[SimSession]:
    """The sessions of `live` (by Acct-Session-Id) matching every session attribute (RFC 5176:
    all of them)."""
    wanted = {n: v for n, v in attributes.items() if n in SESSION_IDENTIFICATION}
    candidates: Iterable[SimSession] = live.values()
    if "Acct-Session-Id" in wanted:  # the usual case: straight to it, whatever the NAS holds
        by_id = (live.get(str(value)) for value in wanted["Acct-Session-Id"])
        candidates = [s for s in by_id if s is not None]
    return [
        s
        for s in candidates
        if all(_session_value(s, n) in {_normal(n, x) for x in v} for n, v in wanted.items())
    ]


def _apply_coa(session: SimSession, attributes: Attributes) -> None:
    """What a CoA-Request changes on one session (its values were checked)."""
    rate_limit = _single(attributes, "Mikrotik-Rate-Limit")
    session_timeout = _single(attributes, "Session-Timeout")
    interim = _single(attributes, "Acct-Interim-Interval")
    limit = _single(attributes, "Mikrotik-Total-Limit")
    gigawords = _single(attributes, "Mikrotik-Total-Limit-Gigawords")
    if rate_limit is not None:
        session.rate_limit = str(rate_limit)
    if session_timeout is not None:
        session.session_timeout = int(session_timeout) or None
    if interim is not None:
        session.interim_interval = float(interim) or None
    if limit is not None or gigawords is not None:
        session.total_limit = int(gigawords or 0) * GIGAWORD + int(limit or 0)
    session.coa_applied += 1


def _reply(request: Any, ok: bool, error_cause: int | None) -> bytes:
    """The encoded ACK or NAK to a Disconnect/CoA-Request."""
    reply = request.CreateReply()
    if request.code == packet.DisconnectRequest:
        reply.code = packet.DisconnectACK if ok else packet.DisconnectNAK
    else:
        reply.code = packet.CoAACK if ok else packet.CoANAK
    if error_cause is not None:
        reply["Error-Cause"] = error_cause
    if request.message_authenticator:
        reply.message_authenticator = True
    return bytes(reply.ReplyPacket())


def _single(attributes: Attributes, name: str) -> Any:
    values = attributes.get(name)
    return values[0] if values else None


def _decode_attributes(request: Any) -> tuple[Attributes, bool]:
    """Attributes by name (`Attr-N` / `Vendor-V-Attr-N` for ones not in our dictionary), and
    whether any value could not be decoded."""
    attributes: Attributes = {}
    invalid = False
    for key in request.keys():  # noqa: SIM118 - pyrad's keys() gives names
        if isinstance(key, str):
            try:
                attributes[key] = list(request[key])
            except Exception:
                attributes[key] = list(dict.__getitem__(request, request._EncodeKey(key)))
                invalid = True
        elif isinstance(key, tuple):
            attributes[f"Vendor-{key[0]}-Attr-{key[1]}"] = list(dict.__getitem__(request, key))
        else:
            attributes[f"Attr-{key}"] = list(dict.__getitem__(request, key))
    return attributes, invalid


def _session_value(session: SimSession, name: str) -> str | None:
    return {
        "User-Name": session.username,
        "Acct-Session-Id": session.session_id,
        "Framed-IP-Address": session.ip,
        "Calling-Station-Id": session.mac,
        "Called-Station-Id": session.called_station_id,
        "NAS-Port-Id": session.nas_port_id,
    }.get(name)


def _normal(name: str, value: Any) -> str:
    if name == "Calling-Station-Id":
        try:
            return normalize_mac(str(value))
        except ValueError:
            return str(value)
    return str(value)


def _show(attributes: Attributes) -> str:
    shown = [
        f"{name}={value!r}" if not isinstance(value, bytes) else f"{name}=0x{value.hex()}"
        for name, values in attributes.items()
        if name not in ("Message-Authenticator", "Proxy-State")
        for value in values
    ]
    return "{" + ", ".join(shown) + "}"
