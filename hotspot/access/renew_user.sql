-- A renewal, the one definition every writer runs (the general path's extend_user and the
-- one-call settlement of a paid callback): a valid user gets the time added to its expiry, a
-- lapsed one restarts from now; the package's group, a fresh data allowance and usage-time quota
-- (counted from now, `usage_since`) and a fresh password
-- (sessions online stay; a password sniffed or handed on before stops at the next purchase). A
-- capped or expired account is active again; one an operator disabled stays blocked. Returns the
-- new end of validity, to the second. The caller holds the user's row lock. Loaded by migrations
-- 0009 and 0011; change it only with a migration that loads it again.
CREATE OR REPLACE FUNCTION hotspot_renew_user(
    p_user_id bigint, p_package_id int, p_seconds int, p_password text, p_now timestamptz
) RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    u hotspot_users%ROWTYPE;
    pkg packages%ROWTYPE;
    ends timestamptz;
BEGIN
    SELECT * INTO STRICT u FROM hotspot_users WHERE id = p_user_id;
    SELECT * INTO STRICT pkg FROM packages WHERE id = p_package_id;
    ends := date_trunc('second',
        CASE WHEN u.status <> 'expired' AND u.expires_at > p_now THEN u.expires_at ELSE p_now END
        + make_interval(secs => p_seconds));
    UPDATE hotspot_users
       SET expires_at = ends, package_id = pkg.id, data_used_bytes = 0, usage_since = p_now,
           updated_at = p_now,
           status = CASE WHEN status IN ('expired', 'capped') THEN 'active'::user_status
                         ELSE status END
     WHERE id = u.id;
    DELETE FROM radcheck WHERE username = u.username;
    DELETE FROM radusergroup WHERE username = u.username;
    INSERT INTO radcheck (username, attribute, op, value)
    SELECT u.username, c.attribute, ':=', c.value
      FROM hotspot_radius_checks(p_password, ends, pkg.devices) c;
    INSERT INTO radusergroup (username, groupname, priority) VALUES (u.username, pkg.group_name, 1);
    IF u.status = 'disabled' THEN
        INSERT INTO radcheck (username, attribute, op, value)
        VALUES (u.username, 'Auth-Type', ':=', 'Reject');
    END IF;
    RETURN ends;
END
$$;
