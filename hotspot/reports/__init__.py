"""Operator reports over the SQL views."""
