"""The CSV files we write: safe to open in a spreadsheet, and private when they hold secrets.

CSV injection (OWASP): a spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (or a tab
or carriage return, which some strip first) as a formula, so text someone else chose (a package
name, a batch label, a reason Africa's Talking sent) could run `=HYPERLINK(...)` or worse on an
operator's machine. `write_csv` therefore puts a `'` before such text, which spreadsheets show as
text, and quotes every text cell, so a `,` or `;` inside one never starts a new cell whatever the
locale's separator. Numbers (int, Decimal, float) are ours, never text, and are written as they
are: a negative amount stays a number. So is text that is only a signed number (an E.164 phone,
`+254712345678`): no formula can be made of a sign and digits.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SIGNED_NUMBER = re.compile(r"[+-]\d+(?:\.\d+)?")


def neutralised(cell: object) -> object:
    """`cell`, with a `'` before it when it is text a spreadsheet would take for a formula."""
    if (
        isinstance(cell, str)
        and cell.startswith(FORMULA_STARTS)
        and not SIGNED_NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell


def write_csv(handle: TextIO, rows: Iterable[Iterable[object]]) -> None:
    """Every CSV we write goes through here (None is an empty cell)."""
    writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([neutralised(cell) for cell in row])


def create_private(path: Path) -> TextIO:
    """A new file for writing that only its owner may read (mode 0600). Never an existing file,
    nor one a symlink points at: O_EXCL fails on both."""
    return os.fdopen(open_exclusive(path), "w", newline="")


def create_private_binary(path: Path) -> BinaryIO:
    """As `create_private`, for bytes (a PDF)."""
    return os.fdopen(open_exclusive(path), "wb")


def open_exclusive(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
