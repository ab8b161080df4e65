"""What an SMS costs in credits: its parts, as the network splits it."""

import pytest

from hotspot.adapters.sms import message_parts


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("a" * 160, 1),  # GSM-7: 160 in one
        ("a" * 161, 2),  # split: 153 a part
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the extension costs two septets
        ("€" * 81, 2),
        ("Karibu 😀", 1),  # not GSM-7: UCS-2, 70 units in one (an emoji is two)
        ("ü" * 70 + "ş", 2),
        ("ş" * 134, 2),
        ("ş" * 135, 3),
    ],
)
def test_parts(body: str, parts: int) -> None:
    assert message_parts(body) == parts
