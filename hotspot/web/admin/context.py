"""What an admin handler needs around its one use case: who acts, the time, and running what the
change left for after its commit."""

from __future__ import annotations

import datetime as dt

from hotspot.operators.followups import Followups, run_followups
from hotspot.web import notifier, settings
from hotspot.web.auth import operator


def actor() -> str:
    """The audit log's actor: the token's name."""
    return operator().name


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def finish(followups: Followups) -> None:
    run_followups(followups, notifier(), settings().mpesa_query_first_delay)
