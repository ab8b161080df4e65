"""A NAS simulator that behaves like a MikroTik hotspot towards FreeRADIUS.

It logs customers in (PAP, or CHAP as a MikroTik sends it), keeps their sessions with the limits
the Access-Accept gave (Session-Timeout, Acct-Interim-Interval, Mikrotik-Total-Limit[-Gigawords],
Mikrotik-Rate-Limit), sends Accounting Start / Interim-Update / Stop with the same identifying
attributes every time (FreeRADIUS's Acct-Unique-Session-Id hashes them), Accounting-On/-Off, and
answers RFC 5176 Disconnect-Requests and CoA-Requests on its own UDP port.

Every request goes from a fresh UDP socket: any number of threads may use one simulator. Here:
the simulator and its sessions' life cycle; its packets: `nas_sim_packets`; Disconnect/CoA:
`nas_sim_dynauth`; `hotspot nas-sim`: `nas_sim_command` (fake customers: `nas_sim_demo`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyrad import packet

from radius.nas_sim_dynauth import DynAuthListener, DynAuthRequest, ReceivedRequests
from radius.nas_sim_packets import (
    LoginPlace,
    access_request,
    accounting_request,
    exchange,
    login_attributes,
    reply_int,
    reply_message,
    reply_total_limit,
    reply_value,
    session_counters,
    session_identity,
)
from radius.nas_sim_session import AddressPool, SessionTable, SimSession, normalize_mac, random_mac

log = logging.getLogger(__name__)

DEFAULT_COA_PORT = 3799

# The Acct-Terminate-Cause of a reached data limit: undocumented by MikroTik, our assumption.
DATA_LIMIT_CAUSE = "Session-Timeout"


class NasSimError(Exception):
    """A request the simulator cannot make (no address left, a session that is not live…)."""


@dataclass(frozen=True)
class LoginResult:
    """What a login came to: an Access-Accept with a started session, or an Access-Reject."""

    accepted: bool
    reply: Any  # the pyrad reply packet
    session: SimSession | None
    reply_message: str | None


class NasSimulator:
    """A MikroTik-like hotspot NAS: logins, accounting, and a Disconnect/CoA listener.

    `interim_interval`: None sends Interim-Updates at the Acct-Interim-Interval of the
    Access-Accept (like `radius-interim-update=received`), a number overrides it, 0 sends none
    automatically (`interim()` still does). Client addresses come from `client_network` and MACs
    are random unless `login` is given them. `enforce_session_timeout` / `enforce_data_limit`
    (attributes, switchable at any time) make it stop sessions when their Session-Timeout passes
    or their Mikrotik-Total-Limit is reached; off, it behaves like a NAS that ignores them.
    Setting `down` makes it drop every Disconnect/CoA-Request unanswered, like a dead NAS;
    `coa_refused`, answer every CoA-Request with a NAK (Error-Cause 405), like one without CoA.
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
        source_address: str | None = None,
    ) -> None:
        self.server = server
        self.auth_port = auth_port
        self.acct_port = acct_port
        self.nas_ip = nas_ip
        self.source_address = source_address  # None: whatever the system picks
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
        self.down = False  # True: Disconnect/CoA-Requests are dropped unanswered (a dead NAS)
        self.coa_refused = False
        self._secret = secret.encode()
        self._addresses = AddressPool(client_network)
        self._table = SessionTable()
        self._received = ReceivedRequests()
        self._closing = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="nas-sim-acct")
        coa_address = (coa_listen_address, coa_port)
        self._listener = (
            DynAuthListener(self, self._table, self._secret, coa_address, self._received)
            if listen
            else None
        )
        self._timers = threading.Thread(
            target=self._run_timers, args=(tick,), name="nas-sim-timers", daemon=True
        )
        self._timers.start()

    # --- life cycle -----------------------------------------------------------------------------

    @property
    def coa_address(self) -> tuple[str, int] | None:
        """Where the Disconnect/CoA listener is bound, or None without one."""
        return None if self._listener is None else self._listener.address

    @property
    def coa_port(self) -> int | None:
        address = self.coa_address
        return None if address is None else address[1]

    def close(self) -> None:
        """Stop the listener and timers and finish pending accounting. Sessions are left as they
        are (use `logout_all` first for Stops); calling it again does nothing."""
        if self._closing.is_set():
            return
        self._closing.set()
        if self._listener is not None:
            self._listener.close()
        self._timers.join()
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
        pppoe: bool = False,
    ) -> LoginResult:
        """Access-Request (CHAP as a MikroTik hotspot sends it, or PAP; `pppoe`: as its PPPoE
        server does, the address then the Access-Accept's Framed-IP-Address or the pool's); on
        Access-Accept a session is started and its Accounting Start sent (a Start without
        answer raises `Timeout` and leaves the session live, as on a real NAS)."""
        mac = normalize_mac(mac) if mac else self.new_mac()
        if ip is None:
            ip = self.new_ip()
        else:
            self._addresses.reserve(ip)
        session_id = self._table.new_id()
        where = LoginPlace(mac, self.called_station_id, self.nas_port_id, self.nas_identifier)
        request = access_request(
            self._secret,
            username,
            password,
            chap=chap,
            message_authenticator=self.message_authenticator,
            attributes=login_attributes(where, session_id, None if pppoe else ip, self.nas_ip),
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
        if pppoe and reply_value(reply, "Framed-IP-Address"):
            self._addresses.release(ip)
            ip = str(reply_value(reply, "Framed-IP-Address"))
        named = reply_value(reply, "User-Name") or username  # RFC 2865 5.1: its name from now on
        session = self._start_session(named, session_id, mac, ip, reply)
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
            self.send_stop_later(session)
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

    # --- Disconnect / CoA -----------------------------------------------------------------------

    @property
    def received(self) -> list[DynAuthRequest]:
        """Every Disconnect/CoA-Request received so far, oldest first."""
        return self._received.all()

    def wait_for_requests(self, count: int, timeout: float) -> list[DynAuthRequest]:
        """Wait until at least `count` Disconnect/CoA-Requests were received; returns them all."""
        return self._received.wait_for(count, timeout)

    def send_stop_later(self, session: SimSession) -> None:
        """Send the Stop of an ended session from the accounting threads."""
        self._submit(self._send_stop, session)

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
            source_address=self.source_address,
        )
