"""How many status streams may be open at once: each holds an API thread for minutes, so one
customer (one payment, one address) opening many could stall everyone else's requests.

Counted in Redis, shared by every API process; a slot not given back (a process killed
mid-stream) lapses with its key. With Redis down, streams are not counted (the portal works on).
"""

from __future__ import annotations

from collections.abc import Iterator

import redis

# A portal page opens one stream per payment (a reload, a second tab: a few). A café behind one
# address has a handful of customers paying at the same moment.
PER_PAYMENT = 3
PER_ADDRESS = 30
PREFIX = "hotspot:streams:"


class StreamSlots:
    def __init__(self, client: redis.Redis, lifetime_seconds: int) -> None:
        self._redis = client
        self._lifetime = lifetime_seconds

    def take(self, payment_id: int, address: str) -> list[str] | None:
        """The slots' keys to give back, or None when one of the limits is reached."""
        wanted = {
            f"{PREFIX}payment:{payment_id}": PER_PAYMENT,
            f"{PREFIX}ip:{address}": PER_ADDRESS,
        }
        try:
            pipe = self._redis.pipeline()
            for key in wanted:
                pipe.incr(key)
                pipe.expire(key, self._lifetime)
            counts = pipe.execute()[::2]
        except redis.RedisError:
            return []
        keys = list(wanted)
        if any(count > limit for count, limit in zip(counts, wanted.values(), strict=True)):
            self.give_back(keys)
            return None
        return keys

    def give_back(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            pipe = self._redis.pipeline()
            for key in keys:
                pipe.decr(key)
            pipe.execute()
        except redis.RedisError:
            pass  # the key lapses on its own


def holding(slots: StreamSlots, keys: list[str], stream: Iterator[str]) -> Iterator[str]:
    """`stream`, giving its slots back however it ends."""
    try:
        yield from stream
    finally:
        slots.give_back(keys)
