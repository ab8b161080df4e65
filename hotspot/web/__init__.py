"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

import hmac
from typing import cast

from flask import abort, current_app, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import TooManyRequests

from hotspot.notify import Notifier
from hotspot.payments import Gateway
from hotspot.ratelimit import Limit, hit
from hotspot.services import Services
from hotspot.settings import Settings


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


def check_path_token(given: str, expected: str) -> None:
    """404 unless `given` is the secret path segment `expected`: compared in constant time, as
    UTF-8 bytes, since a URL may carry any text (compare_digest refuses non-ASCII str)."""
    if not hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode()):
        abort(404)
