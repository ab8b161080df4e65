"""CSV a spreadsheet opens without running anything (OWASP CSV injection); see hotspot/csvfiles."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from hotspot.core.csvfiles import neutralised, write_csv


@pytest.mark.parametrize(
    "hostile",
    [
        '=HYPERLINK("http://evil.example/","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1)",
        "\t=1+1",
        "\r=1+1",
        "-",
        "+254 712 345 678",  # not only a number: a spreadsheet may still read it as a formula
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_quote(hostile: str) -> None:
    assert neutralised(hostile) == "'" + hostile


@pytest.mark.parametrize(
    "kept",
    ["Day pass", "", "5-day", "+254712345678", "-5", "-5.00", Decimal("-5.00"), -5, 2.5, None],
)
def test_plain_text_and_numbers_are_kept(kept: object) -> None:
    assert neutralised(kept) == kept


def test_text_is_quoted_so_no_separator_starts_a_cell_and_numbers_stay_numbers() -> None:
    out = io.StringIO()
    write_csv(out, [["name", "amount"], ['a;=1+1,"b"', Decimal("-5.00")], [None, 3]])
    assert out.getvalue() == '"name","amount"\n"a;=1+1,""b""",-5.00\n"",3\n'
