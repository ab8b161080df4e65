"""Cleartext passwords forgotten after HOTSPOT_CLEARTEXT_RETENTION (hotspot/access/retention.py)."""

from __future__ import annotations

import datetime as dt

from hotspot.access.retention import forget_passwords
from hotspot.adapters.db import transaction
from jobs import services


def forget_old_passwords() -> str:
    s = services()
    retention = dt.timedelta(seconds=s.settings.cleartext_retention)
    with transaction(s.sessions) as session:
        return str(forget_passwords(session, retention))
