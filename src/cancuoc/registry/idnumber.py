"""The 12-digit personal identification number (số định danh cá nhân): decode and validate.

Layout: ``PPP G YY RRRRRR``.

- ``PPP``: where the birth was registered. ``001``–``096`` for the 63 provinces in force
  before 1 July 2025 ("0" + the old 2-digit province code; frozen, see
  ``data/id_prefixes.tsv``), or ``101``–``295`` for the country where a birth abroad was
  registered.
- ``G``: century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s,
  8/9 = 2300s. Even = male.
- ``YY``: the last two digits of the birth year, so year = 1900 + 100·(G // 2) + YY.
- ``RRRRRR``: random. There is no check digit, so a mistyped serial cannot be detected.

Pure: imports nothing from Django, so it can be used and tested anywhere.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "ABROAD_PREFIXES",
    "DOCUMENT_NUMBER_RULES",
    "DecodedId",
    "DocumentNumberClass",
    "DocumentNumberRule",
    "InvalidIdNumber",
    "Issue",
    "classify_document_number",
    "decode",
    "generate",
    "is_valid",
    "province_prefixes",
    "validate",
]

Sex = Literal["male", "female"]
Severity = Literal["error", "warning"]

LENGTH = 12
#: Prefixes of the countries where a birth abroad was registered. The per-country table is
#: not published with the number format, so any prefix in this range is accepted as "abroad".
ABROAD_PREFIXES = range(101, 296)
FIRST_BIRTH_YEAR = 1900
LAST_BIRTH_YEAR = 2399
SUSPICIOUS_SERIAL = "000000"
_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
_SEX_VI: dict[str, str] = {"male": "nam", "female": "nữ"}


# --- Older identity documents -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentNumberRule:
    """How a document number of a given length is read, and until when it is accepted."""

    kind: str
    length: int
    description: str
    invalid_from: date | None
    source: str


#: Data, not logic: when the law changes, change this table. Looked up by number length.
DOCUMENT_NUMBER_RULES: tuple[DocumentNumberRule, ...] = (
    DocumentNumberRule(
        kind="cmnd_9",
        length=9,
        description="9-digit people's identity card (chứng minh nhân dân), issued from 1999",
        invalid_from=date(2025, 1, 1),
        source=(
            "Law on Identity No. 26/2023/QH15, transitional provisions: a CMND still in its "
            "term may be used until the end of 31/12/2024 (see also vnexpress.net, "
            "'8 tháng nữa chứng minh nhân dân hết giá trị sử dụng', 2024-04)."
        ),
    ),
    DocumentNumberRule(
        kind="personal_id",
        length=LENGTH,
        description=(
            "12-digit personal identification number, printed on the 12-digit CMND "
            "(about 2012-2015), the CCCD cards (2016-2024) and the căn cước card (from 2024)"
        ),
        invalid_from=None,
        source=(
            "The number itself stays valid for life; a card carrying it expires on its own "
            "printed date (Law on Identity No. 26/2023/QH15)."
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DocumentNumberClass:
    """What kind of document number a string is, and whether it is accepted on a date."""

    number: str
    kind: str  # a DocumentNumberRule.kind, or "unknown"
    rule: DocumentNumberRule | None
    accepted: bool


def classify_document_number(number: str, *, on: date | None = None) -> DocumentNumberClass:
    """Tell a 9-digit CMND from a 12-digit personal ID number.

    ``accepted`` is False for anything that is not all digits of a known length, and for a
    kind whose ``invalid_from`` is on or before ``on`` (default: today in Vietnam). A
    12-digit number is only classified here; use ``validate`` to check it.
    """
    digits = number.strip()
    rule = None
    if digits.isascii() and digits.isdigit():
        rule = next((r for r in DOCUMENT_NUMBER_RULES if r.length == len(digits)), None)
    if rule is None:
        return DocumentNumberClass(number=digits, kind="unknown", rule=None, accepted=False)
    day = on if on is not None else _today()
    accepted = rule.invalid_from is None or day < rule.invalid_from
    return DocumentNumberClass(number=digits, kind=rule.kind, rule=rule, accepted=accepted)


# --- The prefix table ---------------------------------------------------------------------


@functools.cache
def province_prefixes() -> dict[str, str]:
    """The frozen table of the 63 pre-2025 province prefixes: ``{"001": "Thành phố Hà Nội"}``."""
    text = (
        importlib.resources.files("cancuoc.registry")
        .joinpath("data", "id_prefixes.tsv")
        .read_text("utf-8")
    )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    table = {row["prefix"]: row["name"] for row in csv.DictReader(lines, delimiter="\t")}
    if len(table) != 63 or any(len(p) != 3 or not p.isdigit() for p in table):
        raise RuntimeError("data/id_prefixes.tsv must list exactly 63 three-digit prefixes")
    return table


def _is_abroad(prefix: str) -> bool:
    return int(prefix) in ABROAD_PREFIXES


def _is_known_prefix(prefix: str) -> bool:
    return prefix in province_prefixes() or _is_abroad(prefix)


# --- Decoding -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedId:
    """The parts of a 12-digit number. ``province_*`` are None for a birth abroad."""

    number: str
    prefix: str
    province_code: str | None  # the old 2-digit province code, e.g. "42"
    province_name: str | None
    abroad: bool
    sex: Sex
    birth_year: int
    serial: str


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of ``validate``. ``code`` is stable; the messages are for people."""

    code: str
    severity: Severity
    message_en: str
    message_vi: str


