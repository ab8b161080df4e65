-- Several operators on one FreeRADIUS: a login is refused on a router of another operator than
-- the account's (sites/hotspot). False only when both are known and differ: accounts made
-- outside hotspot_users (operators' test rows in radcheck) keep working. SECURITY DEFINER like
-- quotas.sql: FreeRADIUS's role reads no user table and learns one boolean. Loaded by migration
-- 0012; change it only with a migration that loads it again.
CREATE OR REPLACE FUNCTION hotspot_same_operator(p_username text, p_nas text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(
        (SELECT u.operator_id = n.operator_id
           FROM hotspot_users u, nas n
          WHERE u.username = p_username AND n.nasname = p_nas
          ORDER BY n.id LIMIT 1),
        true)
$$;
