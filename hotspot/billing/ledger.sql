-- The operators' wallets: an append-only ledger of balanced postings (issue 15, point 3).
--
-- One row per business event, with what it moved on each account; a CHECK makes every row
-- balance (its accounts sum to zero). Accounts:
--   received    money customers paid, for that operator (a source: negative)
--   wallet      what the platform owes the operator: its balance is the sum of these
--   commission  the platform's commission on the operator's payments
--   payouts     money paid out to the operator (recorded by a platform admin)
--   sms_sales   what operators paid the platform for SMS credits
-- A payment that becomes paid, by whichever path (the general path, the one-call settlement,
-- an admin's resolve, a bulk insert), is posted once by the trigger on payments: the ledger's
-- unique (payment_id) makes a second impossible. Loaded by migration 0013; change it only with
-- a migration that loads it again.

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
    money numeric := coalesce(NEW.amount_paid, NEW.amount);
    cut numeric := 0;
BEGIN
    IF NEW.purpose IN ('access', 'subscription') THEN
        SELECT round(money * o.commission_rate, 2) INTO cut
          FROM operators o WHERE o.id = NEW.operator_id;
    END IF;
    INSERT INTO ledger (operator_id, kind, payment_id, received, wallet, commission, sms_sales)
    VALUES (NEW.operator_id, 'payment', NEW.id, -money,
            CASE WHEN NEW.purpose = 'sms_credits' THEN 0 ELSE money - cut END,
            cut,
            CASE WHEN NEW.purpose = 'sms_credits' THEN money ELSE 0 END)
    ON CONFLICT (payment_id) DO NOTHING;
    RETURN NULL;
END
$$;
