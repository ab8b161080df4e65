"""Forgetting cleartext passwords after HOTSPOT_CLEARTEXT_RETENTION (see hotspot/retention.py)."""

from __future__ import annotations

import datetime as dt

from hotspot.db import transaction
from hotspot.retention import forget_passwords
from jobs import services


def forget_old_passwords() -> str:
    s = services()
    retention = dt.timedelta(seconds=s.settings.cleartext_retention)
    with transaction(s.sessions) as session:
        return str(forget_passwords(session, retention))
