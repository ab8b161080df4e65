-- The operators' wallets: an append-only ledger of balanced postings (issue 15, point 3).
--
-- A posting is the entries one statement inserts under one posting_id; its amounts sum to zero
-- (checked for every INSERT statement, below). Accounts:
--   received    money customers paid, for that operator (a source: negative)
--   wallet      what the platform owes the operator: its balance is the sum of these entries
--   commission  the platform's commission on the operator's payments
--   payouts     money paid out to the operator (recorded by a platform admin)
--   sms_sales   what operators paid the platform for SMS credits
-- A payment that becomes paid, by whichever path (the general path, the one-call settlement,
-- an admin's resolve, a bulk insert), is posted once by the trigger on payments: the posting's
-- unique (payment_id) makes a second impossible. Loaded by migration 0013; change it only with
-- a migration that loads it again.

CREATE OR REPLACE FUNCTION hotspot_ledger_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT posting_id INTO unbalanced
      FROM new_entries GROUP BY posting_id HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting % does not balance', unbalanced
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hotspot_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: post a correcting entry instead'
          USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The posting of paid payments: money received; a customer's (purpose access or subscription)
-- into the operator's wallet less the commission (at the operator's rate when the payment is
-- posted); an operator's own payment into its wallet (purpose wallet) whole, or for SMS credits
-- to the platform's sales. A payment already posted is skipped.
CREATE OR REPLACE FUNCTION hotspot_post_payments(p_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    WITH paid AS (
        SELECT x.id, x.operator_id, coalesce(x.amount_paid, x.amount) AS amount,
               CASE WHEN x.purpose IN ('access', 'subscription')
                    THEN round(coalesce(x.amount_paid, x.amount) * o.commission_rate, 2)
                    ELSE 0 END AS commission,
               CASE WHEN x.purpose = 'sms_credits' THEN 'sms_sales' ELSE 'wallet' END AS credited,
               nextval('ledger_postings_seq') AS posting_id
          FROM unnest(p_ids) AS i(id)  -- a join, not = ANY: a bulk insert posts 1 M at once
          JOIN payments x ON x.id = i.id
          JOIN operators o ON o.id = x.operator_id
         WHERE x.status = 'paid'
    ), fresh AS (
        INSERT INTO ledger_postings (id, operator_id, kind, payment_id)
        SELECT posting_id, operator_id, 'payment', id FROM paid
        ON CONFLICT (payment_id) DO NOTHING
        RETURNING id
    )
    INSERT INTO ledger_entries (posting_id, operator_id, account, amount)
    SELECT p.posting_id, p.operator_id, e.account, e.amount
      FROM paid p
      JOIN fresh f ON f.id = p.posting_id
     CROSS JOIN LATERAL (VALUES ('received', -p.amount),
                                (p.credited, p.amount - p.commission),
                                ('commission', p.commission)) AS e(account, amount)
     WHERE e.amount <> 0
$$;

CREATE OR REPLACE FUNCTION hotspot_post_inserted_payments() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := (SELECT array_agg(id) FROM new_payments WHERE status = 'paid');
BEGIN
    IF ids IS NOT NULL THEN
        PERFORM hotspot_post_payments(ids);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hotspot_post_updated_payments() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := (
        SELECT array_agg(n.id)
          FROM new_payments n JOIN old_payments o ON o.id = n.id
         WHERE n.status = 'paid' AND o.status <> 'paid');
BEGIN
    IF ids IS NOT NULL THEN
        PERFORM hotspot_post_payments(ids);
    END IF;
    RETURN NULL;
END
$$;
