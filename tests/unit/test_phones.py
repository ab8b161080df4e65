import pytest

from hotspot.core.errors import InvalidInputError
from hotspot.core.phones import normalize_phone


@pytest.mark.parametrize(
    "typed", ["0712345678", "712345678", "+254712345678", "254712345678", "0712 345 678"]
)
def test_kenyan_mobile_numbers_in_every_usual_form(typed: str) -> None:
    assert normalize_phone(typed) == "+254712345678"


@pytest.mark.parametrize("typed", ["0110123456", "110123456", "254110123456"])
def test_the_newer_01_numbers(typed: str) -> None:
    assert normalize_phone(typed) == "+254110123456"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("07123", "not a valid phone number"),
        ("07l2345678", "only digits"),
        ("0201234567", "not a mobile number"),
    ],
)
def test_bad_numbers_say_what_is_wrong(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        normalize_phone(typed)
