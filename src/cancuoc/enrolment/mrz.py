"""The machine-readable zone of the identity card: ICAO 9303 TD1, 3 lines × 30 characters.

Pure: no Django. The Vietnamese profile (domain.md §4):

- line 1: ``ID`` ``VNM``, the last 9 digits of the ID number and their check digit, then in
  the optional field the full 12-digit number, ``<<`` and the check digit of the 12 digits;
- line 2: birth date YYMMDD + check, sex ``M``/``F``, expiry YYMMDD + check, nationality
  ``VNM``, filler, and the composite check digit over line 1 positions 6–30 and line 2
  positions 1–7, 9–15 and 19–29;
- line 3: ``SURNAME<<GIVEN<NAMES`` without diacritics (Đ → D), cut to 30 characters.

A card valid for life has no expiry date; the field is written as fillers ``<<<<<<`` with
check digit 0 (a filler counts 0) [M: how the printing centre writes it is unconfirmed; a
strict ICAO reader wants a date there, see the test].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cancuoc.core.text import fold

LINE = 30
FILLER = "<"
_WEIGHTS = (7, 3, 1)
_LETTER_VALUE = {chr(ord("A") + i): 10 + i for i in range(26)}


class MrzError(ValueError):
    """The data cannot be written into an MRZ."""


def char_value(ch: str) -> int:
    if ch.isdigit() and ch.isascii():
        return int(ch)
    if ch == FILLER:
        return 0
    if ch in _LETTER_VALUE:
        return _LETTER_VALUE[ch]
    raise MrzError(f"character {ch!r} cannot appear in an MRZ")


def check_digit(field: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1 repeating; digits by value, A–Z 10–35, < 0."""
    total = sum(char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(field))
    return str(total % 10)


def _pad(text: str, width: int) -> str:
    if len(text) > width:
        raise MrzError(f"{text!r} is longer than {width} characters")
    return text + FILLER * (width - len(text))


def mrz_name_part(text: str) -> str:
    """Upper-case Latin letters with ``<`` between words: "Nguyễn Văn" → "NGUYEN<VAN"."""
    # ICAO 9303 part 3: a hyphen becomes a filler; other punctuation is dropped.
    spaced = fold(text).upper().replace("-", " ")
    words = ["".join(ch for ch in word if "A" <= ch <= "Z") for word in spaced.split()]
    return FILLER.join(word for word in words if word)


def mrz_names(full_name: str) -> tuple[str, str]:
    """A Vietnamese full name as (surname, given names): the family name comes first."""
    words = full_name.split()
    if not words:
        raise MrzError("the name is empty")
    return words[0], " ".join(words[1:])


def _yymmdd(day: dt.date | None) -> str:
    return "<<<<<<" if day is None else day.strftime("%y%m%d")


@dataclass(frozen=True)
class CardMrz:
    line1: str
    line2: str
    line3: str

    def __str__(self) -> str:
        return "\n".join((self.line1, self.line2, self.line3))


def td1_mrz(
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    optional1: str = "",
    birth: str,
    sex: str,
    expiry: str,
    nationality: str,
    optional2: str = "",
    surname: str,
    given_names: str,
) -> CardMrz:
    """Any ICAO 9303 TD1 MRZ. ``birth`` and ``expiry`` are YYMMDD (or fillers).

    ``surname`` and ``given_names`` are free text; they pass through :func:`mrz_name_part`.
    A document number longer than 9 characters is not supported here (the Vietnamese card
    puts its 12 digits in the optional field instead; see :func:`card_mrz`).
    """
    if len(document_number) > 9:
        raise MrzError("a TD1 document number has at most 9 characters")
    if sex not in ("M", "F", FILLER):
        raise MrzError("sex must be M, F or <")
    number = _pad(document_number, 9)
    line1 = _pad(document_code, 2) + _pad(issuing_state, 3) + number + check_digit(number)
    line1 += _pad(optional1, 15)
    line2_head = birth + check_digit(birth) + sex + expiry + check_digit(expiry)
    line2_head = _pad(line2_head + _pad(nationality, 3) + optional2, LINE - 1)
    composite = line1[5:30] + line2_head[0:7] + line2_head[8:15] + line2_head[18:29]
    line2 = line2_head + check_digit(composite)
    names = mrz_name_part(surname) + FILLER * 2 + mrz_name_part(given_names)
    line3 = _pad(names[:LINE], LINE)
    for line in (line1, line2, line3):
        if len(line) != LINE:
            raise MrzError(f"an MRZ line of {len(line)} characters")
    return CardMrz(line1, line2, line3)


def card_mrz(
    *,
    id_number: str,
    full_name: str,
    birth_date: dt.date,
    sex: str,
    expiry: dt.date | None,
) -> CardMrz:
    """The three MRZ lines of a Vietnamese identity card.

    ``sex`` is "M" or "F"; ``expiry`` None means valid for life. The profile (domain.md
    §4) puts the last 9 digits of the ID in the document-number field and the whole
    12-digit number, two fillers and its own check digit in the optional field.
    """
    if len(id_number) != 12 or not (id_number.isascii() and id_number.isdigit()):
        raise MrzError("the personal ID number must be 12 digits")
    if sex not in ("M", "F"):
        raise MrzError("sex must be M or F")
    surname, given = mrz_names(full_name)
    return td1_mrz(
        document_code="ID",
        issuing_state="VNM",
        document_number=id_number[3:],
        optional1=id_number + FILLER * 2 + check_digit(id_number),
        birth=_yymmdd(birth_date),
        sex=sex,
        expiry=_yymmdd(expiry),
        nationality="VNM",
        surname=surname,
        given_names=given,
    )
