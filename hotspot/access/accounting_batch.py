"""One batch of the accounting sync, in SQL: radacct rows into a temporary table, pending
sessions attached to them, then the batch applied to our sessions, usage logs and users.

Where the rows come from and why reading one twice is harmless: `hotspot.access.accounting`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

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
        INSERT INTO data_usage_logs AS l
            (user_id, recorded_at, input_octets_delta, output_octets_delta)
        SELECT user_id, date_trunc('hour', CAST(:now AS timestamptz), 'UTC'),
               sum(input_delta), sum(output_delta)
        FROM changed
        WHERE input_delta + output_delta > 0
        GROUP BY user_id
        ON CONFLICT (user_id, recorded_at) DO UPDATE SET
            input_octets_delta = l.input_octets_delta + EXCLUDED.input_octets_delta,
            output_octets_delta = l.output_octets_delta + EXCLUDED.output_octets_delta
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
    """radacct's state into our sessions; usage deltas into the users and their hour's row of
    data_usage_logs.

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
