"""HTTP layer: blueprints parse input, call one domain function, serialize the result."""

from __future__ import annotations

from typing import cast

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from hotspot.settings import Settings


def settings() -> Settings:
    return cast(Settings, current_app.extensions["hotspot"]["settings"])


def sessions() -> sessionmaker[Session]:
    return cast(sessionmaker[Session], current_app.extensions["hotspot"]["sessions"])
