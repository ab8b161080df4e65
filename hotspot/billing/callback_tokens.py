"""The secret path token of the URLs M-Pesa calls, and its rotation.

Callbacks carry no signature: whoever knows the token can forge an STK success or a C2B
confirmation. So the token is never stored or logged. Generation 1 is
`HOTSPOT_MPESA_CALLBACK_TOKEN` itself, as URLs were registered before rotation existed (an
upgrade keeps the paybill's registered URLs working). Each later generation's token is derived
with HMAC from another secret, `HOTSPOT_MPESA_CALLBACK_KEY`, that no URL ever held, so a token
that leaked (from an old audit copy, say) tells nothing about the next one. The database only
says which generations are valid. Rotating adds a generation and gives the older ones a grace
period, so callbacks of pushes sent before the rotation still land.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
import time

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import CallbackTokenGeneration

# How long a process trusts what it read of the valid generations, and how often an unknown
# token may make it read them again (a rotation done elsewhere): a flood of wrong tokens costs
# one query a second, not one each.
CACHE_SECONDS = 5.0
REFRESH_ON_MISS_SECONDS = 1.0


def stk_callback_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/callbacks/stk/{token}"


def c2b_urls(base_url: str, token: str) -> tuple[str, str]:
    """(validation, confirmation)"""
    base = f"{base_url.rstrip('/')}/api/callbacks/c2b/{token}"
    return f"{base}/validate", f"{base}/confirm"


def derive(first: str, key: str, generation: int) -> str:
    """Generation 1 is the configured token; the others come from the key."""
    if generation == 1:
        return first
    digest = hmac.new(key.encode(), f"mpesa-callback:{generation}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")[:32]


def valid_generations(session: Session, now: dt.datetime) -> list[int]:
    """Newest first; the first is the current one."""
    rows = session.scalars(
        select(CallbackTokenGeneration.generation)
        .where(
            or_(
                CallbackTokenGeneration.retires_at.is_(None),
                CallbackTokenGeneration.retires_at > now,
            )
        )
        .order_by(CallbackTokenGeneration.generation.desc())
    )
    return list(rows)


def rotate(session: Session, grace: dt.timedelta, now: dt.datetime) -> int:
    """A new current generation; the others stay valid for `grace` at most."""
    # Two rotations at once take turns (readers are not blocked).
    session.execute(text("LOCK TABLE callback_token_generations IN SHARE ROW EXCLUSIVE MODE"))
    newest = session.scalar(select(func.max(CallbackTokenGeneration.generation)))
    generation = (newest or 0) + 1
    retire = now + grace
    session.execute(
        update(CallbackTokenGeneration)
        .where(
            or_(
                CallbackTokenGeneration.retires_at.is_(None),
                CallbackTokenGeneration.retires_at > retire,
            )
        )
        .values(retires_at=retire)
    )
    session.add(CallbackTokenGeneration(generation=generation))
    session.flush()
    return generation


def matches_any(given: str, secrets: list[bytes]) -> bool:
    """Whether `given`, a path segment from a URL (any text), is one of `secrets`: compared as
    UTF-8 bytes (compare_digest refuses non-ASCII text), in constant time per secret."""
    data = given.encode("utf-8", errors="replace")
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(data, secret)
    return found


class CallbackTokens:
    """What one process knows of the valid tokens, read from the database now and then."""

    def __init__(self, sessions: sessionmaker[Session], first: str, key: str) -> None:
        self._sessions = sessions
        self._first = first
        self._key = key
        self._lock = threading.Lock()
        self._tokens: list[bytes] = []
        self._read_at = -float("inf")

    def current(self) -> str:
        return self._valid(max_age=CACHE_SECONDS)[0].decode()

    def accepts(self, token: str) -> bool:
        if matches_any(token, self._valid(max_age=CACHE_SECONDS)):
            return True
        return matches_any(token, self._valid(max_age=REFRESH_ON_MISS_SECONDS))

    def _valid(self, max_age: float) -> list[bytes]:
        with self._lock:
            if time.monotonic() - self._read_at > max_age:
                with self._sessions() as session:
                    generations = valid_generations(session, dt.datetime.now(dt.UTC))
                if not generations:
                    raise LookupError("no valid M-Pesa callback token generation")
                self._tokens = [derive(self._first, self._key, g).encode() for g in generations]
                self._read_at = time.monotonic()
            return self._tokens
