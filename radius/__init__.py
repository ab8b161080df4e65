"""RADIUS on the wire: our dictionary and the pyrad helpers built on it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyrad.dictionary import Dictionary

DICTIONARY = Path(__file__).resolve().parent / "dictionary"


@cache
def dictionary() -> Dictionary:
    """Parsed once per process; our own file, so clients work without FreeRADIUS installed."""
    return Dictionary(str(DICTIONARY))
