"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

from typing import cast

from flask import current_app, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import TooManyRequests

from hotspot.notify import Notifier
from hotspot.payments import Gateway
from hotspot.ratelimit import Limit
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
    wait = services().limiter.hit(name, subject, Limit.parse(setting))
    if wait is not None:
        raise TooManyRequests(f"too many attempts; try again in {wait} s", retry_after=wait)


def client_ip() -> str:
    return request.remote_addr or "unknown"
