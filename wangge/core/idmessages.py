"""ID, credit-code and phone errors of ``lib.idnumbers`` in the user's language, in one place.

``lib`` stays framework-free: its ``IdNumberError`` carries a stable ``code`` and the ``params``
of its message, and its ``str()`` is English for logs. Every face that shows such an error to a
person (ledger rejects, the registry's forms and services, API field errors) words it here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from wangge.lib.idnumbers import IdNumberError

MESSAGES = {
    # Resident ID numbers (GB 11643)
    "id_length": _("it must have 18 characters (or 15 for the old form), not %(count)d"),
    "id_body": _("the body of an ID number is 17 digits, not %(count)d characters"),
    "id_old_digits": _("the old 15-character form must be all digits"),
    "id_digits": _("the first 17 characters must be digits"),
    "id_check_character": _("the check character must be a digit or X, not %(character)s"),
    "id_check_digit": _("the check digit should be %(expected)s, not %(found)s"),
    "id_area_province": _(
        "the first six digits %(area)s are not an area code (%(province)s is not a province)"
    ),
    "id_area_shape": _("the first six digits %(area)s are not an area code"),
    "birth_not_a_date": _("the birth date %(value)s is not a date"),
    "birth_in_future": _("the birth date %(date)s is in the future"),
    "birth_too_early": _("the birth date %(date)s is before %(earliest)s"),
    # Other documents (registry.identity)
    "document_shape": _("a document number has 5 to 32 letters and digits"),
    "permit_shape": _("a residence permit number has 5 to 32 letters and digits"),
    # Unified social credit codes (GB 32100)
    "credit_length": _("a credit code must have 18 characters, not %(count)d"),
    "credit_body": _("the body of a credit code is 17 characters of its alphabet"),
    "organization_body": _("the body of an organization code is 8 characters 0-9 or A-Z"),
    "credit_character": _(
        "character %(character)s at position %(position)d is not allowed "
        "(0-9 and A-Z without I, O, S, V, Z)"
    ),
    "credit_area": _("characters 3-8 are an area code and must be digits, not %(area)s"),
    "credit_check": _("the check character should be %(expected)s, not %(found)s"),
    "credit_organization_check": _(
        "the organization code's check character (position 17) should be %(expected)s, "
        "not %(found)s"
    ),
    # Mobile numbers
    "mobile_country": _("only the country code +86 is accepted"),
    "mobile_characters": _("a mobile number may contain only digits, spaces, hyphens and +86"),
    "mobile_length": _("a mobile number has 11 digits, not %(count)d"),
    "mobile_first_digit": _("a mobile number starts with 1, not %(digit)s"),
    "mobile_second_digit": _("the second digit of a mobile number is 3-9, not %(digit)s"),
}


def id_error_text(error: Exception) -> str:
    """The reason of a number's error, translated; other errors as they are (``str``)."""
    if isinstance(error, IdNumberError) and error.code in MESSAGES:
        return str(MESSAGES[error.code]) % error.params
    return str(error)
