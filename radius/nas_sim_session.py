"""A session on the simulated NAS and the client values it holds (MAC, address, rate limit).

The live sessions are kept in a `SessionTable` with its own lock, because the simulator's callers,
its timers and its Disconnect/CoA listener end and change them from their own threads. A module
apart because the simulator (`radius.nas_sim`) imports the listener (`radius.nas_sim_dynauth`)
and both need the sessions.
"""

from __future__ import annotations

import ipaddress
import random
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

GIGAWORD = 2**32

RATE_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)([kKMG]?)(?:/(\d+(?:\.\d+)?)([kKMG]?))?(?:\s.*)?$")
RATE_UNITS = {"": 1, "k": 1000, "K": 1000, "M": 1_000_000, "G": 1_000_000_000}


def normalize_mac(mac: str) -> str:
    """`aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff`, … → `AA:BB:CC:DD:EE:FF`, as a MikroTik writes it."""
    digits = re.sub(r"[^0-9A-Fa-f]", "", mac)
    if len(digits) != 12 or len(re.sub(r"[0-9A-Fa-f:.\-]", "", mac)) != 0:
        raise ValueError(f"{mac!r} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()


def random_mac(rng: random.Random | None = None) -> str:
    """A random locally administered unicast MAC, in capitals, colon-separated."""
    octets = bytearray(secrets.token_bytes(6) if rng is None else rng.randbytes(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{octet:02X}" for octet in octets)


def parse_rate_limit(rate_limit: str | None) -> tuple[int, int]:
    """`Mikrotik-Rate-Limit` → (rx, tx) in bit/s: rx is the client's upload, tx its download."""
    match = RATE_LIMIT.match(rate_limit or "")
    if match is None:
        raise ValueError(f"rate limit {rate_limit!r} is not like '2M/5M'")
    rx_number, rx_unit, tx_number, tx_unit = match.groups()
    rx = int(float(rx_number) * RATE_UNITS[rx_unit])
    tx = int(float(tx_number) * RATE_UNITS[tx_unit]) if tx_number else rx
    return rx, tx


@dataclass(eq=False)
class SimSession:
    """One hotspot session on the simulated NAS. Read it; change it through the simulator."""

    username: str
    session_id: str  # Acct-Session-Id, 8 hex digits like a MikroTik's `81a0000f`
    mac: str  # Calling-Station-Id
    ip: str  # Framed-IP-Address
    nas_port_id: str
    called_station_id: str
    started_at: float  # time.time() of the Access-Accept
    started: float  # time.monotonic() of the Access-Accept
    session_timeout: int | None = None  # seconds from the start, from the Access-Accept or a CoA
    interim_interval: float | None = None  # seconds; None: no automatic Interim-Updates
    total_limit: int | None = None  # bytes up + down (Mikrotik-Total-Limit[-Gigawords])
    rate_limit: str | None = None  # Mikrotik-Rate-Limit, e.g. "2M/5M"
    class_: list[bytes] = field(default_factory=list)  # echoed in accounting, as RFC 2865 asks
    input_octets: int = 0  # from the client (its upload)
    output_octets: int = 0  # to the client (its download)
    input_packets: int = 0
    output_packets: int = 0
    last_interim: float = 0.0  # time.monotonic() of the last Start/Interim-Update
    interims_sent: int = 0
    coa_applied: int = 0
    terminate_cause: str | None = None  # set when the session ends
    session_time: int | None = None  # Acct-Session-Time of the Stop
    stop_acknowledged: bool = False  # FreeRADIUS answered the Stop
    closed: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def total_octets(self) -> int:
        return self.input_octets + self.output_octets

    @property
    def live(self) -> bool:
        return self.terminate_cause is None

    def elapsed(self, now: float | None = None) -> int:
        """Whole seconds since the login (Acct-Session-Time)."""
        return int((time.monotonic() if now is None else now) - self.started)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the session ended and its Stop was sent (answered or not)."""
        return self.closed.wait(timeout)


class AddressPool:
    """The client addresses of the hotspot network, handed out in turn round the network and
    each reserved until its session ends."""

    def __init__(self, network: str) -> None:
        self.network = ipaddress.ip_network(network)
        if self.network.num_addresses < 4:
            raise ValueError(f"client network {network} is too small")
        self._cursor = 0
        self._in_use: set[str] = set()
        self._lock = threading.Lock()

    def take(self) -> str | None:
        """A free address, now reserved, or None if there is none; the first host is left out, as
        the hotspot gateway has it."""
        first = 2
        count = self.network.num_addresses - 3
        with self._lock:
            for _ in range(count):
                offset = first + self._cursor % count
                self._cursor += 1
                candidate = str(self.network.network_address + offset)
                if candidate not in self._in_use:
                    self._in_use.add(candidate)
                    return candidate
        return None

    def reserve(self, ip: str) -> None:
        """Mark an address chosen elsewhere as in use."""
        with self._lock:
            self._in_use.add(ip)

    def release(self, ip: str) -> None:
        with self._lock:
            self._in_use.discard(ip)


class SessionTable:
    """The live sessions of one NAS by Acct-Session-Id, and the ids for new ones.

    `lock` guards the table and the sessions' counters and limits, which callers, the timers and
    the Disconnect/CoA listener change from their own threads; hold it to do several steps at
    once. Taking a session out (`claim`) is what ends it, so exactly one caller sends its Stop.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._sessions: dict[str, SimSession] = {}
        self.by_id: Mapping[str, SimSession] = MappingProxyType(self._sessions)
        self._counter = secrets.randbits(24)
        self._prefix = 0x80 | secrets.randbits(7)

    def new_id(self) -> str:
        """An Acct-Session-Id like a MikroTik's `81a0000f`: a prefix byte, then a counter."""
        with self.lock:
            self._counter = (self._counter + 1) & 0xFFFFFF
            return f"{self._prefix:02x}{self._counter:06x}"

    def add(self, session: SimSession) -> None:
        with self.lock:
            self._sessions[session.session_id] = session

    def live(self) -> list[SimSession]:
        with self.lock:
            return list(self._sessions.values())

    def take_due_interims(self, now: float) -> list[SimSession]:
        """The sessions whose automatic Interim-Update is due, marked as sent at `now`."""
        due: list[SimSession] = []
        with self.lock:
            for session in self._sessions.values():
                interval = session.interim_interval
                if interval and now - session.last_interim >= interval:
                    session.last_interim = now
                    due.append(session)
        return due

    def is_live(self, session: SimSession) -> bool:
        return self._sessions.get(session.session_id) is session

    def claim(self, session: SimSession, cause: str, now: float | None = None) -> bool:
        """Under the lock: take a live session out and end it with `cause`; False if it had
        already ended."""
        if not self.is_live(session):
            return False
        del self._sessions[session.session_id]
        elapsed = session.elapsed(now)
        if cause == "Session-Timeout" and session.session_timeout:
            elapsed = min(elapsed, session.session_timeout)
        session.session_time = elapsed
        session.terminate_cause = cause
        return True
