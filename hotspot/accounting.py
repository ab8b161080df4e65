"""Accounting sync: what FreeRADIUS wrote to `radacct` becomes our sessions, usage and data caps.

FreeRADIUS writes `radacct` with the stock queries (Start inserts, Interim-Update and Stop update,
Accounting-On/Off close every open row of a NAS). A trigger stamps every inserted or updated row
with the next value of the sequence `radacct_sync_seq`, so one sync reads only the rows changed
since the last one, through the index on `radacct.sync_seq`, however large `radacct` grows.

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
   before step 4 or held that lock then (the lock is taken before the trigger runs and released
   only after the commit is visible), so once they are gone every seq <= H is settled:
   committed, and visible to our next statement, or rolled back. FreeRADIUS writes with
   single-statement transactions, so this usually waits for nothing or a few milliseconds;
5. reads the rows with W < sync_seq <= H (at most `batch_size`, in seq order) and moves the
   watermark to H, or to the last seq read when the batch was full.

Transactions that start writing after step 4 get seqs above H and are read next time. If a writer
is still running after `settle_timeout` (an operator's transaction left open), the visible rows are
processed anyway but the watermark stays where it was (`held_back` in the result, and a warning)
and the next sync reads them again: nothing is skipped and nothing is counted twice, but while
the writer stays open a backlog beyond one batch waits. Unlike an overlap re-read or a time-based
safety margin, this needs no guess about how long a writer may take.

Accounting-On/Off
-----------------
The stock query closes every open radacct row of that NAS (cause NAS-Reboot), which stamps them
with new seqs: our sessions follow like after any Stop.

Stale sessions
--------------
An open radacct row not heard of (acctupdatetime, else acctstarttime) for more than
2 x interim interval + grace is closed in radacct (acctstoptime = that last time, cause
`Stale-Session`) and then, through the normal path, in ours. A Stop arriving later finds no open
row, so the stock queries keep the stale values. The sweep's `acctstoptime IS NULL` lets it use
the partial indexes on open rows (radacct_bulk_close, radacct_active_user_idx): it costs one look
at each open row (about 5 ms for 10,000), never a scan of the history. An index on
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

log = logging.getLogger(__name__)

WATERMARK = "radacct"
STALE_CAUSE = "Stale-Session"
SETTLE_POLL = 0.002  # seconds between looks at writers still running


@dataclass(frozen=True)
class SyncResult:
    rows_read: int  # radacct rows read past the watermark (ours or not)
    sessions_created: int  # radius_sessions rows created for sessions with no pending purchase
    sessions_attached: int  # pending sessions (from a purchase) that got their radacct row
    sessions_updated: int  # existing sessions (attached ones included) whose stored state changed
    sessions_closed: int  # sessions that became closed
    stale_closed: int  # open radacct rows closed as Stale-Session
    bytes_added: int  # added to hotspot_users.data_used_bytes (and data_usage_logs)
    capped_user_ids: tuple[int, ...]  # usage grew to or past the data cap, yet active or online
    watermark: int  # the new position
    more: bool  # more changed rows wait past the new watermark (the batch was full)
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
) -> SyncResult:
    """One batch of radacct changes into our tables, in the caller's (READ COMMITTED) transaction.

    The caller commits; until then the watermark row stays locked, so syncs never overlap. While
    `more` is true in the result, the caller should sync again (in a new transaction).
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
    rows_read, last_seq = load_batch(session, after=position, upto=horizon, limit=batch_size)
    attached = attach_pending(session)
    applied = apply_batch(session, now)
    more = rows_read >= batch_size and rows_after(session, last_seq, horizon)
    if not settled:
        new_position = position
    elif more:
        new_position = last_seq
    else:
        new_position = horizon
    save_watermark(session, new_position, now)
    return SyncResult(
        rows_read=rows_read,
        sessions_created=applied.created,
        sessions_attached=attached,
        sessions_updated=applied.updated,
        sessions_closed=applied.closed,
        stale_closed=stale,
        bytes_added=applied.bytes_added,
        capped_user_ids=applied.capped_user_ids,
        watermark=new_position,
        more=more,
        held_back=not settled,
    )


# --- the steps, in order ---------------------------------------------------------------------


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


