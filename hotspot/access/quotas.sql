-- What is left of a package's quotas, the one definition FreeRADIUS (sites/hotspot, at every
-- login) and the accounting sync (hotspot/access/quotas.py, for sessions online) both run.
-- FreeRADIUS's database role may read none of the tables they read (hotspot_users holds phones):
-- they run as their owner (SECURITY DEFINER, with a search_path of their own) and answer only a
-- number about the one account named. Loaded by migration 0011; change it only with a migration
-- that loads it again.

-- The last local midnight at or before `p_now` in `p_timezone`.
CREATE OR REPLACE FUNCTION hotspot_day_start(p_now timestamptz, p_timezone text)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('day', p_now AT TIME ZONE p_timezone) AT TIME ZONE p_timezone
$$;

-- Usage-time packages (packages.time_quota_seconds): seconds of the quota left, counted from
-- radacct (each session's Acct-Session-Time, its part since the purchase: `usage_since`, else
-- since the account was made); NULL for a package without one. The sessions are the user's open
-- ones and those that closed since, each read through its partial index (radacct_active_user_idx,
-- radacct_username_stop_idx: migration 0022), never the user's whole history.
CREATE OR REPLACE FUNCTION hotspot_time_left(p_username text, p_now timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN p.time_quota_seconds IS NULL THEN NULL ELSE
        GREATEST(0, p.time_quota_seconds - COALESCE((
            SELECT sum(GREATEST(0, EXTRACT(epoch FROM
                       LEAST(r.acctstarttime + make_interval(secs => COALESCE(r.acctsessiontime, 0)),
                             p_now)
                       - GREATEST(r.acctstarttime, COALESCE(u.usage_since, u.created_at)))))
              FROM (SELECT acctstarttime, acctsessiontime FROM radacct
                     WHERE username = u.username AND acctstoptime IS NULL
                     UNION ALL
                    SELECT acctstarttime, acctsessiontime FROM radacct
                     WHERE username = u.username
                       AND acctstoptime > COALESCE(u.usage_since, u.created_at)) r
             WHERE r.acctstarttime IS NOT NULL
        ), 0))::bigint
    END
      FROM hotspot_users u
      JOIN packages p ON p.id = u.package_id
     WHERE u.username = p_username
$$;

-- Daily-data packages (packages.daily_data_bytes): bytes left today, the day starting at
-- midnight in `p_timezone` (HOTSPOT_TIMEZONE), counted from the synced usage (data_usage_logs);
-- NULL for a package without one.
CREATE OR REPLACE FUNCTION hotspot_data_left_today(
    p_username text, p_timezone text, p_now timestamptz DEFAULT now()
) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN p.daily_data_bytes IS NULL THEN NULL ELSE
        GREATEST(0, p.daily_data_bytes - COALESCE((
            SELECT sum(l.input_octets_delta + l.output_octets_delta)
              FROM data_usage_logs l
             WHERE l.user_id = u.id
               AND l.recorded_at >= hotspot_day_start(p_now, p_timezone)
        ), 0))::bigint
    END
      FROM hotspot_users u
      JOIN packages p ON p.id = u.package_id
     WHERE u.username = p_username
$$;
