"""Operators: admin tokens, the audit log, listing pages and the follow-ups of their changes.

What an operator may do to a thing lives with the thing, in its area's `*_admin` module
(`catalog.package_admin`, `access.user_admin`, `billing.voucher_admin`, …)."""
