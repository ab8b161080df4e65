"""Provisioning in SQL functions: the radcheck mapping once, and a new customer's paid callback in
one call.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-21 09:00:00.000000

A success callback for a new customer (the common case) cost the API twelve round trips to
PostgreSQL and about 7 ms of CPU; two thirds of that CPU was SQLAlchemy's and psycopg's
per-statement work, not ours (bench/payments, profiled). One function call now does it all:

- `hotspot_radius_checks(password, expires_at, devices)`: the radcheck rows (attribute, value; all
  `:=`) that make FreeRADIUS accept a user. `Expiration` is rlm_expiration's
  `DD Mon YYYY HH:MM:SS` in UTC (`Mon` is English whatever the locale; `TMMon` would not be), one
  second before the end, since FreeRADIUS counts Session-Timeout from the start of the current
  second. Every writer of radcheck's user rows reads it: this is the only copy of the mapping.
- `hotspot_new_user(...)`: the user, its radcheck and radusergroup rows, under the first of the
  drawn usernames that is free; no row when none is, or when the phone has its account.
- `hotspot_record_purchase(...)`: the credentials the portal shows (unique per payment) and the
  session expected from the purchase.
- `hotspot_settle_new_customer(...)`: a success callback's whole settlement when its payment is
  unpaid, the amount covers the package and the phone has no account: the payment locked and
  marked paid, the user and its rows, the purchase, and the `callback` and `provisioned` audit
  events. Anything else returns no row and has written nothing, and the caller takes the general
  path (renewals, credit, duplicates, rejections).

Functions only: nothing is rewritten or locked.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    """
    CREATE FUNCTION hotspot_radius_checks(p_password text, p_expires_at timestamptz, p_devices int)
    RETURNS TABLE (attribute text, value text)
    LANGUAGE sql STABLE AS $$
        VALUES ('Cleartext-Password', p_password),
               ('Expiration', to_char((p_expires_at - interval '1 second') AT TIME ZONE 'UTC',
                                      'DD Mon YYYY HH24:MI:SS')),
               ('Simultaneous-Use', p_devices::text)
    $$
    """,
    """
    CREATE FUNCTION hotspot_new_user(
        p_usernames text[], p_password text, p_phone text, p_package_id int,
        p_expires_at timestamptz, p_credit numeric, p_devices int, p_groupname text
    ) RETURNS TABLE (user_id bigint, username text)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
        candidate text;
        new_id bigint;
    BEGIN
        FOREACH candidate IN ARRAY p_usernames LOOP
            INSERT INTO hotspot_users (username, phone, package_id, expires_at, credit)
            VALUES (candidate, p_phone, p_package_id, p_expires_at, p_credit)
            ON CONFLICT DO NOTHING
            RETURNING id INTO new_id;
            IF new_id IS NOT NULL THEN
                INSERT INTO radcheck (username, attribute, op, value)
                SELECT candidate, c.attribute, ':=', c.value
                  FROM hotspot_radius_checks(p_password, p_expires_at, p_devices) c;
                INSERT INTO radusergroup (username, groupname, priority)
                VALUES (candidate, p_groupname, 1);
                RETURN QUERY SELECT new_id, candidate;
                RETURN;
            END IF;
            -- Taken: the username (draw the next), or the phone (it has its account).
            EXIT WHEN EXISTS (SELECT 1 FROM hotspot_users u WHERE u.phone = p_phone);
        END LOOP;
    END
    $$
    """,
    """
    CREATE FUNCTION hotspot_record_purchase(
        p_user_id bigint, p_payment_id bigint, p_username text, p_password text,
        p_expires_at timestamptz
    ) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO hotspot_credentials (user_id, payment_id, username, password, expires_at)
        VALUES (p_user_id, p_payment_id, p_username, p_password, p_expires_at);
        INSERT INTO radius_sessions (user_id, expected_end) VALUES (p_user_id, p_expires_at);
    $$
    """,
    """
    CREATE FUNCTION hotspot_settle_new_customer(
        p_checkout_request_id text, p_receipt text, p_amount numeric, p_raw jsonb,
        p_usernames text[], p_password text, p_now timestamptz
    ) RETURNS TABLE (payment_id bigint, user_id bigint, username text, expires_at timestamptz)
    LANGUAGE plpgsql AS $$
    DECLARE
        pay payments%ROWTYPE;
        pkg packages%ROWTYPE;
        ends timestamptz;
        candidate text;
        new_id bigint;
    BEGIN
        SELECT * INTO pay FROM payments p
         WHERE p.checkout_request_id = p_checkout_request_id
           FOR UPDATE;
        IF NOT FOUND OR pay.status = 'paid' OR pay.user_id IS NOT NULL OR pay.phone IS NULL
           OR p_amount < pay.amount THEN
            RETURN;
        END IF;
        SELECT * INTO pkg FROM packages WHERE id = pay.package_id;
        IF NOT FOUND OR p_amount < pkg.price
           OR EXISTS (SELECT 1 FROM hotspot_users u WHERE u.phone = pay.phone) THEN
            RETURN;
        END IF;
        ends := date_trunc('second', p_now + make_interval(secs => pkg.duration_seconds));
        -- None when every username drawn was taken, or the phone was (a payment of it just made
        -- its account: the general path renews that).
        SELECT n.user_id, n.username INTO new_id, candidate
          FROM hotspot_new_user(p_usernames, p_password, pay.phone, pkg.id, ends,
                                p_amount - pkg.price, pkg.devices, pkg.group_name) n;
        IF new_id IS NULL THEN
            RETURN;
        END IF;
        PERFORM hotspot_record_purchase(new_id, pay.id, candidate, p_password, ends);
        UPDATE payments
           SET status = 'paid', result_code = '0', failure_reason = NULL,
               mpesa_receipt = p_receipt, amount_paid = p_amount, paid_at = p_now,
               updated_at = p_now, user_id = new_id
         WHERE id = pay.id;
        INSERT INTO payment_events (payment_id, kind, detail)
        VALUES (pay.id, 'callback', jsonb_build_object('raw', p_raw)),
               (pay.id, 'provisioned', jsonb_build_object(
                    'source', 'callback', 'receipt', p_receipt, 'username', candidate,
                    'expires_at', to_char(ends AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00:00')));
        RETURN QUERY SELECT pay.id, new_id, candidate, ends;
    END
    $$
    """,
)

SIGNATURES = (
    "hotspot_settle_new_customer(text, text, numeric, jsonb, text[], text, timestamptz)",
    "hotspot_record_purchase(bigint, bigint, text, text, timestamptz)",
    "hotspot_new_user(text[], text, text, int, timestamptz, numeric, int, text)",
    "hotspot_radius_checks(text, timestamptz, int)",
)


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(function)


def downgrade() -> None:
    for signature in SIGNATURES:
        op.execute(f"DROP FUNCTION {signature}")
