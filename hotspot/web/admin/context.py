"""What an admin handler needs around its one use case: who acts, the time, and running what the
change left for after its commit."""

from __future__ import annotations

import datetime as dt

from hotspot.operators.actor import Actor
from hotspot.operators.followups import Followups, run_followups
from hotspot.web import notifier
from hotspot.web.auth import caller


def actor() -> Actor:
    """The token's name (the audit log's actor) and the operator it acts for."""
    return caller().actor


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def finish(followups: Followups) -> None:
    run_followups(followups, notifier())
