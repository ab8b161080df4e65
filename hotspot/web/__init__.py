"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import NotFound, TooManyRequests
from werkzeug.routing import BaseConverter, IntegerConverter

from hotspot.models import INT32_MAX, INT64_MAX
from hotspot.notify import Notifier
from hotspot.payments import Gateway
from hotspot.ratelimit import Limit, hit
from hotspot.services import Services
from hotspot.settings import Settings


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


def gateway() -> Gateway:
    return services().gateway


def rate_limit(name: str, subject: str, setting: str) -> None:
    """429 with Retry-After once `subject` (a phone, an IP) used up its attempts."""
    wait = hit(services().redis, name, subject, Limit.parse(setting))
    if wait is not None:
        raise TooManyRequests(f"too many attempts; try again in {wait} s", retry_after=wait)


def client_ip() -> str:
    return request.remote_addr or "unknown"
