"""Accounting sync: what FreeRADIUS wrote to `radacct` becomes our sessions, usage and data caps.

FreeRADIUS writes `radacct` with the stock queries (Start inserts, Interim-Update and Stop update,
Accounting-On/Off close every open row of a NAS). One sync reads two kinds of rows, neither by
scanning the history, however large `radacct` grows:

- Stamped rows, through the index on `radacct.sync_seq`: those inserted or closed since the last
  sync. An inserted row takes the next value of the sequence `radacct_sync_seq` (the column's
  default; the stock queries never list the column), and an update that leaves a row closed (a
  Stop, Accounting-On/Off, the stale sweep, a late Stop rewriting a closed row) is stamped by the
  trigger `radacct_sync_seq_closed`, whose `WHEN (NEW.acctstoptime IS NOT NULL)` is false for
  open rows.
- Open rows (`acctstoptime IS NULL`, through the stock partial indexes) that differ from what our
  session of them holds: their Interim-Updates. An Interim-Update changes no indexed column of
  radacct (it can be a HOT update, as on the stock schema) and calls no trigger, so the sync
  costs it nothing (bench/accounting compares FreeRADIUS's throughput on our schema and on the
  stock one); looking at every open row costs the sync about 30 ms per 10,000 open sessions.

Processing is state-based, so reading a row twice is harmless: our `radius_sessions` row takes
radacct's current values, and usage is the difference between radacct's 64-bit totals and the
totals we stored last time (never negative). A second run over the same rows finds nothing to
add. Everything is a handful of set-based statements over a temporary table holding the batch.

The watermark and commit order
------------------------------
`sync_seq` is handed out when a row is written, not when it is committed: a writer may hold
seq 100 uncommitted while seq 101 is already committed and visible. Moving the watermark to 101
would skip 100 for ever. So a sync (in a READ COMMITTED transaction, PostgreSQL's default):

1. locks its `sync_watermarks` row (syncs run one at a time) and reads the position W;
2. closes stale sessions in `radacct` (our own writes, visible to us);
3. reads the sequence's current value H;
4. waits until every *other* transaction that held `RowExclusiveLock` on `radacct` at step 4 has
   ended. Any row stamped with a seq <= H was stamped by a transaction that either committed
   before step 4 or held that lock then (the lock is taken when the INSERT or UPDATE statement
   starts, before the column default or the trigger asks for a seq, and released only after the
   commit is visible), so once they are gone every seq <= H is settled: committed, and visible
   to our next statement, or rolled back. FreeRADIUS writes with single-statement transactions,
   so this usually waits for nothing or a few milliseconds;
5. reads, in one statement, the rows with W < sync_seq <= H (at most `batch_size`, in seq order)
   and, to fill the batch, open rows that changed (below); then moves the watermark to H, or to
   the last seq read when the stamped rows filled the batch.

Transactions that start writing after step 4 get seqs above H and are read next time. If a writer
is still running after `settle_timeout` (an operator's transaction left open), the visible rows are
processed anyway but the watermark stays where it was (`held_back` in the result, and a warning)
and the next sync reads them again: nothing is skipped and nothing is counted twice, but while
the writer stays open a backlog beyond one batch waits. Unlike an overlap re-read or a time-based
safety margin, this needs no guess about how long a writer may take.

Open rows need no watermark: every sync compares each open row's committed state with ours, so an
Interim-Update committed after step 5 is seen by the next sync, whatever order writers commit
in, and one still uncommitted is simply not seen yet. An applied row no longer differs, so the
rows left over from a full batch are read by the next. Nothing an open row went through is lost:
it is compared only once we have its session, that is once its insert (stamped) was read, with
the values it had then; and when it closes, the closing update is stamped, so the row is read
past the watermark with its final totals. A row among this batch's stamped rows is not read again
among the open ones.

Accounting-On/Off
-----------------
The stock query closes every open radacct row of that NAS (cause NAS-Reboot), which stamps them
with new seqs: our sessions follow like after any Stop.

Stale sessions
--------------
An open radacct row not heard of (acctupdatetime, else acctstarttime) for more than
2 x interim interval + grace is closed in radacct (acctstoptime = that last time, cause
`Stale-Session`) and then, through the normal path, in ours. A Stop arriving later finds no open
row, so the stock queries rewrite the closed row (their last Stop query has no
`acctstoptime IS NULL`): that stamps it again, and its time, cause and final totals reach ours.
The sweep's `acctstoptime IS NULL` lets it use the partial indexes on open rows
(radacct_bulk_close, radacct_active_user_idx): it costs one look at each open row (about 5 ms for
10,000), never a scan of the history. An index on
``(COALESCE(acctupdatetime, acctstarttime)) WHERE acctstoptime IS NULL`` would make it look at the
stale rows only, but every Start and Interim-Update would then pay for one more index entry
(bench/accounting measures both).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from hotspot.access.accounting_batch import apply_batch, attach_pending, load_batch
from hotspot.access.devices import remember_devices
from hotspot.access.quotas import over_quota_in_batch
from hotspot.access.termination import STALE_CAUSE

log = logging.getLogger(__name__)

WATERMARK = "radacct"
SETTLE_POLL = 0.002  # seconds between looks at writers still running


@dataclass(frozen=True)
class SyncResult:
    rows_read: int  # stamped radacct rows read past the watermark (ours or not)
    open_rows_read: int  # open radacct rows read because they differed from our session
    sessions_created: int  # radius_sessions rows created for sessions with no pending purchase
    sessions_attached: int  # pending sessions (from a purchase) that got their radacct row
    sessions_updated: int  # existing sessions (attached ones included) whose stored state changed
    sessions_closed: int  # sessions that became closed
    stale_closed: int  # open radacct rows closed as Stale-Session
    bytes_added: int  # added to hotspot_users.data_used_bytes (and data_usage_logs)
    capped_user_ids: tuple[int, ...]  # usage grew to or past the data cap, yet active or online
    over_quota_user_ids: tuple[int, ...]  # online with nothing left of a usage or daily quota
    watermark: int  # the new position
    more: bool  # the batch was full and changed rows may wait: sync again
    held_back: bool  # a radacct writer was still running: the watermark was not moved


def stale_cutoff(now: dt.datetime, *, interim_interval: int, stale_grace: int) -> dt.datetime:
    """Open sessions last heard of before this are stale: two interims missed, plus grace."""
    return now - dt.timedelta(seconds=2 * interim_interval + stale_grace)


def sync_accounting(
    session: Session,
    *,
    now: dt.datetime,
    interim_interval: int,
    stale_grace: int,
    batch_size: int = 5000,
    settle_timeout: float = 2.0,
    timezone: str = "UTC",
) -> SyncResult:
    """One batch of radacct changes into our tables, in the caller's (READ COMMITTED) transaction.

    A batch holds `batch_size` rows, stamped ones first, and one more open row if there is one
    (so that `more` needs no second look). The caller commits; until then the watermark row stays
    locked, so syncs never overlap. While `more` is true in the result, the caller should sync
    again (in a new transaction).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    position = lock_watermark(session)
    stale = close_stale_sessions(
        session, stale_cutoff(now, interim_interval=interim_interval, stale_grace=stale_grace)
    )
    horizon = max(position, sequence_position(session))
    settled = wait_for_writers(session, settle_timeout)
    if not settled:
        log.warning(
            "accounting sync: a radacct writer ran longer than %.1f s; watermark kept at %d",
            settle_timeout,
            position,
        )
    loaded = load_batch(session, after=position, upto=horizon, limit=batch_size)
    attached = attach_pending(session)
    applied = apply_batch(session, now)
    over_quota = over_quota_in_batch(session, now, timezone)
    remember_devices(session)
    stamped_full = loaded.stamped >= batch_size
    if stamped_full:  # stamped rows may wait past the last one read, and changed open rows
        more = loaded.open > 0 or rows_after(session, loaded.last_seq, horizon)
    else:  # every stamped row was read; open ones may wait if the one beyond the batch came
        more = loaded.stamped + loaded.open > batch_size
    if not settled:
        new_position = position
    elif stamped_full:
        new_position = loaded.last_seq
    else:
        new_position = horizon
    save_watermark(session, new_position, now)
    return SyncResult(
        rows_read=loaded.stamped,
        open_rows_read=loaded.open,
        sessions_created=applied.created,
        sessions_attached=attached,
        sessions_updated=applied.updated,
        sessions_closed=applied.closed,
        stale_closed=stale,
        bytes_added=applied.bytes_added,
        capped_user_ids=applied.capped_user_ids,
        over_quota_user_ids=over_quota,
        watermark=new_position,
        more=more,
        held_back=not settled,
    )