def load_batch(session: Session, *, after: int, upto: int, limit: int) -> tuple[int, int]:
    """The changed rows, with our user and session when we have them, into `acct_sync_batch`.

    Returns how many rows were read and the highest sync_seq among them.
    """
    session.execute(text("DROP TABLE IF EXISTS pg_temp.acct_sync_batch"))
    session.execute(
        text(
            """
            CREATE TEMPORARY TABLE acct_sync_batch (
                sync_seq bigint NOT NULL,
                acct_unique_id text NOT NULL,
                acct_session_id text,
                nas_ip inet,
                framed_ip inet,
                mac text,
                nas_port_id text,
                terminate_cause text,
                started_at timestamptz,
                stopped_at timestamptz,
                last_update_at timestamptz,
                input_octets bigint NOT NULL,
                output_octets bigint NOT NULL,
                status session_status NOT NULL,
                user_id bigint,
                session_id bigint,
                old_status session_status,
                old_input bigint NOT NULL,
                old_output bigint NOT NULL
            ) ON COMMIT DROP
            """
        )
    )
    session.execute(
        text(
            """
            INSERT INTO acct_sync_batch
            SELECT r.sync_seq, r.acctuniqueid, r.acctsessionid, r.nasipaddress,
                   r.framedipaddress, NULLIF(r.callingstationid, ''), NULLIF(r.nasportid, ''),
                   NULLIF(r.acctterminatecause, ''), r.acctstarttime, r.acctstoptime,
                   COALESCE(r.acctupdatetime, r.acctstarttime),
                   COALESCE(r.acctinputoctets, 0), COALESCE(r.acctoutputoctets, 0),
                   CAST(CASE WHEN r.acctstoptime IS NULL THEN 'active' ELSE 'closed' END
                        AS session_status),
                   COALESCE(s.user_id,
                            (SELECT u.id FROM hotspot_users u WHERE u.username = r.username)),
                   s.id, s.status,
                   COALESCE(s.input_octets, 0), COALESCE(s.output_octets, 0)
            FROM (
                SELECT sync_seq, acctuniqueid, acctsessionid, username, nasipaddress,
                       framedipaddress, callingstationid, nasportid, acctterminatecause,
                       acctstarttime, acctupdatetime, acctstoptime, acctinputoctets,
                       acctoutputoctets
                FROM radacct
                WHERE sync_seq > :after AND sync_seq <= :upto
                ORDER BY sync_seq
                LIMIT :limit
            ) r
            LEFT JOIN radius_sessions s ON s.acct_unique_id = r.acctuniqueid
            """
        ),
        {"after": after, "upto": upto, "limit": limit},
    )
    # A fresh temporary table has no statistics: without those of the join keys, the planner
    # takes the batch for a handful of rows and picks nested loops over whole tables.
    session.execute(text("ANALYZE acct_sync_batch (session_id, user_id)"))
    count, last = session.execute(
        text("SELECT count(*), COALESCE(max(sync_seq), 0) FROM acct_sync_batch")
    ).one()
    return int(count), int(last)


def rows_after(session: Session, position: int, horizon: int) -> bool:
    """Whether changed rows wait between `position` and `horizon` (a full batch may be all)."""
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM radacct WHERE sync_seq > :p AND sync_seq <= :h)"),
            {"p": position, "h": horizon},
        ).scalar_one()
    )


def attach_pending(session: Session) -> int:
    """Points each new radacct session of our users at a pending session, where there is one.

    A user's new sessions, oldest first, take the user's pending sessions (made at purchase, no
    radacct row yet), oldest first; the rest will get new rows. Only the batch table is written
    here: each session row is then written once, by `apply_batch`. Returns how many attached.
    """
    attached = session.execute(
        text(
            """
            WITH fresh AS (
                SELECT acct_unique_id, user_id,
                       row_number() OVER (
                           PARTITION BY user_id ORDER BY started_at NULLS LAST, sync_seq
                       ) AS rn
                FROM acct_sync_batch
                WHERE session_id IS NULL AND user_id IS NOT NULL
            ), pending AS (
                SELECT p.id, p.user_id, p.status, p.input_octets, p.output_octets,
                       row_number() OVER (PARTITION BY p.user_id ORDER BY p.created_at, p.id) AS rn
                FROM (SELECT DISTINCT user_id FROM fresh) f
                JOIN radius_sessions p ON p.user_id = f.user_id AND p.status = 'pending'
                WHERE p.acct_unique_id IS NULL
            ), matched AS (
                UPDATE acct_sync_batch b
                SET session_id = pending.id, old_status = pending.status,
                    old_input = pending.input_octets, old_output = pending.output_octets
                FROM fresh JOIN pending USING (user_id, rn)
                WHERE b.acct_unique_id = fresh.acct_unique_id
                RETURNING 1
            )
            SELECT count(*) FROM matched
            """
        )
    ).scalar_one()
    return int(attached)


# What each synced column of radius_sessions becomes: when updated (`s` our row, `b` the batch
# row), and when created. Closed is final in ours: a session another job closed (an acknowledged
# Disconnect-Request) stays closed while radacct waits for the NAS's Stop, whose time, cause and
# counters still come through.
SESSION_COLUMNS = (
    ("acct_unique_id", "b.acct_unique_id", "b.acct_unique_id"),
    ("status", "CASE WHEN s.status = 'closed' THEN s.status ELSE b.status END", "b.status"),
    ("acct_session_id", "b.acct_session_id", "b.acct_session_id"),
    ("nas_ip", "b.nas_ip", "b.nas_ip"),
    ("framed_ip", "b.framed_ip", "b.framed_ip"),
    ("mac", "b.mac", "b.mac"),
    ("nas_port_id", "b.nas_port_id", "b.nas_port_id"),
    ("terminate_cause", "COALESCE(b.terminate_cause, s.terminate_cause)", "b.terminate_cause"),
    ("started_at", "b.started_at", "b.started_at"),
    ("stopped_at", "COALESCE(b.stopped_at, s.stopped_at)", "b.stopped_at"),
    ("last_update_at", "b.last_update_at", "b.last_update_at"),
    ("input_octets", "GREATEST(b.old_input, b.input_octets)", "b.input_octets"),
    ("output_octets", "GREATEST(b.old_output, b.output_octets)", "b.output_octets"),
)
_COLUMNS = ", ".join(column for column, _, _ in SESSION_COLUMNS)

