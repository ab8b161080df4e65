"""A NAS simulator that behaves like a MikroTik hotspot towards FreeRADIUS.

It logs customers in (PAP, or CHAP as a MikroTik sends it), keeps their sessions with the limits
the Access-Accept gave (Session-Timeout, Acct-Interim-Interval, Mikrotik-Total-Limit[-Gigawords],
Mikrotik-Rate-Limit), sends Accounting Start / Interim-Update / Stop with the same identifying
attributes every time (FreeRADIUS's Acct-Unique-Session-Id hashes them), Accounting-On/-Off, and
answers RFC 5176 Disconnect-Requests and CoA-Requests on its own UDP port.

Every request is sent from a fresh UDP socket, so any number of threads may use one simulator.
`radius.nas_sim_command` runs it as `hotspot nas-sim` (with the fake customers of
`radius.nas_sim_demo`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyrad import packet

from radius import dictionary
from radius.nas_sim_packets import (
    access_request,
    accounting_request,
    exchange,
    reply_int,
    reply_message,
    reply_total_limit,
    reply_value,
    session_counters,
    session_identity,
)
from radius.nas_sim_session import (
    GIGAWORD,
    AddressPool,
    SessionTable,
    SimSession,
    normalize_mac,
    parse_rate_limit,
    random_mac,
)

log = logging.getLogger(__name__)

DEFAULT_COA_PORT = 3799
REPLY_MEMORY = 30.0  # seconds a Disconnect/CoA answer is kept for retransmissions

# RFC 5176 Error-Cause values the simulator answers with.
ERROR_UNSUPPORTED_ATTRIBUTE = 401
ERROR_MISSING_ATTRIBUTE = 402
ERROR_NAS_IDENTIFICATION_MISMATCH = 403
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

# Which Acct-Terminate-Cause a MikroTik reports when the data limit is reached is not documented;
# this is our assumption (see `data_limit_cause`).
DATA_LIMIT_CAUSE = "Session-Timeout"

CODE_NAMES = {
    packet.DisconnectRequest: "Disconnect-Request",
    packet.DisconnectACK: "Disconnect-ACK",
    packet.DisconnectNAK: "Disconnect-NAK",
    packet.CoARequest: "CoA-Request",
    packet.CoAACK: "CoA-ACK",
    packet.CoANAK: "CoA-NAK",
}


class NasSimError(Exception):
    """A request the simulator cannot make (no address left, a session that is not live…)."""


@dataclass(frozen=True)
class _Received:
    at: float
    monotonic: float
    source: tuple[str, int]


@dataclass(frozen=True)
class LoginResult:
    """What a login came to: an Access-Accept with a started session, or an Access-Reject."""

    accepted: bool
    reply: Any  # the pyrad reply packet
    session: SimSession | None
    reply_message: str | None


@dataclass(frozen=True)
class DynAuthRequest:
    """One Disconnect-Request or CoA-Request as the simulator received it, and what it did."""

    received_at: float  # time.time()
    received_monotonic: float  # time.monotonic(), for lag measurements within this process
    source: tuple[str, int]
    code: int  # 40 Disconnect-Request, 43 CoA-Request
    packet_id: int
    attributes: dict[str, list[Any]]
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


class NasSimulator:
    """A MikroTik-like hotspot NAS: logins, accounting, and a Disconnect/CoA listener.

    `interim_interval`: None sends Interim-Updates at the Acct-Interim-Interval of the
    Access-Accept (like `radius-interim-update=received`), a number overrides it, 0 sends none
    automatically (`interim()` still does). Client addresses come from `client_network` and MACs
    are random unless `login` is given them. `enforce_session_timeout` / `enforce_data_limit`
    (attributes, switchable at any time) make it stop sessions when their Session-Timeout passes
    or their Mikrotik-Total-Limit is reached; off, it behaves like a NAS that ignores them.
    Setting `down` makes it drop every Disconnect/CoA-Request unanswered, like a dead NAS.
    `coa_port=0` listens on a free port (see `coa_port`); `listen=False` not at all. Every
    Disconnect/CoA-Request is kept in `received` (and passed to `on_dynauth`, in the listener
    thread) before it is answered. Requests with a bad Request Authenticator or
    Message-Authenticator, or an Event-Timestamp more than `max_event_age` seconds off, are
    dropped (and recorded with a note).

    `message_authenticator` (BlastRADIUS, CVE-2024-3596): on, it behaves like RouterOS >= 7.15
    with `require-message-auth`: its Access-Requests carry a Message-Authenticator, answers
    without a valid one are ignored, and so are Disconnect/CoA-Requests without one. Off, like
    RouterOS before 7.15: unsigned Access-Requests, unsigned answers and requests accepted (a
    Message-Authenticator that is present is still verified).
    """

    def __init__(
        self,
        server: str,
        secret: str,
        *,
        auth_port: int = 1812,
        acct_port: int = 1813,
        nas_ip: str = "127.0.0.1",
        nas_identifier: str = "nas-sim",
        coa_listen_address: str = "127.0.0.1",
        coa_port: int = DEFAULT_COA_PORT,
        interim_interval: float | None = None,
        called_station_id: str = "hotspot1",
        nas_port_id: str = "bridge-hotspot",
        client_network: str = "10.5.0.0/16",
        enforce_session_timeout: bool = True,
        enforce_data_limit: bool = True,
        data_limit_cause: str = DATA_LIMIT_CAUSE,
        listen: bool = True,
        timeout: float = 2.0,
        retries: int = 2,
        max_event_age: float | None = 300.0,
        tick: float = 0.1,
        on_dynauth: Callable[[DynAuthRequest], None] | None = None,
        message_authenticator: bool = True,
    ) -> None:
        self.server = server
        self.auth_port = auth_port
        self.acct_port = acct_port
        self.nas_ip = nas_ip
        self.nas_identifier = nas_identifier
        self.called_station_id = called_station_id
        self.nas_port_id = nas_port_id
        self.interim_interval = interim_interval
        self.enforce_session_timeout = enforce_session_timeout
        self.enforce_data_limit = enforce_data_limit
        self.data_limit_cause = data_limit_cause
        self.timeout = timeout
        self.retries = max(1, retries)
        self.max_event_age = max_event_age
        self.on_dynauth = on_dynauth
        self.message_authenticator = message_authenticator
        self._secret = secret.encode()
        self._dict = dictionary()
        self._addresses = AddressPool(client_network)
        self._table = SessionTable()
        self._lock = threading.RLock()  # the Disconnect/CoA records and answers
        self._received: list[DynAuthRequest] = []
        self._received_changed = threading.Condition(self._lock)
        self._replies: dict[tuple[tuple[str, int], int, bytes], tuple[float, bytes]] = {}
        self._down = False
        self._closing = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="nas-sim-acct")
        self._threads: list[threading.Thread] = []
        self._socket: socket.socket | None = None
        if listen:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            # A busy second's Disconnect-Requests arrive in one burst: the default buffer
            # (about 200 requests on loopback) would drop some.
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            try:
                self._socket.bind((coa_listen_address, coa_port))
            except OSError:
                self._socket.close()
                self._executor.shutdown()
                raise
            self._socket.settimeout(0.2)
            self._start_thread(self._serve, "nas-sim-coa")
        self._start_thread(self._run_timers, "nas-sim-timers", tick)

    # --- life cycle -----------------------------------------------------------------------------

    @property
    def coa_address(self) -> tuple[str, int] | None:
        """Where the Disconnect/CoA listener is bound, or None without one."""
        if self._socket is None:
            return None
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def coa_port(self) -> int | None:
        address = self.coa_address
        return None if address is None else address[1]

    @property
    def down(self) -> bool:
        """True: Disconnect/CoA-Requests are dropped unanswered (a dead or unreachable NAS)."""
        return self._down

    @down.setter
    def down(self, value: bool) -> None:
        self._down = value

    def close(self) -> None:
        """Stop the listener and timers and finish pending accounting. Sessions are left as they
        are (use `logout_all` first for Stops); calling it again does nothing."""
        if self._closing.is_set():
            return
        self._closing.set()
        for thread in self._threads:
            thread.join()
        if self._socket is not None:
            self._socket.close()
        self._executor.shutdown(wait=True)

    def __enter__(self) -> NasSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions -------------------------------------------------------------------------------

    def sessions(self) -> list[SimSession]:
        """The live sessions."""
        return self._table.live()

    def find_sessions(
        self,
        *,
        username: str | None = None,
        session_id: str | None = None,
        ip: str | None = None,
    ) -> list[SimSession]:
        """Live sessions matching every given value."""
        return [
            s
            for s in self._table.live()
            if (username is None or s.username == username)
            and (session_id is None or s.session_id == session_id)
            and (ip is None or s.ip == ip)
        ]

    def new_mac(self) -> str:
        return random_mac()

    def new_ip(self) -> str:
        """A free client address from `client_network` (reserved until its session ends); the
        first host is left out, as the hotspot gateway has it."""
        ip = self._addresses.take()
        if ip is None:
            raise NasSimError(f"no free address left in {self._addresses.network}")
        return ip

    def login(
        self,
        username: str,
        password: str,
        *,
        chap: bool = True,
        mac: str | None = None,
        ip: str | None = None,
    ) -> LoginResult:
        """Access-Request (CHAP as a MikroTik hotspot sends it, or PAP); on Access-Accept a session
        is started and its Accounting Start sent (a Start without answer raises `Timeout` and
        leaves the session live, as on a real NAS)."""
        mac = normalize_mac(mac) if mac else self.new_mac()
        if ip is None:
            ip = self.new_ip()
        else:
            self._addresses.reserve(ip)
        session_id = self._table.new_id()
        request = access_request(
            self._secret,
            username,
            password,
            chap=chap,
            message_authenticator=self.message_authenticator,
            attributes=[
                ("Service-Type", "Login-User"),
                ("Calling-Station-Id", mac),
                ("Called-Station-Id", self.called_station_id),
                ("NAS-Port-Type", "Wireless-802.11"),
                ("NAS-Port-Id", self.nas_port_id),
                ("Acct-Session-Id", session_id),
                ("Framed-IP-Address", ip),
                ("NAS-Identifier", self.nas_identifier),
                ("NAS-IP-Address", self.nas_ip),
            ],
        )
        try:
            reply = self._exchange(request, self.auth_port)
        except BaseException:
            self._addresses.release(ip)
            raise
        message = reply_message(reply)
        if reply.code != packet.AccessAccept:
            self._addresses.release(ip)
            log.info("login %s from %s %s: rejected (%s)", username, mac, ip, message or "-")
            return LoginResult(False, reply, None, message)
        session = self._start_session(username, session_id, mac, ip, reply)
        self._send_accounting("Start", self._identity(session))
        return LoginResult(True, reply, session, message)

    def _start_session(
        self, username: str, session_id: str, mac: str, ip: str, accept: Any
    ) -> SimSession:
        """A live session with the limits of its Access-Accept."""
        now = time.monotonic()
        session = SimSession(
            username=username,
            session_id=session_id,
            mac=mac,
            ip=ip,
            nas_port_id=self.nas_port_id,
            called_station_id=self.called_station_id,
            started_at=time.time(),
            started=now,
            session_timeout=reply_int(accept, "Session-Timeout") or None,
            interim_interval=self._interim_for(reply_int(accept, "Acct-Interim-Interval")),
            total_limit=reply_total_limit(accept),
            rate_limit=reply_value(accept, "Mikrotik-Rate-Limit"),
            class_=[bytes(c) for c in accept.get("Class", [])],
            last_interim=now,
        )
        self._table.add(session)
        log.info(
            "login %s from %s %s: session %s (timeout %s s, limit %s, rate %s)",
            username,
            mac,
            ip,
            session_id,
            session.session_timeout,
            session.total_limit,
            session.rate_limit,
        )
        return session

    def _interim_for(self, received: int | None) -> float | None:
        interval = self.interim_interval if self.interim_interval is not None else received
        return float(interval) if interval else None

    def add_traffic(
        self,
        session: SimSession,
        input_octets: int = 0,
        output_octets: int = 0,
        *,
        input_packets: int | None = None,
        output_packets: int | None = None,
    ) -> bool:
        """Count traffic of a live session (input: from the client). Returns False if the session
        is no longer live. Reaching the data limit stops it (when enforced)."""
        with self._table.lock:
            if not self._table.is_live(session):
                return False
            session.input_octets += input_octets
            session.output_octets += output_octets
            session.input_packets += (
                input_packets if input_packets is not None else -(-input_octets // 1400)
            )
            session.output_packets += (
                output_packets if output_packets is not None else -(-output_octets // 1400)
            )
        self._enforce([session])
        return True

    def interim(self, session: SimSession) -> bool:
        """Send an Interim-Update with the session's counters now; False if it is not live."""
        with self._table.lock:
            if not self._table.is_live(session):
                return False
            session.last_interim = time.monotonic()
            session_time = session.elapsed()
            attributes = self._identity(session) + session_counters(session, session_time)
        self._send_accounting("Interim-Update", attributes)
        with self._table.lock:
            session.interims_sent += 1
        log.info(
            "interim %s of %s: %d s, %d B up, %d B down",
            session.session_id,
            session.username,
            session_time,
            session.input_octets,
            session.output_octets,
        )
        return True

    def logout(self, session: SimSession, cause: str = "User-Request") -> bool:
        """End a live session with an Accounting Stop carrying `cause` (Acct-Terminate-Cause);
        False if it had already ended."""
        with self._table.lock:
            if not self._table.claim(session, cause):
                return False
        self._send_stop(session, raise_errors=True)
        return True

    def logout_all(self, cause: str = "User-Request") -> list[SimSession]:
        """Stop every live session with `cause`; returns them."""
        with self._table.lock:
            ended = [s for s in self._table.live() if self._table.claim(s, cause)]
        for session in ended:
            self._send_stop(session, raise_errors=False)
        return ended

    def check_limits(self) -> list[SimSession]:
        """Stop (in the background) the sessions past their Session-Timeout or data limit, if
        enforced. The timer thread calls this every `tick`; returns the sessions it stopped."""
        with self._table.lock:
            return self._enforce(self._table.live())

    def _enforce(self, sessions: Iterable[SimSession]) -> list[SimSession]:
        now = time.monotonic()
        ended: list[SimSession] = []
        with self._table.lock:
            for session in sessions:
                cause = self._limit_reached(session, now)
                if cause is not None and self._table.claim(session, cause, now):
                    ended.append(session)
        for session in ended:
            log.info(
                "session %s of %s: %s",
                session.session_id,
                session.username,
                session.terminate_cause,
            )
            self._submit(self._send_stop, session)
        return ended

    def accounting_on(self, *, forget_sessions: bool = True) -> None:
        """Accounting-On, as a NAS sends after a (re)boot: FreeRADIUS closes this NAS's open
        radacct rows. The sessions the simulator had are forgotten without Stops."""
        self._on_off("Accounting-On", forget_sessions)

    def accounting_off(self, *, forget_sessions: bool = True) -> None:
        """Accounting-Off, as a NAS sends when it shuts down."""
        self._on_off("Accounting-Off", forget_sessions)

    def _on_off(self, status: str, forget_sessions: bool) -> None:
        if forget_sessions:
            with self._table.lock:
                forgotten = [s for s in self._table.live() if self._table.claim(s, "NAS-Reboot")]
            for session in forgotten:
                self._addresses.release(session.ip)
                session.closed.set()
        self._send_accounting(
            status,
            [
                ("NAS-IP-Address", self.nas_ip),
                ("NAS-Identifier", self.nas_identifier),
                ("Acct-Session-Id", "00000000"),
            ],
        )

    # --- Disconnect / CoA records ---------------------------------------------------------------

    @property
    def received(self) -> list[DynAuthRequest]:
        """Every Disconnect/CoA-Request received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def wait_for_requests(self, count: int, timeout: float) -> list[DynAuthRequest]:
        """Wait until at least `count` Disconnect/CoA-Requests were received; returns them all."""
        deadline = time.monotonic() + timeout
        with self._received_changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._received_changed.wait(left)
            return list(self._received)

    # --- internals: sessions --------------------------------------------------------------------

    def _limit_reached(self, session: SimSession, now: float) -> str | None:
        if (
            self.enforce_session_timeout
            and session.session_timeout
            and now - session.started >= session.session_timeout
        ):
            return "Session-Timeout"
        if (
            self.enforce_data_limit
            and session.total_limit is not None
            and session.total_octets >= session.total_limit
        ):
            return self.data_limit_cause
        return None

    def _identity(self, session: SimSession) -> list[tuple[str, Any]]:
        return session_identity(session, self.nas_ip, self.nas_identifier)

    def _send_stop(self, session: SimSession, raise_errors: bool = False) -> None:
        with self._table.lock:
            attributes = [
                *self._identity(session),
                *session_counters(session, session.session_time or 0),
                ("Acct-Terminate-Cause", session.terminate_cause or "User-Request"),
            ]
        try:
            self._send_accounting("Stop", attributes)
            session.stop_acknowledged = True
        except Exception:
            log.warning("Stop of session %s was not answered", session.session_id)
            if raise_errors:
                raise
        finally:
            self._addresses.release(session.ip)
            session.closed.set()

    def _run_timers(self, tick: float) -> None:
        """Enforce limits and send the automatic Interim-Updates."""
        while not self._closing.wait(tick):
            try:
                self.check_limits()
                for session in self._table.take_due_interims(time.monotonic()):
                    self._submit(self._background_interim, session)
            except Exception:
                log.exception("nas-sim timers")

    def _background_interim(self, session: SimSession) -> None:
        try:
            self.interim(session)
        except Exception:
            log.warning("Interim-Update of session %s was not answered", session.session_id)

    def _submit(self, function: Callable[[SimSession], None], session: SimSession) -> None:
        try:
            self._executor.submit(function, session)
        except RuntimeError:  # shut down: do it here
            function(session)

    def _start_thread(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- internals: RADIUS client ---------------------------------------------------------------

    def _send_accounting(self, status: str, attributes: Sequence[tuple[str, Any]]) -> None:
        reply = self._exchange(accounting_request(self._secret, status, attributes), self.acct_port)
        if reply.code != packet.AccountingResponse:
            raise NasSimError(f"accounting {status} answered with code {reply.code}")

    def _exchange(self, request: Any, port: int) -> Any:
        return exchange(
            request,
            self.server,
            port,
            timeout=self.timeout,
            retries=self.retries,
            enforce_ma=self.message_authenticator,
        )

    # --- internals: Disconnect / CoA listener ---------------------------------------------------

    def _serve(self) -> None:
        assert self._socket is not None
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
            request = packet.CoAPacket(secret=self._secret, dict=self._dict, packet=data)
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
        with self._lock:
            cached = self._replies.get(key)
        if cached is not None:
            self._record(
                received, request, attributes, reply_code=cached[1][0], note="retransmission"
            )
            self._reply_raw(cached[1], source)
            return
        applied: list[SimSession] = []
        cause: int | None
        if invalid:
            ok, cause = False, ERROR_INVALID_ATTRIBUTE_VALUE
        elif request.code == packet.DisconnectRequest:
            ok, cause, applied = self._disconnect(attributes)
        else:
            ok, cause, applied = self._change(attributes)
        raw = _answer(request, ok, cause)
        with self._lock:
            self._remember_reply(key, raw)
        # recorded before it is answered: whoever sees the answer finds the record
        self._record(
            received, request, attributes, reply_code=raw[0], error_cause=cause, sessions=applied
        )
        self._reply_raw(raw, source)
        if request.code == packet.DisconnectRequest:
            for session in applied:  # the Stop after the ACK, as a NAS does
                self._submit(self._send_stop, session)

    def _drop_reason(
        self, request: Any, attributes: dict[str, list[Any]], received_at: float
    ) -> str | None:
        """Why a request is dropped unanswered, or None to answer it."""
        if self._down:
            return "down"
        if not request.VerifyCoARequest():
            return "bad Request Authenticator"
        if request.message_authenticator:
            if not request.verify_message_authenticator():
                return "bad Message-Authenticator"
        elif self.message_authenticator:
            return "no Message-Authenticator"
        timestamps = attributes.get("Event-Timestamp") or []
        if (
            self.max_event_age is not None
            and timestamps
            and isinstance(timestamps[0], int)
            and abs(received_at - timestamps[0]) > self.max_event_age
        ):
            return "stale Event-Timestamp"
        return None

    def _record(
        self,
        received: _Received,
        request: Any,
        attributes: dict[str, list[Any]],
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
        with self._received_changed:
            self._received.append(entry)
            self._received_changed.notify_all()
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
        if self.on_dynauth is not None:
            self.on_dynauth(entry)

    def _reply_raw(self, raw: bytes, source: tuple[str, int]) -> None:
        if self._socket is not None:
            try:
                self._socket.sendto(raw, source)
            except OSError as exc:
                log.warning("could not answer %s: %s", source, exc)

    def _remember_reply(self, key: tuple[tuple[str, int], int, bytes], raw: bytes) -> None:
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

    def _check_request(
        self, attributes: dict[str, list[Any]], allowed: frozenset[str]
    ) -> int | None:
        """The Error-Cause for a request that cannot be applied as it stands, else None."""
        if any(name not in allowed for name in attributes):
            return ERROR_UNSUPPORTED_ATTRIBUTE
        if any(v != self.nas_ip for v in attributes.get("NAS-IP-Address", [])) or any(
            v != self.nas_identifier for v in attributes.get("NAS-Identifier", [])
        ):
            return ERROR_NAS_IDENTIFICATION_MISMATCH
        if not SESSION_IDENTIFICATION & attributes.keys():
            return ERROR_MISSING_ATTRIBUTE
        return None

    def _matching(self, attributes: dict[str, list[Any]]) -> list[SimSession]:
        """Under the lock: the live sessions matching every session attribute (RFC 5176: all)."""
        wanted = {n: v for n, v in attributes.items() if n in SESSION_IDENTIFICATION}
        candidates: Iterable[SimSession] = self._table.by_id.values()
        if "Acct-Session-Id" in wanted:  # the usual case: straight to it, whatever the NAS holds
            by_id = (self._table.by_id.get(str(value)) for value in wanted["Acct-Session-Id"])
            candidates = [s for s in by_id if s is not None]
        return [
            s
            for s in candidates
            if all(_session_value(s, n) in {_normal(n, x) for x in v} for n, v in wanted.items())
        ]

    def _disconnect(
        self, attributes: dict[str, list[Any]]
    ) -> tuple[bool, int | None, list[SimSession]]:
        cause = self._check_request(attributes, DISCONNECT_ALLOWED)
        if cause is not None:
            return False, cause, []
        with self._table.lock:
            matched = self._matching(attributes)
            if not matched:
                return False, ERROR_SESSION_CONTEXT_NOT_FOUND, []
            for session in matched:
                self._table.claim(session, "Admin-Reset")
        return True, None, matched

    def _change(
        self, attributes: dict[str, list[Any]]
    ) -> tuple[bool, int | None, list[SimSession]]:
        cause = self._check_request(attributes, COA_ALLOWED)
        if cause is not None:
            return False, cause, []
        rate_limit = _single(attributes, "Mikrotik-Rate-Limit")
        session_timeout = _single(attributes, "Session-Timeout")
        interim = _single(attributes, "Acct-Interim-Interval")
        limit = _single(attributes, "Mikrotik-Total-Limit")
        gigawords = _single(attributes, "Mikrotik-Total-Limit-Gigawords")
        if rate_limit is not None:
            try:
                parse_rate_limit(str(rate_limit))
            except ValueError:
                return False, ERROR_INVALID_ATTRIBUTE_VALUE, []
        with self._table.lock:
            matched = self._matching(attributes)
            if not matched:
                return False, ERROR_SESSION_CONTEXT_NOT_FOUND, []
            for session in matched:  # all at once, under the lock
                if rate_limit is not None:
                    session.rate_limit = str(rate_limit)
                if session_timeout is not None:
                    session.session_timeout = int(session_timeout) or None
                if interim is not None:
                    session.interim_interval = float(interim) or None
                if limit is not None or gigawords is not None:
                    session.total_limit = int(gigawords or 0) * GIGAWORD + int(limit or 0)
                session.coa_applied += 1
        return True, None, matched


# --- packet helpers -----------------------------------------------------------------------------


def _answer(request: Any, ok: bool, error_cause: int | None) -> bytes:
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


def _single(attributes: dict[str, list[Any]], name: str) -> Any:
    values = attributes.get(name)
    return values[0] if values else None


def _decode_attributes(request: Any) -> tuple[dict[str, list[Any]], bool]:
    """Attributes by name (`Attr-N` / `Vendor-V-Attr-N` for ones not in our dictionary), and
    whether any value could not be decoded."""
    attributes: dict[str, list[Any]] = {}
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


def _show(attributes: dict[str, list[Any]]) -> str:
    shown = [
        f"{name}={value!r}" if not isinstance(value, bytes) else f"{name}=0x{value.hex()}"
        for name, values in attributes.items()
        if name not in ("Message-Authenticator", "Proxy-State")
        for value in values
    ]
    return "{" + ", ".join(shown) + "}"
