"""A local stand-in for Safaricom Daraja (OAuth, STK push, STK query, the STK callback, C2B
RegisterURL and paybill payments to the registered URLs).

A development and test tool: the app has no sandbox code path, it is simply pointed at this
server (`base_url=http://127.0.0.1:8089`). It checks requests the way Daraja documents them and
answers with Daraja's payloads, then POSTs the callback from a background thread.

What a push ends in is chosen, in this order, by:

1. `POST /sandbox/next-outcome {"outcome": ..., "phone": optional}` — the next push (for that
   phone only, when given);
2. the last four digits of the phone number (`PHONE_SUFFIXES`):
   1032 cancelled, 1037 unreachable, 2001 wrong_pin, 0001 insufficient_funds, 1019 expired,
   0000 no_callback, 0003 triple_callback;
3. `default_outcome`.

Control endpoints: `POST /sandbox/config {"callback_delay", "default_outcome"}`,
`POST /sandbox/expire-token` (as if the hour had passed), `POST /sandbox/c2b {"bill_ref",
"amount"}` (a customer pays the paybill: validation, then confirmation, to the registered URLs)
and `GET /sandbox/payments` (everything received and sent, and the registered C2B URLs). Run it
with `hotspot sandbox mpesa`.

The parts: `rules` (Daraja's outcomes, formats and errors, and the configuration), `oauth`
(access tokens), `stk` (STK push, query and callbacks), `c2b` (RegisterURL and paybill
payments) and `server` (the state they share, the HTTP app and `serve`).
"""
