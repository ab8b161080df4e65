"""rq jobs: small functions taking ids, safe to run twice. The schedule lives in `jobs.schedule`."""

from __future__ import annotations

from functools import cache

from hotspot.core.settings import Settings
from hotspot.services import Services


@cache
def services() -> Services:
    """Built once per worker process from the environment, like the API's."""
    return Services(Settings.from_env())