# Built once from the constants above; no value is ever formatted into SQL.
APPLY_BATCH = f"""
    WITH updated AS (
        UPDATE radius_sessions s SET
            {", ".join(f"{column} = {value}" for column, value, _ in SESSION_COLUMNS)}
        FROM acct_sync_batch b
        WHERE s.id = b.session_id
          AND ({", ".join(f"s.{column}" for column, _, _ in SESSION_COLUMNS)})
              IS DISTINCT FROM ({", ".join(value for _, value, _ in SESSION_COLUMNS)})
        RETURNING s.id, s.user_id, s.status, false AS created,
                  GREATEST(b.input_octets - b.old_input, 0) AS input_delta,
                  GREATEST(b.output_octets - b.old_output, 0) AS output_delta,
                  s.status = 'closed' AND b.old_status IS DISTINCT FROM 'closed' AS closed_now
    ), created AS (
        INSERT INTO radius_sessions (user_id, {_COLUMNS})
        SELECT b.user_id, {", ".join(value for _, _, value in SESSION_COLUMNS)}
        FROM acct_sync_batch b
        WHERE b.session_id IS NULL AND b.user_id IS NOT NULL
        RETURNING id, user_id, status, true AS created, input_octets AS input_delta,
                  output_octets AS output_delta, status = 'closed' AS closed_now
    ), changed AS (
        SELECT * FROM updated UNION ALL SELECT * FROM created
    ), logged AS (
        INSERT INTO data_usage_logs
            (session_id, user_id, input_octets_delta, output_octets_delta, recorded_at)
        SELECT id, user_id, input_delta, output_delta, :now
        FROM changed
        WHERE input_delta + output_delta > 0
    ), used AS (
        UPDATE hotspot_users u SET data_used_bytes = u.data_used_bytes + t.added
        FROM (
            SELECT user_id, sum(input_delta + output_delta) AS added
            FROM changed GROUP BY user_id
        ) t
        WHERE u.id = t.user_id AND t.added > 0
        RETURNING u.id, u.status, u.package_id, u.data_used_bytes
    ), capped AS (
        -- Within this statement radius_sessions still reads as before it: a session this
        -- batch changed is judged by its new status in `changed`, any other by its row.
        SELECT used.id
        FROM used JOIN packages p ON p.id = used.package_id
        WHERE used.data_used_bytes >= p.data_cap_bytes
          AND (used.status = 'active'
               OR EXISTS (SELECT 1 FROM changed c
                          WHERE c.user_id = used.id AND c.status = 'active')
               OR EXISTS (SELECT 1 FROM radius_sessions s
                          WHERE s.user_id = used.id AND s.status = 'active'
                            AND s.id NOT IN (SELECT c.id FROM changed c
                                             WHERE c.user_id = used.id)))
    )
    SELECT count(*) FILTER (WHERE NOT created), count(*) FILTER (WHERE created),
           count(*) FILTER (WHERE closed_now), COALESCE(sum(input_delta + output_delta), 0),
           (SELECT COALESCE(array_agg(id ORDER BY id), '{{}}') FROM capped)
    FROM changed
"""  # noqa: S608


@dataclass(frozen=True)
class Applied:
    updated: int
    created: int
    closed: int
    bytes_added: int
    capped_user_ids: tuple[int, ...]


def apply_batch(session: Session, now: dt.datetime) -> Applied:
    """radacct's state into our sessions; usage deltas into data_usage_logs and the users.

    Sessions we know (or just attached) are updated, only where their stored state differs;
    the others of our users are created. The delta is radacct's total minus the total we had
    stored (never negative; a total that went down is not stored either), so a row read twice
    adds nothing.

    Also returns the users whose usage grew to or past their package's data cap and who are
    still `active` or online: reported again at every sync that adds to their usage, until the
    caller blocks them and their sessions end (so a block that failed is retried at the next
    interim update).
    """
    updated, created, closed, added, capped = session.execute(text(APPLY_BATCH), {"now": now}).one()
    return Applied(int(updated), int(created), int(closed), int(added), tuple(capped))


def save_watermark(session: Session, position: int, now: dt.datetime) -> None:
    session.execute(
        text("UPDATE sync_watermarks SET position = :p, updated_at = :now WHERE name = :name"),
        {"p": position, "now": now, "name": WATERMARK},
    )
