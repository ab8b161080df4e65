"""Refreshing the operator reports' daily rollups (closed days; see docs/reports.md)."""

from __future__ import annotations

from hotspot.adapters.db import transaction
from hotspot.reports.queries import refresh_rollups
from jobs import services


def refresh_reports() -> str:
    with transaction(services().sessions) as session:
        return str(refresh_rollups(session))
