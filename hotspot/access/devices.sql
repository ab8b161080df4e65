-- Returning devices: the account a device (its MAC, as the router writes Calling-Station-Id)
-- last logged in to, for FreeRADIUS's MAC logins (sites/hotspot: a login whose User-Name is the
-- device's own MAC). SECURITY DEFINER like quotas.sql: FreeRADIUS's role reads no user table,
-- and learns only the account name of the one MAC it asks about. Loaded by migration 0011;
-- change it only with a migration that loads it again.
CREATE OR REPLACE FUNCTION hotspot_device_account(p_mac text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.username
      FROM hotspot_devices d
      JOIN hotspot_users u ON u.id = d.user_id
     WHERE d.mac = p_mac
$$;