class InvalidIdNumber(ValueError):
    """Raised by ``decode``; ``codes`` lists the error codes (``format``, ``unknown_prefix``)."""

    def __init__(self, number: str, codes: list[str]) -> None:
        super().__init__(f"invalid personal ID number {number!r}: {', '.join(codes)}")
        self.number = number
        self.codes = codes


def _clean(number: str) -> str | None:
    """The number without surrounding whitespace, or None if it is not 12 ASCII digits."""
    digits = number.strip()
    if len(digits) != LENGTH or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


def _read(digits: str) -> DecodedId:
    prefix, g, yy, serial = digits[:3], int(digits[3]), int(digits[4:6]), digits[6:]
    name = province_prefixes().get(prefix)
    return DecodedId(
        number=digits,
        prefix=prefix,
        province_code=prefix[1:] if name is not None else None,
        province_name=name,
        abroad=_is_abroad(prefix),
        sex="male" if g % 2 == 0 else "female",
        birth_year=FIRST_BIRTH_YEAR + 100 * (g // 2) + yy,
        serial=serial,
    )


def decode(number: str, *, require_known_prefix: bool = True) -> DecodedId:
    """Decode a 12-digit number (surrounding whitespace allowed, nothing else).

    Raises ``InvalidIdNumber`` with ``["format"]`` if it is not exactly 12 digits, or with
    ``["unknown_prefix"]`` if the prefix is neither one of the 63 provinces nor 101–295.
    With ``require_known_prefix=False`` an unknown prefix is decoded with no province and
    ``abroad=False``, so the sex and birth year can still be shown.
    """
    digits = _clean(number)
    if digits is None:
        raise InvalidIdNumber(number, ["format"])
    if require_known_prefix and not _is_known_prefix(digits[:3]):
        raise InvalidIdNumber(number, ["unknown_prefix"])
    return _read(digits)


# --- Validation ---------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(_TIMEZONE).date()


def validate(
    number: str,
    *,
    birth_year: int | None = None,
    sex: str | None = None,
    on: date | None = None,
) -> list[Issue]:
    """Every issue found in ``number``, errors and warnings, in a stable order.

    ``birth_year`` and ``sex`` ("male"/"female") are what the person's record says; when
    given, the number must agree with them. ``on`` (default: today in Vietnam) is the day
    against which a birth year in the future is an error. A number is valid when no issue
    has severity "error"; "suspicious_serial" is only a warning.
    """
    if sex is not None and sex not in _SEX_VI:
        raise ValueError(f"sex must be 'male' or 'female', not {sex!r}")
    digits = _clean(number)
    if digits is None:
        return [
            Issue(
                "format",
                "error",
                "A personal ID number is exactly 12 digits.",
                "Số định danh cá nhân phải gồm đúng 12 chữ số.",
            )
        ]
    decoded = _read(digits)
    issues: list[Issue] = []
    if not _is_known_prefix(decoded.prefix):
        issues.append(
            Issue(
                "unknown_prefix",
                "error",
                f"Prefix {decoded.prefix} is neither a province of birth registration "
                "(001–096) nor a country code (101–295).",
                f"Mã {decoded.prefix} không phải mã tỉnh nơi đăng ký khai sinh (001–096) "
                "hay mã quốc gia (101–295).",
            )
        )
    if sex is not None and decoded.sex != sex:
        issues.append(
            Issue(
                "sex_mismatch",
                "error",
                f"The number is for a {decoded.sex} person but the record says {sex}.",
                f"Số định danh cho giới tính {_SEX_VI[decoded.sex]} nhưng hồ sơ ghi "
                f"{_SEX_VI[sex]}.",
            )
        )
    if birth_year is not None and decoded.birth_year != birth_year:
        issues.append(
            Issue(
                "birth_year_mismatch",
                "error",
                f"The number gives birth year {decoded.birth_year} but the record says "
                f"{birth_year}.",
                f"Số định danh cho năm sinh {decoded.birth_year} nhưng hồ sơ ghi {birth_year}.",
            )
        )
    day = on if on is not None else _today()
    if decoded.birth_year > day.year:
        issues.append(
            Issue(
                "born_in_future",
                "error",
                f"Birth year {decoded.birth_year} is after {day.isoformat()}.",
                f"Năm sinh {decoded.birth_year} sau ngày {day.strftime('%d/%m/%Y')}.",
            )
        )
    if decoded.serial == SUSPICIOUS_SERIAL:
        issues.append(
            Issue(
                "suspicious_serial",
                "warning",
                "The last six digits are all zero; check the number.",
                "Sáu chữ số cuối đều là 0; cần kiểm tra lại số định danh.",
            )
        )
    return issues


def is_valid(
    number: str,
    *,
    birth_year: int | None = None,
    sex: str | None = None,
    on: date | None = None,
) -> bool:
    """True when ``validate`` finds no error (warnings do not count)."""
    issues = validate(number, birth_year=birth_year, sex=sex, on=on)
    return not any(issue.severity == "error" for issue in issues)


# --- Generation (tests and demo data) -----------------------------------------------------


def generate(prefix: str, sex: str, birth_year: int, serial: int | str) -> str:
    """Build the number for these parts. Raises ``ValueError`` for parts no number can hold.

    ``prefix`` must be known (a province prefix or 101–295); ``serial`` is 0–999999.
    """
    if len(prefix) != 3 or not (prefix.isascii() and prefix.isdigit()):
        raise ValueError(f"prefix must be 3 digits, not {prefix!r}")
    if not _is_known_prefix(prefix):
        raise ValueError(f"unknown prefix {prefix!r}")
    if sex not in _SEX_VI:
        raise ValueError(f"sex must be 'male' or 'female', not {sex!r}")
    if not FIRST_BIRTH_YEAR <= birth_year <= LAST_BIRTH_YEAR:
        raise ValueError(f"birth year must be {FIRST_BIRTH_YEAR}–{LAST_BIRTH_YEAR}")
    serial_text = str(serial) if isinstance(serial, int) else serial
    if not (serial_text.isascii() and serial_text.isdigit()) or len(serial_text) > 6:
        raise ValueError(f"serial must be 0–999999, not {serial!r}")
    century, yy = divmod(birth_year - FIRST_BIRTH_YEAR, 100)
    g = 2 * century + (0 if sex == "male" else 1)
    return f"{prefix}{g}{yy:02d}{serial_text.zfill(6)}"
