"""What is printed on a card besides the MRZ: its expiry and its QR payload. Pure.

The expiry follows the milestone rules of the law in force on the issue date
(registry.cohort_rules holds them as data with effective dates, so the cohort and the
card agree by construction): renewal at 14 (2023 law), 25, 40 and 60; a card issued
within two years before a milestone lasts until the next one; none after the last.
"""

from __future__ import annotations

import datetime as dt

from cancuoc.registry.cohort_rules import card_expiry

_SEX_WORDS = {"M": "Nam", "F": "Nữ"}


def card_expiry_date(*, birth_date: dt.date, issue_date: dt.date) -> dt.date | None:
    """The printed expiry of a card issued on ``issue_date``; None: valid for life."""
    return card_expiry(birth_date, issue_date)


def card_qr_payload(
    *,
    id_number: str,
    old_cmnd: str,
    full_name: str,
    birth_date: dt.date,
    sex: str,
    residence: str,
    issue_date: dt.date,
) -> str:
    """The card's QR text: ``ID|old CMND|name|ddmmyyyy|sex|residence|ddmmyyyy`` [S].

    A "|" inside a field would shift every field after it, so it is refused.
    """
    fields = [
        id_number,
        old_cmnd,
        full_name,
        birth_date.strftime("%d%m%Y"),
        _SEX_WORDS[sex],
        residence,
        issue_date.strftime("%d%m%Y"),
    ]
    if any("|" in field for field in fields):
        raise ValueError("a field of the QR payload contains '|'")
    return "|".join(fields)
