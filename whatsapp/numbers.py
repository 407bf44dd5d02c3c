"""A phone number as WhatsApp addresses it, and Brazil's ninth digit.

The domain speaks phone numbers (E.164 digits, "5511988887777"); WhatsApp addresses a phone as
``<digits>@c.us``. Brazilian mobiles gained a ninth digit (a 9 after the area code) in 2012-2016,
and people still write them either way; WhatsApp knows each account by one of the two forms
(``queryExists`` answers which: whatsapp/session_requests.py). What is decided here is only which
two numbers *may* be one person; WhatsApp says which one it is.
"""

import re

PHONE_SERVER = "c.us"

# 55, an area code (11 to 99), then a mobile: 9 + eight digits starting 6-9, or those eight alone.
_WITH_NINTH = re.compile(r"55([1-9][1-9])9([6-9]\d{7})")
_WITHOUT_NINTH = re.compile(r"55([1-9][1-9])([6-9]\d{7})")


def phone_address(digits: str) -> str:
    """The WhatsApp id of a phone number (E.164 digits)."""
    return f"{digits}@{PHONE_SERVER}"


def ninth_digit_twin(digits: str) -> str | None:
    """The same Brazilian mobile written the other way (with the ninth digit if it had none,
    without it if it had it); None for any other number."""
    if match := _WITH_NINTH.fullmatch(digits):
        return f"55{match[1]}{match[2]}"
    if match := _WITHOUT_NINTH.fullmatch(digits):
        return f"55{match[1]}9{match[2]}"
    return None


def ninth_digit_key(digits: str) -> str:
    """One key for both ways of writing a Brazilian mobile (the form with the ninth digit); any
    other number is its own key. Two different numbers with one key may be one person."""
    if _WITHOUT_NINTH.fullmatch(digits):
        return ninth_digit_twin(digits) or digits
    return digits


def phone_addresses(digits: str) -> list[str]:
    """The ids a person typed as ``digits`` may have on WhatsApp: as typed, then its twin."""
    twin = ninth_digit_twin(digits)
    return [phone_address(digits), *([phone_address(twin)] if twin else [])]
