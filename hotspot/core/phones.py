"""Phone numbers as customers type them (07…, 7…, +2547…, 2547…, 01…) → E.164."""

import phonenumbers

from hotspot.core.errors import InvalidInputError


def normalize_phone(raw: str, region: str = "KE") -> str:
    """Returns `+2547XXXXXXXX`; raises InvalidInputError saying what is wrong."""
    text = raw.strip().replace(" ", "").replace("-", "")
    if not text:
        raise InvalidInputError("phone number is empty")
    if not text.lstrip("+").isdigit():
        raise InvalidInputError(f"phone number {raw!r} may contain only digits and a leading +")
    number = _parse(text, region)
    if not phonenumbers.is_valid_number(number):
        raise InvalidInputError(f"{raw!r} is not a valid phone number")
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidInputError(f"{raw!r} is not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    country_code = str(phonenumbers.country_code_for_region(region))
    if not text.startswith(("+", "0")) and text.startswith(country_code):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInputError(f"{text!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number) and not text.startswith(("+", "0")):
        # "712345678": a national number typed without its trunk 0.
        number = phonenumbers.parse("0" + text, region)
    return number
