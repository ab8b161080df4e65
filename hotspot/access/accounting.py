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

log = logging.getLogger(__name__)

WATERMARK = "radacct"
STALE_CAUSE = "Stale-Session"
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
# Whether updating our session `s` from the batch row `b` would change it.
SESSION_DIFFERS = (
    f"({', '.join(f's.{column}' for column, _, _ in SESSION_COLUMNS)}) "
    f"IS DISTINCT FROM ({', '.join(value for _, value, _ in SESSION_COLUMNS)})"
)

# radacct's columns the sync reads.
RADACCT_COLUMNS = (
    "sync_seq, acctuniqueid, acctsessionid, username, nasipaddress, framedipaddress, "
    "callingstationid, nasportid, acctterminatecause, acctstarttime, acctupdatetime, "
    "acctstoptime, acctinputoctets, acctoutputoctets"
)

# A batch row from `r` (a radacct row) and `s` (our session of it, if any), named as in the batch
# table, so that SESSION_COLUMNS' values (over `b`) read the same whether from the batch or not.
BATCH_ROW = """
    r.sync_seq AS sync_seq,
    r.acctuniqueid AS acct_unique_id,
    r.acctsessionid AS acct_session_id,
    r.nasipaddress AS nas_ip,
    r.framedipaddress AS framed_ip,
    NULLIF(r.callingstationid, '') AS mac,
    NULLIF(r.nasportid, '') AS nas_port_id,
    NULLIF(r.acctterminatecause, '') AS terminate_cause,
    r.acctstarttime AS started_at,
    r.acctstoptime AS stopped_at,
    COALESCE(r.acctupdatetime, r.acctstarttime) AS last_update_at,
    COALESCE(r.acctinputoctets, 0) AS input_octets,
    COALESCE(r.acctoutputoctets, 0) AS output_octets,
    CAST(CASE WHEN r.acctstoptime IS NULL THEN 'active' ELSE 'closed' END AS session_status)
        AS status,
    COALESCE(s.user_id, (SELECT u.id FROM hotspot_users u WHERE u.username = r.username))
        AS user_id,
    s.id AS session_id,
    s.status AS old_status,
    COALESCE(s.input_octets, 0) AS old_input,
    COALESCE(s.output_octets, 0) AS old_output
"""


# The stamped rows past the watermark, then, to fill the batch and one more, open rows (through
# the partial indexes on `acctstoptime IS NULL`) whose session would change, other than the
# stamped ones. Applied, an open row no longer differs: the next batch reads others.
LOAD_BATCH = f"""
    WITH stamped AS MATERIALIZED (
        SELECT {RADACCT_COLUMNS}
        FROM radacct
        WHERE sync_seq > :after AND sync_seq <= :upto
        ORDER BY sync_seq
        LIMIT :limit
    )
    INSERT INTO acct_sync_batch
    SELECT true, {BATCH_ROW}
    FROM stamped r
    LEFT JOIN radius_sessions s ON s.acct_unique_id = r.acctuniqueid
    UNION ALL
    (
        SELECT false, b.*
        FROM radacct r
        JOIN radius_sessions s ON s.acct_unique_id = r.acctuniqueid
        CROSS JOIN LATERAL (SELECT {BATCH_ROW}) b
        WHERE r.acctstoptime IS NULL
          AND r.acctuniqueid NOT IN (SELECT acctuniqueid FROM stamped)
          AND {SESSION_DIFFERS}
        LIMIT (SELECT :limit + 1 - count(*) FROM stamped)
    )
"""  # noqa: S608


@dataclass(frozen=True)
class Loaded:
    stamped: int  # rows read past the watermark
    open: int  # open rows read because they changed
    last_seq: int  # the highest sync_seq among the stamped rows (0: none)


def load_batch(session: Session, *, after: int, upto: int, limit: int) -> Loaded:
    """The rows to sync, with our user and session when we have them, into `acct_sync_batch`.

    Stamped rows past the watermark (at most `limit`, in seq order), then open rows whose
    session `apply_batch` would change (its own test, so a row applied is not read again until it
    changes again) up to `limit` + 1 rows in all. One statement: one snapshot for both.
    """
    session.execute(text("DROP TABLE IF EXISTS pg_temp.acct_sync_batch"))
    session.execute(
        text(
            """
            CREATE TEMPORARY TABLE acct_sync_batch (
                stamped boolean NOT NULL,
                sync_seq bigint,
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
    session.execute(text(LOAD_BATCH), {"after": after, "upto": upto, "limit": limit})
    # A fresh temporary table has no statistics: without those of the join keys, the planner
    # takes the batch for a handful of rows and picks nested loops over whole tables.
    session.execute(text("ANALYZE acct_sync_batch (session_id, user_id)"))
    stamped, changed, last = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE stamped), count(*) FILTER (WHERE NOT stamped), "
            "COALESCE(max(sync_seq) FILTER (WHERE stamped), 0) FROM acct_sync_batch"
        )
    ).one()
    return Loaded(int(stamped), int(changed), int(last))


def rows_after(session: Session, position: int, horizon: int) -> bool:
    """Whether stamped rows wait between `position` and `horizon` (a full batch may be all)."""
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


# Built once from the constants above; no value is ever formatted into SQL.
APPLY_BATCH = f"""
    WITH updated AS (
        UPDATE radius_sessions s SET
            {", ".join(f"{column} = {value}" for column, value, _ in SESSION_COLUMNS)}
        FROM acct_sync_batch b
        WHERE s.id = b.session_id
          AND {SESSION_DIFFERS}
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