# --- the watermark's steps (the batch's own are in accounting_batch) -------------------------


def lock_watermark(session: Session) -> int:
    session.execute(
        text(
            "INSERT INTO sync_watermarks (name, position) VALUES (:name, 0) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"name": WATERMARK},
    )
    position, isolation = session.execute(
        text(
            "SELECT position, current_setting('transaction_isolation') "
            "FROM sync_watermarks WHERE name = :name FOR UPDATE"
        ),
        {"name": WATERMARK},
    ).one()
    if isolation != "read committed":
        # A snapshot older than the wait for writers could miss rows the watermark then skips.
        raise RuntimeError(f"the accounting sync needs READ COMMITTED, not {isolation}")
    return int(position)


def close_stale_sessions(session: Session, cutoff: dt.datetime) -> int:
    """Closes open radacct rows unheard of since `cutoff`; returns how many."""
    statement = text(
        """
        UPDATE radacct SET
            acctstoptime = COALESCE(acctupdatetime, acctstarttime),
            acctsessiontime = COALESCE(
                acctsessiontime,
                EXTRACT(EPOCH FROM COALESCE(acctupdatetime, acctstarttime) - acctstarttime)
            )::bigint,
            acctterminatecause = :cause
        WHERE acctstoptime IS NULL
          AND COALESCE(acctupdatetime, acctstarttime) < :cutoff
        """
    )
    result = cast(
        "CursorResult[Any]", session.execute(statement, {"cause": STALE_CAUSE, "cutoff": cutoff})
    )
    return result.rowcount


def sequence_position(session: Session) -> int:
    """The last sync_seq handed out (by anyone, committed or not)."""
    return int(
        session.execute(
            text(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                "FROM radacct_sync_seq"
            )
        ).scalar_one()
    )


_WRITERS = """
    SELECT COALESCE(array_agg(DISTINCT virtualtransaction), '{}')
    FROM pg_locks
    WHERE locktype = 'relation'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND relation = 'radacct'::regclass
      AND mode = 'RowExclusiveLock'
      AND granted
      AND pid IS DISTINCT FROM pg_backend_pid()
"""


def wait_for_writers(session: Session, timeout: float) -> bool:
    """Waits for the transactions writing radacct now (not later ones) to end; False on timeout."""
    writers: list[str] = list(session.execute(text(_WRITERS)).scalar_one())
    deadline = time.monotonic() + timeout
    while writers:
        if time.monotonic() >= deadline:
            return False
        time.sleep(SETTLE_POLL)
        writers = list(
            session.execute(
                text(_WRITERS + " AND virtualtransaction = ANY(:writers)"), {"writers": writers}
            ).scalar_one()
        )
    return True


def rows_after(session: Session, position: int, horizon: int) -> bool:
    """Whether stamped rows wait between `position` and `horizon` (a full batch may be all)."""
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM radacct WHERE sync_seq > :p AND sync_seq <= :h)"),
            {"p": position, "h": horizon},
        ).scalar_one()
    )


def save_watermark(session: Session, position: int, now: dt.datetime) -> None:
    session.execute(
        text("UPDATE sync_watermarks SET position = :p, updated_at = :now WHERE name = :name"),
        {"p": position, "now": now, "name": WATERMARK},
    )
