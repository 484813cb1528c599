"""Shape rules of an applicant's ID number and phone, shared by the service and the forms.

Pure: no Django import. The service is the authority; the receipt form uses the same
rules so that it never refuses what the service (and the API) accept, or the reverse.
"""

from __future__ import annotations

import re
from typing import Final

#: A 12-digit personal ID number, or the 9 digits of an old ID card (CMND).
ID_NUMBER: Final = re.compile(r"^(\d{9}|\d{12})$")
#: Digits with an optional leading +, 8 to 15 of them (mobiles, landlines, foreign numbers).
PHONE: Final = re.compile(r"^\+?\d{8,15}$")
_SEPARATORS: Final = re.compile(r"[\s.\-]")


def phone_normalise(raw: str | None) -> str:
    """The phone as stored: spaces, dots and dashes removed."""
    return _SEPARATORS.sub("", raw or "")


def phone_valid(phone: str) -> bool:
    return bool(PHONE.match(phone))


def id_number_valid(number: str) -> bool:
    return bool(ID_NUMBER.match(number))
