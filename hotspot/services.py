"""The long-lived things one process needs, built once from the settings (API and workers)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.daraja import DarajaClient, DarajaConfig
from hotspot.adapters.daraja_tokens import RedisTokenCache
from hotspot.adapters.db import make_engine, session_factory
from hotspot.adapters.ratelimit import Limiter
from hotspot.billing.callback_tokens import CallbackTokens
from hotspot.billing.notify import Notifier, connect
from hotspot.core.settings import Settings
from hotspot.models import Operator
from hotspot.operators.tenants import mpesa_secrets

# Connections beyond one per thread, for the rare moment a thread holds two.
POOL_OVERFLOW = 4


@dataclass
class Services:
    settings: Settings
    _operator_gateways: dict[int, tuple[object, DarajaClient]] = field(
        default_factory=dict, repr=False
    )

    @cached_property
    def engine(self) -> Engine:
        """A pooled connection for every API thread. SQLAlchemy's default keeps 5: under load the
        other threads' connections were opened and closed on every request (a PostgreSQL backend
        and an authentication each), which cost a third of callback throughput (bench/payments)."""
        return make_engine(
            self.settings.effective_database_url,
            pool_size=self.settings.api_threads,
            max_overflow=POOL_OVERFLOW,
            pool_use_lifo=True,
        )

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect(self.settings.effective_redis_url)

    @cached_property
    def limiter(self) -> Limiter:
        return Limiter(self.redis, self.counters_dir)

    @property
    def counters_dir(self) -> Path:
        """Where each process counts what it cannot count in Redis (hotspot.process_counters)."""
        return self.settings.state_dir / "counters"

    @cached_property
    def notifier(self) -> Notifier:
        return Notifier(self.redis, self.settings.credentials_cache_ttl)

    @cached_property
    def callback_tokens(self) -> CallbackTokens:
        s = self.settings
        return CallbackTokens(self.sessions, s.mpesa_callback_token, s.mpesa_callback_key)

    @cached_property
    def gateway(self) -> DarajaClient:
        """One Daraja client; its OAuth token is shared by every process through Redis."""
        s = self.settings
        config = DarajaConfig(
            base_url=s.mpesa_base_url,
            consumer_key=s.mpesa_consumer_key,
            consumer_secret=s.mpesa_consumer_secret,
            shortcode=s.mpesa_shortcode,
            passkey=s.mpesa_passkey,
            transaction_type=s.mpesa_transaction_type,
            party_b=s.mpesa_till_number or None,
            timeout=s.mpesa_timeout,
        )
        return DarajaClient(config, RedisTokenCache(self.redis))

    def gateway_for(self, operator_id: int) -> DarajaClient:
        """The operator's own Daraja app when it has one (a shortcode and sealed credentials),
        else the installation's. Read each time (a payment's start, a query), so a change of
        credentials holds at once. One client per operator, made again (credentials unsealed
        again) only when its row changed."""
        with self.sessions() as session:
            operator = session.get(Operator, operator_id)
            if operator is None or not operator.mpesa_shortcode or operator.mpesa_secrets is None:
                return self.gateway
            version = operator.updated_at
            cached = self._operator_gateways.get(operator_id)
            if cached is not None and cached[0] == version:
                return cached[1]
            own = mpesa_secrets(operator, self.settings.secrets_key)
            assert own is not None
            config = dataclasses.replace(
                self.gateway.config,
                consumer_key=own.consumer_key,
                consumer_secret=own.consumer_secret,
                shortcode=operator.mpesa_shortcode,
                passkey=own.passkey,
                party_b=None,
            )
        client = DarajaClient(config, RedisTokenCache(self.redis))
        self._operator_gateways[operator_id] = (version, client)
        return client

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
