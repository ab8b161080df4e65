"""Where Daraja's OAuth token is kept between calls: in Redis, so every API process and worker
shares one token (Daraja allows few token requests), or in the process for a one-off client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

log = logging.getLogger(__name__)


class TokenCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, token: str, ttl_seconds: int) -> None: ...


class MemoryTokenCache:
    """Process-local; enough for one process, but each worker process then holds its own token."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            token, expires_at = entry
            if self._clock() >= expires_at:
                del self._tokens[key]
                return None
            return token

    def set(self, key: str, token: str, ttl_seconds: int) -> None:
        with self._lock:
            if ttl_seconds <= 0:
                self._tokens.pop(key, None)
                return
            self._tokens[key] = (token, self._clock() + ttl_seconds)


class RedisTokenCache:
    """Shared by every process, so one token serves the whole app (a new token kills the old).

    Redis being down must not stop payments: errors read as a miss and writes are dropped. Give
    the client a short `socket_timeout` so a hung Redis cannot stall a payment either.
    """

    def __init__(self, client: redis.Redis, prefix: str = "hotspot:") -> None:
        self._client = client
        self._prefix = prefix

    def get(self, key: str) -> str | None:
        try:
            value = self._client.get(self._prefix + key)
        except (redis.RedisError, OSError) as exc:
            log.warning("Daraja token cache: Redis unavailable, fetching a new token (%s)", exc)
            return None
        if isinstance(value, bytes):
            return value.decode()
        return value if isinstance(value, str) else None

    def set(self, key: str, token: str, ttl_seconds: int) -> None:
        try:
            if ttl_seconds <= 0:
                self._client.delete(self._prefix + key)
            else:
                self._client.set(self._prefix + key, token, ex=ttl_seconds)
        except (redis.RedisError, OSError) as exc:
            log.warning("Daraja token cache: Redis unavailable, token not cached (%s)", exc)
