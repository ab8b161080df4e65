"""Operators: admin tokens, the audit log, and what an operator may do."""
