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

-- The posting of a paid payment: money received; a customer's (purpose access or subscription)
-- into the operator's wallet less the commission (at the operator's rate when the payment is
-- posted); an operator's own payment into its wallet (purpose wallet) whole, or for SMS credits
-- to the platform's sales. A payment already posted is skipped. A row trigger whose WHEN the
-- server checks before calling it: the many updates of payments that are not "became paid" cost
-- nothing, and PL/pgSQL keeps its plans between calls (the settlement's hot path).
CREATE OR REPLACE FUNCTION hotspot_post_payment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    received numeric := coalesce(NEW.amount_paid, NEW.amount);
    commission numeric := 0;
    posting bigint;
BEGIN
    IF NEW.purpose IN ('access', 'subscription') THEN
        SELECT round(received * o.commission_rate, 2) INTO commission
          FROM operators o WHERE o.id = NEW.operator_id;
    END IF;
    INSERT INTO ledger_postings (operator_id, kind, payment_id)
    VALUES (NEW.operator_id, 'payment', NEW.id)
    ON CONFLICT (payment_id) DO NOTHING
    RETURNING id INTO posting;
    IF posting IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger_entries (posting_id, operator_id, account, amount)
    SELECT posting, NEW.operator_id, e.account, e.amount
      FROM (VALUES ('received', -received),
                   (CASE WHEN NEW.purpose = 'sms_credits' THEN 'sms_sales' ELSE 'wallet' END,
                    received - commission),
                   ('commission', commission)) AS e(account, amount)
     WHERE e.amount <> 0;
    RETURN NULL;
END
$$;
