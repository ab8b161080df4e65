"""The periodic accounting sync: radacct → sessions, data usage and data caps."""

from __future__ import annotations

import datetime as dt
import time
from typing import TypedDict

from sqlalchemy import text

from hotspot.access.accounting import SyncResult, sync_accounting
from hotspot.adapters.db import transaction
from jobs import services
from jobs.expiry import disconnect_users, enforce_data_caps


class SyncSummary(TypedDict):
    """What one run did: `SyncResult` counts summed over its batches."""

    rows_read: int  # stamped radacct rows (inserted or closed) read past the watermark
    open_rows_read: int  # open radacct rows read because they changed (Interim-Updates)
    sessions_created: int
    sessions_attached: int
    sessions_updated: int
    sessions_closed: int
    stale_closed: int
    bytes_added: int
    batches: int
    watermark: int
    more: bool  # still behind when the run's time was up
    held_back: bool  # a radacct writer stayed open: the watermark waits for it
    capped_user_ids: list[int]  # at their data cap yet active or online: to block and disconnect
    over_quota_user_ids: list[int]  # online with a quota used up: to disconnect


def sync_accounting_job() -> SyncSummary:
    """Syncs what changed since the last run, one committed transaction per batch.

    A backlog larger than one batch (the first run over an old radacct, a burst of interims) is
    worked off batch after batch, for at most one sync interval so runs do not pile up. Returns
    the summed counts, the new watermark and the ids of users at their data cap who are still
    active or online (to be blocked and disconnected).
    """
    s = services()
    budget = time.monotonic() + s.settings.accounting_sync_interval
    results: list[SyncResult] = []
    while True:
        with transaction(s.sessions) as session:
            # Everything a sync writes is derived from radacct and commits with the watermark:
            # a commit lost in a crash is simply redone by the next sync, so don't wait for it
            # to reach the disk.
            session.execute(text("SET LOCAL synchronous_commit = off"))
            result = sync_accounting(
                session,
                now=dt.datetime.now(dt.UTC),
                interim_interval=s.settings.acct_interim_interval,
                stale_grace=s.settings.stale_session_grace,
                timezone=s.settings.timezone,
            )
        results.append(result)
        if not result.more or result.held_back or time.monotonic() >= budget:
            break
    done = summary(results)
    # For NASes that ignore Mikrotik-Total-Limit: block and disconnect whoever used its cap.
    enforce_data_caps(done["capped_user_ids"])
    # And whoever used up its hours or today's data (FreeRADIUS refuses its next login itself).
    disconnect_users(done["over_quota_user_ids"], "quota")
    return done


def summary(results: list[SyncResult]) -> SyncSummary:
    last = results[-1]
    return SyncSummary(
        rows_read=sum(r.rows_read for r in results),
        open_rows_read=sum(r.open_rows_read for r in results),
        sessions_created=sum(r.sessions_created for r in results),
        sessions_attached=sum(r.sessions_attached for r in results),
        sessions_updated=sum(r.sessions_updated for r in results),
        sessions_closed=sum(r.sessions_closed for r in results),
        stale_closed=sum(r.stale_closed for r in results),
        bytes_added=sum(r.bytes_added for r in results),
        batches=len(results),
        watermark=last.watermark,
        more=last.more,
        held_back=any(r.held_back for r in results),
        capped_user_ids=sorted({user_id for r in results for user_id in r.capped_user_ids}),
        over_quota_user_ids=sorted({u for r in results for u in r.over_quota_user_ids}),
    )
