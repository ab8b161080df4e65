"""Fixed-window rate limits in Redis, shared by every API process.

When Redis is down the limits are not enforced (fail open): payments matter more than throttling.
Each request let through that way is counted (`hotspot_rate_limit_unavailable_total` in
/metrics) and logged, at most once a minute per process.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from hotspot.adapters import process_counters

log = logging.getLogger(__name__)

UNAVAILABLE_COUNTER = "rate_limit_unavailable"
LOG_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`COUNT/SECONDS`, as written in the settings."""
        count, _, seconds = text.partition("/")
        try:
            limit = cls(int(count), int(seconds))
        except ValueError:
            raise ValueError(f"rate limit {text!r} is not COUNT/SECONDS") from None
        if limit.count < 1 or limit.seconds < 1:
            raise ValueError(f"rate limit {text!r} must be positive")
        return limit


@dataclass
class Limiter:
    """Counts attempts in Redis; `counters` is where requests let through unlimited are counted."""

    client: redis.Redis
    counters: Path
    _last_log: float = field(default=float("-inf"), init=False)
    _unlogged: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def hit(self, name: str, subject: str, limit: Limit) -> int | None:
        """Counts one attempt; returns the seconds to wait when over the limit, else None."""
        window = int(time.time()) // limit.seconds
        key = f"hotspot:ratelimit:{name}:{subject}:{window}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, limit.seconds + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            self._failed_open(name, exc)
            return None
        if int(count) <= limit.count:
            return None
        return max(1, (window + 1) * limit.seconds - int(time.time()))

    def _failed_open(self, name: str, error: redis.RedisError) -> None:
        process_counters.increment(self.counters, UNAVAILABLE_COUNTER)
        with self._lock:
            self._unlogged += 1
            now = time.monotonic()
            if now - self._last_log < LOG_EVERY_SECONDS:
                return
            unlogged, self._unlogged, self._last_log = self._unlogged, 0, now
        # The error's class only: its text could one day carry a URL with a password.
        log.warning(
            "rate limits not enforced, Redis unavailable (%s); %d request(s) let through "
            "unlimited since the last warning, the latest on %s",
            type(error).__name__,
            unlogged,
            name,
        )


def unavailable_total(counters: Path) -> int:
    """Requests let through unlimited because Redis was unavailable, by every process."""
    return process_counters.total(counters, UNAVAILABLE_COUNTER)
