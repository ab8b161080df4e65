"""Fixed-window rate limits in Redis, shared by every API process.

When Redis is down the limits are not enforced (fail open): payments matter more than throttling.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)


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


def hit(client: redis.Redis, name: str, subject: str, limit: Limit) -> int | None:
    """Counts one attempt; returns the seconds to wait when over the limit, else None."""
    window = int(time.time()) // limit.seconds
    key = f"hotspot:ratelimit:{name}:{subject}:{window}"
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.seconds + 1)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        log.warning("rate limit %s not enforced, redis unavailable: %s", name, exc)
        return None
    if int(count) <= limit.count:
        return None
    return max(1, (window + 1) * limit.seconds - int(time.time()))
