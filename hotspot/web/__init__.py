"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

from typing import cast

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from hotspot.notify import Notifier
from hotspot.payments import Gateway
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
