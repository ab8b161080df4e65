"""The long-lived things one process needs, built once from the settings (API and workers)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.campay import CampayClient, CampayConfig
from hotspot.adapters.daraja import DarajaClient, DarajaConfig
from hotspot.adapters.daraja_tokens import RedisTokenCache
from hotspot.adapters.db import make_engine, session_factory
from hotspot.adapters.iotec import IotecClient, IotecConfig
from hotspot.adapters.mpesa_collections import MpesaCollections
from hotspot.adapters.ratelimit import Limiter
from hotspot.billing.callback_tokens import CallbackTokens
from hotspot.billing.gateways import CAMPAY, IOTEC, MPESA, CollectionGateway
from hotspot.billing.notify import Notifier, connect
from hotspot.core.settings import Settings, check_gateways
from hotspot.models import Operator
from hotspot.operators.tenants import gateway_secrets, mpesa_secrets

# Connections beyond one per thread, for the rare moment a thread holds two.
POOL_OVERFLOW = 4


@dataclass
class Services:
    settings: Settings
    _operator_gateways: dict[tuple[int, str], tuple[object, CollectionGateway]] = field(
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

    @cached_property
    def installation_gateways(self) -> tuple[str, ...]:
        return check_gateways(self.settings.gateways)

    def gateway_for(self, operator_id: int | None, name: str = MPESA) -> CollectionGateway:
        """The gateway `name` as an operator uses it: its own app (sealed credentials) when it
        has one, else the installation's (also for None). Read each time (a payment's start, a
        query, a webhook), so a change of credentials holds at once; one client per operator
        and gateway, made again (credentials unsealed again) only when its row changed."""
        if operator_id is None:
            return self._installation(name)
        with self.sessions() as session:
            operator = session.get(Operator, operator_id)
            if operator is None or not self._has_own(operator, name):
                return self._installation(name)
            version = operator.updated_at
            cached = self._operator_gateways.get((operator_id, name))
            if cached is not None and cached[0] == version:
                return cached[1]
            client = self._own(operator, name)
        self._operator_gateways[(operator_id, name)] = (version, client)
        return client

    def _has_own(self, operator: Operator, name: str) -> bool:
        if name == MPESA:
            return bool(operator.mpesa_shortcode) and operator.mpesa_secrets is not None
        return operator.gateway_secrets is not None

    def _own(self, operator: Operator, name: str) -> CollectionGateway:
        key = self.settings.secrets_key
        if name == MPESA:
            own = mpesa_secrets(operator, key)
            assert own is not None
            assert operator.mpesa_shortcode
            return self._mpesa(
                dataclasses.replace(
                    self.gateway.config,
                    consumer_key=own.consumer_key,
                    consumer_secret=own.consumer_secret,
                    shortcode=operator.mpesa_shortcode,
                    passkey=own.passkey,
                    party_b=None,
                )
            )
        values = gateway_secrets(operator, key).get(name)
        if values is None:
            return self._installation(name)
        return self._other(name, values)

    @cached_property
    def _installation_gateways(self) -> dict[str, CollectionGateway]:
        s = self.settings
        return {
            MPESA: MpesaCollections(self.gateway, s.mpesa_query_first_delay),
            IOTEC: self._other(IOTEC, {}),
            CAMPAY: self._other(CAMPAY, {}),
        }

    def _installation(self, name: str) -> CollectionGateway:
        return self._installation_gateways[name]

    def _mpesa(self, config: DarajaConfig) -> CollectionGateway:
        client = DarajaClient(config, RedisTokenCache(self.redis))
        return MpesaCollections(client, self.settings.mpesa_query_first_delay)

    def _other(self, name: str, own: dict[str, str]) -> CollectionGateway:
        """ioTec or CamPay with an operator's own credentials over the installation's."""
        s = self.settings
        cache = RedisTokenCache(self.redis)
        if name == IOTEC:
            iotec = IotecConfig(
                base_url=s.iotec_base_url,
                token_url=s.iotec_token_url,
                client_id=own.get("client_id", s.iotec_client_id),
                client_secret=own.get("client_secret", s.iotec_client_secret),
                wallet_id=own.get("wallet_id", s.iotec_wallet_id),
                currency=s.iotec_currency,
                ipn_header=s.iotec_ipn_header,
                ipn_secret=own.get("ipn_secret", s.iotec_ipn_secret),
                timeout=s.iotec_timeout,
            )
            return IotecClient(iotec, cache, s.payment_query_first_delay)
        campay = CampayConfig(
            base_url=s.campay_base_url,
            username=own.get("username", s.campay_username),
            password=own.get("password", s.campay_password),
            webhook_key=own.get("webhook_key", s.campay_webhook_key),
            webhook_max_age=s.campay_webhook_max_age,
            timeout=s.campay_timeout,
        )
        return CampayClient(campay, cache, s.payment_query_first_delay)

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
