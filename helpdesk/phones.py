"""How a phone number is shown: one international format everywhere ("+55 11 98888-7777").

Numbers are stored as E.164 digits without the "+" ("5511988887777"), as WhatsApp names them;
pages, the admin and the log show them through ``phone_display`` (the ``phone`` template filter),
formatted by ``phonenumbers`` (Google's libphonenumber). The JSON API and the webhooks keep the
stored digits, which a program reads more easily (docs/decisions.md, "Phone numbers").
"""

import phonenumbers


def phone_display(digits: str) -> str:
    """``digits`` in the international format; a number no country's plan knows keeps its digits
    after a "+" (formatting it would split it where no plan does); "" stays ""."""
    if not digits:
        return ""
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException:
        return f"+{digits}"
    if not phonenumbers.is_valid_number(number):
        return f"+{digits}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
