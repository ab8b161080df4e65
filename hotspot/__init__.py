"""Hotspot AAA and billing backend."""
