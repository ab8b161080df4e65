"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from flask import abort, current_app, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import NotFound, TooManyRequests
from werkzeug.routing import BaseConverter, IntegerConverter

from hotspot.access.portal_status import normalize_mac
from hotspot.access.routers import registered_login
from hotspot.adapters.ratelimit import Limit
from hotspot.billing.callback_tokens import matches_any
from hotspot.billing.gateways import CollectionGateway
from hotspot.billing.notify import Notifier
from hotspot.core.errors import InvalidInputError
from hotspot.core.settings import Settings
from hotspot.models import INT32_MAX, INT64_MAX
from hotspot.services import Services


class Int32Converter(IntegerConverter):
    """`<int32:…>`: the id of an integer column. A larger number names nothing: a 404 here, so it
    never reaches PostgreSQL as an out-of-range value. (Not a ValidationError: werkzeug would
    then answer 405 for the route's other methods.)"""

    maximum = INT32_MAX

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > self.maximum:
            raise NotFound()
        return number


class Int64Converter(Int32Converter):
    """`<int64:…>`: the id of a bigint column."""

    maximum = INT64_MAX


ID_CONVERTERS: dict[str, type[BaseConverter]] = {
    "int32": Int32Converter,
    "int64": Int64Converter,
}


def services() -> Services:
    return cast(Services, current_app.extensions["hotspot"])


def settings() -> Settings:
    return services().settings


def sessions() -> sessionmaker[Session]:
    return services().sessions


def notifier() -> Notifier:
    return services().notifier


def gateway_for(operator_id: int | None, name: str) -> CollectionGateway:
    """A gateway as an operator uses it (hotspot.services.Services.gateway_for)."""
    return services().gateway_for(operator_id, name)


def rate_limit(name: str, subject: str, setting: str) -> None:
    """429 with Retry-After once `subject` (a phone, an IP) used up its attempts."""
    wait = services().limiter.hit(name, subject, Limit.parse(setting))
    if wait is not None:
        raise TooManyRequests(f"too many attempts; try again in {wait} s", retry_after=wait)


def client_ip() -> str:
    """The client's address as rate limits count it: an IPv6 client by its /64, the least a
    subscriber is given, so rotating addresses within it buys no more attempts."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def hotspot_client(body: object) -> str:
    """Who is asking, as the router knows them, for per-client limits: `nas-ID/MAC@IP` when the
    body names the device's `mac` and a registered router's `link_login_only` (customers behind
    one router share its public address), else the client IP. Both are the client's own word,
    so a per-IP ceiling applies too; and the address is part of the key, so someone elsewhere
    who names a customer's MAC uses up only their own attempts, not the customer's."""
    fields = body if isinstance(body, dict) else {}
    mac = device_mac(fields.get("mac"))
    login_url = fields.get("link_login_only")
    if mac is None or not isinstance(login_url, str):
        return client_ip()
    with sessions()() as session:
        router = registered_login(session, login_url)
    return client_ip() if router is None else f"nas-{router.nas_id}/{mac}@{client_ip()}"


def device_mac(value: object) -> str | None:
    try:
        return normalize_mac(value) if isinstance(value, str) else None
    except InvalidInputError:
        return None


def check_path_token(given: str, expected: str) -> None:
    """404 unless `given` is the secret path segment `expected`."""
    if not matches_any(given, [expected.encode()]):
        abort(404)
