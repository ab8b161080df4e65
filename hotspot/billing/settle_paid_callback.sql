-- A paid STK callback settled in one call, the common cases: a new customer (the user and its
-- FreeRADIUS rows made) or a renewal the money and the account's credit cover (through
-- hotspot_renew_user, the renewal every writer runs); then the purchase, the payment marked paid
-- and the `callback` and `provisioned` events. Anything else (money kept as credit, a duplicate,
-- an amount short of what was asked, every drawn username taken) returns no row having written
-- nothing, and the caller takes the general path (hotspot/billing/settlement.py).
--
-- The general path is the rule; this is a copy of its decisions for speed (it doubles the
-- callbacks a server settles per second, bench/payments).
-- tests/integration/test_settlement_parity.py drives both through the same callbacks and
-- compares every row each writes. Loaded by migrations 0009 and 0012
-- and by that test: change it only with a migration that loads it again.
CREATE OR REPLACE FUNCTION hotspot_settle_paid_callback(
    p_checkout_request_id text, p_receipt text, p_amount numeric, p_raw jsonb,
    p_usernames text[], p_password text, p_now timestamptz
) RETURNS TABLE (payment_id bigint, user_id bigint, username text, expires_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    pay payments%ROWTYPE;
    pkg packages%ROWTYPE;
    account hotspot_users%ROWTYPE;
    price numeric;
    seconds int;
    ends timestamptz;
    buyer_id bigint;
    buyer text;
BEGIN
    SELECT * INTO pay FROM payments p
     WHERE p.checkout_request_id = p_checkout_request_id
       FOR UPDATE;
    IF NOT FOUND OR pay.status = 'paid' OR pay.user_id IS NOT NULL OR pay.phone IS NULL
       OR p_amount < pay.amount THEN
        RETURN;
    END IF;
    SELECT * INTO pkg FROM packages WHERE id = pay.package_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    price := coalesce(pay.package_price, pkg.price);
    seconds := coalesce(pay.package_duration_seconds, pkg.duration_seconds);
    SELECT * INTO account FROM hotspot_users u
     WHERE u.phone = pay.phone AND u.operator_id = pay.operator_id FOR UPDATE;
    IF FOUND THEN
        IF p_amount + account.credit < price THEN
            RETURN;  -- kept as credit: the general path
        END IF;
        ends := hotspot_renew_user(account.id, pkg.id, seconds, p_password, p_now);
        UPDATE hotspot_users SET credit = p_amount + account.credit - price WHERE id = account.id;
        buyer_id := account.id;
        buyer := account.username;
    ELSE
        IF p_amount < price THEN
            RETURN;
        END IF;
        ends := date_trunc('second', p_now + make_interval(secs => seconds));
        -- None when every username drawn was taken, or the phone was (a payment of it just made
        -- its account: the general path renews that).
        SELECT n.user_id, n.username INTO buyer_id, buyer
          FROM hotspot_new_user(p_usernames, p_password, pay.phone, pkg.id, ends,
                                p_amount - price, pkg.devices, pkg.group_name) n;
        IF buyer_id IS NULL THEN
            RETURN;
        END IF;
    END IF;
    PERFORM hotspot_record_purchase(buyer_id, pay.id, buyer, p_password, ends);
    UPDATE payments
       SET status = 'paid', result_code = '0', failure_reason = NULL,
           mpesa_receipt = p_receipt, amount_paid = p_amount, paid_at = p_now,
           updated_at = p_now, user_id = buyer_id
     WHERE id = pay.id;
    INSERT INTO payment_events (payment_id, kind, detail)
    VALUES (pay.id, 'callback', jsonb_build_object('raw', p_raw)),
           (pay.id, 'provisioned', jsonb_build_object(
                'source', 'callback', 'receipt', p_receipt, 'username', buyer,
                'expires_at', to_char(ends AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00:00')));
    RETURN QUERY SELECT pay.id, buyer_id, buyer, ends;
END
$$;
