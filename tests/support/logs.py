"""Reading what our processes log."""

from __future__ import annotations

import json


def json_lines(text: str) -> list[dict[str, object]]:
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # every line, or the test fails here
        assert isinstance(entry, dict)
        entries.append(entry)
    return entries
