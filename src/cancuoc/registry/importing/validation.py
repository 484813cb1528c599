"""One imported row in, a clean row (ready for the database) or its issues out.

The checks of ``registry/idnumber.py`` run on every row: a fast equivalent of
``idnumber.is_valid`` accepts the common case, and ``idnumber.validate`` explains
every number it rejects (a property test proves the two agree).

Pure: no Django import. Messages other than the ID checks' are chosen by the caller
from ``Issue.code`` and ``Issue.params`` (they are translated on the Django side).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, NamedTuple

from cancuoc.core.text import fold, nfc
from cancuoc.registry import idnumber
from cancuoc.registry.importing.columns import BY_KEY

__all__ = [
    "CITIZEN_COLUMNS",
    "DOCUMENT_COLUMNS",
    "CleanRow",
    "Issue",
    "RowValidator",
    "UnitRef",
    "id_number_ok",
]


class UnitRef(NamedTuple):
    """A 2025 commune as the validator needs it."""

    id: int
    path: str
    province_code: str
    in_scope: bool


@dataclass(slots=True)
class Issue:
    row_number: int
    field: str
    value: str
    code: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    # Only the ID checks bring their own wording (idnumber.Issue has both languages).
    message_en: str = ""
    message_vi: str = ""


#: The citizen columns of a clean row, in order (also the PostgreSQL staging table).
CITIZEN_COLUMNS = (
    "row_number",
    "id_number",
    "full_name",
    "search_name",
    "birth_date",
    "birth_precision",
    "birth_year",
    "sex",
    "ethnicity",
    "religion",
    "nationality",
    "birth_registration_place",
    "place_of_origin",
    "permanent_unit_id",
    "permanent_address",
    "current_unit_id",
    "current_address",
    "unit_path",
    "province_code",
    "household_number",
    "relationship",
    "phone",
    "life_status",
    "death_date",
    "frail_elderly",
    "disability",
    "serious_illness",
    "living_alone",
    "war_merit",
    "school",
    "grade",
)
DOCUMENT_COLUMNS = (
    "row_number",
    "id_number",
    "kind",
    "number",
    "issue_date",
    "issue_place",
    "expiry_date",
    "status",
    "set_status",  # whether the file states the status (else a known document keeps its own)
)


class CleanRow(NamedTuple):
    citizen: tuple[Any, ...]  # values in CITIZEN_COLUMNS order
    documents: tuple[tuple[Any, ...], ...]  # values in DOCUMENT_COLUMNS order


# --- Value tables (folded spellings -> stored value) ---------------------------------------

_SEX = {"nam": "M", "m": "M", "male": "M", "trai": "M", "nu": "F", "f": "F", "female": "F"}
_RELATIONSHIP = {
    "chu ho": "head", "head": "head", "vo": "spouse", "chong": "spouse", "spouse": "spouse",
    "vo/chong": "spouse", "bo/me": "parent", "cha/me": "parent", "anh/chi/em": "sibling",
    "con": "child", "con de": "child", "con nuoi": "child", "child": "child",
    "bo": "parent", "me": "parent", "cha": "parent", "parent": "parent",
    "chau": "grandchild", "grandchild": "grandchild",
    "anh": "sibling", "chi": "sibling", "em": "sibling", "sibling": "sibling",
    "khac": "other", "other": "other",
}  # fmt: skip
_LIFE = {
    "": "alive", "con song": "alive", "song": "alive", "alive": "alive",
    "da chet": "deceased", "chet": "deceased", "da mat": "deceased", "deceased": "deceased",
}  # fmt: skip
_TRUE = {"x", "1", "co", "yes", "true", "y", "v"}
_FALSE = {"", "0", "khong", "no", "false", "n"}
_DOCUMENT_KIND = {
    "cmnd9": "cmnd9", "cmnd 9 so": "cmnd9", "cmnd12": "cmnd12", "cmnd 12 so": "cmnd12",
    "cccd_barcode": "cccd_barcode", "cccd ma vach": "cccd_barcode",
    "cccd_chip": "cccd_chip", "cccd gan chip": "cccd_chip", "cccd chip": "cccd_chip",
    "cancuoc": "cancuoc", "can cuoc": "cancuoc", "the can cuoc": "cancuoc",
}  # fmt: skip
_DOCUMENT_STATUS = {
    "": "valid", "valid": "valid", "con han": "valid", "con hieu luc": "valid",
    "expired": "expired", "het han": "expired",
    "cancelled": "cancelled", "da huy": "cancelled", "huy": "cancelled",
    "lost": "lost", "mat": "lost", "bao mat": "lost",
    "in_production": "in_production", "dang san xuat": "in_production",
    "enrolled": "enrolled", "da thu nhan": "enrolled",
}  # fmt: skip
_DOCUMENT_LENGTH = {"cmnd9": 9}
_PHONE_STRIP = str.maketrans("", "", " .-()")
_SEX_WORD = {"M": "male", "F": "female"}

# --- The fast ID check ------------------------------------------------------------------


def id_number_ok(number: str, birth_year: int | None, sex: str, today: dt.date) -> bool:
    """Same answer as ``idnumber.is_valid`` for a stripped number (proved by a test)."""
    if len(number) != 12 or not (number.isascii() and number.isdigit()):
        return False
    prefix = number[:3]
    if prefix not in idnumber.province_prefixes() and int(prefix) not in idnumber.ABROAD_PREFIXES:
        return False
    g = ord(number[3]) - 48
    year = 1900 + 100 * (g // 2) + int(number[4:6])
    if year > today.year or (birth_year is not None and year != birth_year):
        return False
    return not (sex and (g % 2 == 0) != (sex == "M"))


# --- Cell parsing ---------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, what: str, **params: Any) -> None:
        super().__init__(what)
        self.code = what
        self.params = params


def _text(value: object) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def _digits(value: object, width: int) -> str:
    """A code typed as a number in Excel lost its leading zeros; put them back."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            return str(value)
        return str(int(value)).zfill(width)
    return _text(value).replace(" ", "")


def parse_date(value: object) -> tuple[dt.date, str]:
    """(first day of the period, precision) from dd/mm/yyyy, mm/yyyy, yyyy, ISO or a date."""
    if isinstance(value, dt.datetime):
        return value.date(), "day"
    if isinstance(value, dt.date):
        return value, "day"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 1800 <= value <= 2999:
            return dt.date(int(value), 1, 1), "year"
        raise _Bad("date_invalid")
    text = _text(value)
    for sep in ("/", "-", "."):
        if sep in text:
            parts = text.split(sep)
            break
    else:
        parts = [text]
    try:
        numbers = [int(p) for p in parts]
        if len(parts) == 3 and len(parts[0]) == 4:  # ISO yyyy-mm-dd
            return dt.date(numbers[0], numbers[1], numbers[2]), "day"
        if len(parts) == 3 and len(parts[2]) == 4:
            return dt.date(numbers[2], numbers[1], numbers[0]), "day"
        if len(parts) == 2 and len(parts[1]) == 4:
            return dt.date(numbers[1], numbers[0], 1), "month"
        if len(parts) == 1 and len(parts[0]) == 4:
            return dt.date(numbers[0], 1, 1), "year"
    except ValueError:
        pass
    raise _Bad("date_invalid")


_FOLDED: dict[str, str] = {}
_WORDS: dict[str, str] = {}


def _folded(text: str) -> str:
    """fold() for the small vocabularies (sex, relationship, flags...), memoised."""
    found = _FOLDED.get(text)
    if found is None:
        found = text.lower() if text.isascii() else fold(text)
        if len(_FOLDED) < 10_000:
            _FOLDED[text] = found
    return found


def search_key(name: str) -> str:
    """core.text.fold of a name, word by word through a bounded memo (names share
    their words: a few thousand distinct words make up millions of names)."""
    if name.isascii():
        return " ".join(name.lower().split())
    out = []
    for word in name.split():
        folded = _WORDS.get(word)
        if folded is None:
            folded = fold(word)
            if len(_WORDS) < 200_000:
                _WORDS[word] = folded
        out.append(folded)
    return " ".join(out)


# --- The validator ------------------------------------------------------------------------


class RowValidator:
    """Validates rows of one file. ``fields``: column key -> index in the row.

    ``units``: 5-digit 2025 commune code -> UnitRef (``in_scope`` says whether the
    importing officer may write there). ``today`` bounds birth and death dates.
    """

    def __init__(
        self, *, fields: Mapping[str, int], units: Mapping[str, UnitRef], today: dt.date
    ) -> None:
        self.fields = dict(fields)
        self.units = units
        self.today = today
        # (key, index, parser, value of an empty cell), so empty cells cost one compare.
        self._order = [
            (key, index, _PARSERS[key], _EMPTY.get(key, ""), _TEXT_LIMITS.get(key, 0))
            for key, index in self.fields.items()
        ]

    def _cell(self, row: Sequence[object], key: str) -> object:
        index = self.fields.get(key)
        if index is None or index >= len(row):
            return None
        return row[index]

    def validate(self, row_number: int, row: Sequence[object]) -> CleanRow | list[Issue]:
        issues: list[Issue] = []
        values: dict[str, Any] = {}
        width = len(row)
        for key, index, parse, empty, limit in self._order:
            raw = row[index] if index < width else None
            if raw == "" or raw is None:
                values[key] = empty
                continue
            if limit and type(raw) is str:  # plain text: the common case, inlined
                text = raw.strip()
                if len(text) <= limit and "  " not in text:
                    values[key] = text
                    continue
            try:
                values[key] = parse(self, raw)
            except _Bad as bad:
                issues.append(Issue(row_number, key, _text(raw)[:255], bad.code, bad.params))
        for key in ("so_dinh_danh", "ho_ten", "ma_xa_thuong_tru"):
            if key in values and not values[key]:
                issues.append(Issue(row_number, key, "", "required"))
        if issues:
            # Report the ID number's own faults too, so one pass over the error report
            # shows everything wrong with the row. Only what parsed can be cross-checked.
            if values.get("so_dinh_danh"):
                birth = values.get("ngay_sinh") or (None, "day")
                issues += self._id_issues(
                    row_number, values["so_dinh_danh"], birth[0], values.get("gioi_tinh", "")
                )
            return issues
        return self._assemble(row_number, row, values, issues)

    def _id_issues(
        self, row_number: int, number: str, birth_date: dt.date | None, sex: str
    ) -> list[Issue]:
        birth_year = birth_date.year if birth_date else None
        if id_number_ok(number, birth_year, sex, self.today):
            return []
        return [
            Issue(
                row_number,
                "so_dinh_danh",
                number,
                f"id_{found.code}",
                message_en=found.message_en,
                message_vi=found.message_vi,
            )
            for found in idnumber.validate(
                number, birth_year=birth_year, sex=_SEX_WORD.get(sex), on=self.today
            )
            if found.severity == "error"
        ]

    def _assemble(
        self, row_number: int, row: Sequence[object], values: dict[str, Any], issues: list[Issue]
    ) -> CleanRow | list[Issue]:
        birth = values.get("ngay_sinh") or (None, "day")
        birth_date, precision = birth
        birth_year = birth_date.year if birth_date else None
        sex = values.get("gioi_tinh", "")
        number = values["so_dinh_danh"]
        issues += self._id_issues(row_number, number, birth_date, sex)
        permanent: UnitRef = values["ma_xa_thuong_tru"]
        current: UnitRef | None = values.get("ma_xa_tam_tru") or None
        home = current or permanent
        if not home.in_scope:
            key = "ma_xa_tam_tru" if current else "ma_xa_thuong_tru"
            code = _digits(self._cell(row, key), 5)
            issues.append(Issue(row_number, key, code, "unit_out_of_scope", {"code": code}))
        elif values.get("so_ho") and not permanent.in_scope:
            # The household is written on the permanent commune, whatever the home is.
            code = _digits(self._cell(row, "ma_xa_thuong_tru"), 5)
            issues.append(
                Issue(row_number, "ma_xa_thuong_tru", code, "unit_out_of_scope", {"code": code})
            )
        death = values.get("ngay_mat")
        if death and birth_date and death[0] < birth_date:
            issues.append(
                Issue(
                    row_number, "ngay_mat", _text(self._cell(row, "ngay_mat")), "death_before_birth"
                )
            )
        if issues:
            return issues
        life = values.get("tinh_trang", "alive")
        full_name = values["ho_ten"]
        citizen = (
            row_number,
            number,
            full_name,
            search_key(full_name),
            birth_date,
            precision,
            birth_year,
            sex,
            values.get("dan_toc", ""),
            values.get("ton_giao", ""),
            values.get("quoc_tich") or "Việt Nam",
            values.get("noi_dang_ky_khai_sinh", ""),
            values.get("que_quan", ""),
            permanent.id,
            values.get("dia_chi_thuong_tru", ""),
            current.id if current else None,
            values.get("dia_chi_tam_tru", ""),
            home.path,
            home.province_code,
            values.get("so_ho", ""),
            values.get("quan_he_chu_ho", ""),
            values.get("so_dien_thoai", ""),
            life,
            death[0] if death else None,
            values.get("nguoi_cao_tuoi", False),
            values.get("khuyet_tat", False),
            values.get("benh_nang", False),
            values.get("song_mot_minh", False),
            values.get("gia_dinh_chinh_sach", False),
            values.get("truong_hoc", ""),
            values.get("lop", ""),
        )
        return CleanRow(citizen, self._documents(row_number, number, values))

    def _documents(
        self, row_number: int, number: str, values: dict[str, Any]
    ) -> tuple[tuple[Any, ...], ...]:
        documents = []
        old = values.get("cmnd_cu")
        if old:
            kind = "cmnd9" if len(old) == 9 else "cmnd12"
            accepted = idnumber.classify_document_number(old, on=self.today).accepted
            status = "valid" if accepted else "expired"
            # The derived status is only the new document's: the file says nothing of a
            # known document's status (set_status false).
            documents.append((row_number, number, kind, old, None, "", None, status, False))
        doc_number = values.get("so_giay_to")
        if doc_number:
            kind = values.get("loai_giay_to") or ("cmnd9" if len(doc_number) == 9 else "cccd_chip")
            issued = values.get("ngay_cap")
            expiry = values.get("ngay_het_han")
            stated = values.get("trang_thai_giay_to", "")
            documents.append(
                (
                    row_number,
                    number,
                    kind,
                    doc_number,
                    issued[0] if issued else None,
                    values.get("noi_cap", ""),
                    expiry[0] if expiry else None,
                    stated or "valid",
                    # A known document's status changes only when the file states one.
                    bool(stated),
                )
            )
        return tuple(documents)


# --- Per-column parsers (raise _Bad) -------------------------------------------------------


def _limited(key: str) -> Any:
    limit = BY_KEY[key].max_length or 255

    def parse(self: RowValidator, raw: object) -> str:
        text = _text(raw)
        if "  " in text or "\t" in text:
            text = " ".join(text.split())
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = nfc(text)
        if len(text) > limit:
            raise _Bad("too_long", max=limit)
        return text

    return parse


def _id_number(self: RowValidator, raw: object) -> str:
    return _digits(raw, 12)


def _unit(self: RowValidator, raw: object) -> UnitRef | None:
    code = _digits(raw, 5)
    if not code:
        return None
    unit = self.units.get(code)
    if unit is None:
        raise _Bad("unit_unknown", code=code)
    return unit


_DATES: dict[str, tuple[dt.date, str]] = {}


def _parse_date_memo(raw: object) -> tuple[dt.date, str]:
    if type(raw) is not str:
        return parse_date(raw)
    found = _DATES.get(raw)
    if found is None:
        found = parse_date(raw)
        if len(_DATES) < 100_000:
            _DATES[raw] = found
    return found


def _date(self: RowValidator, raw: object) -> tuple[dt.date, str] | None:
    if isinstance(raw, str) and not raw.strip():
        return None
    day, precision = _parse_date_memo(raw)
    if day > self.today:
        raise _Bad("date_future")
    if day.year < 1900:
        raise _Bad("date_too_old")
    return day, precision


def _any_date(self: RowValidator, raw: object) -> tuple[dt.date, str] | None:
    """Document dates: an expiry date lies in the future."""
    if isinstance(raw, str) and not raw.strip():
        return None
    return _parse_date_memo(raw)


def _choice(table: Mapping[str, str], code: str) -> Any:
    def parse(self: RowValidator, raw: object) -> str:
        text = _text(raw)
        found = table.get(text) if text in table else table.get(_folded(text))
        if found is None:
            raise _Bad(code)
        return found

    return parse


def _sex(self: RowValidator, raw: object) -> str:
    text = _text(raw)
    if not text:
        return ""
    found = _SEX.get(_folded(text))
    if found is None:
        raise _Bad("sex_invalid")
    return found


def _relationship(self: RowValidator, raw: object) -> str:
    text = _text(raw)
    if not text:
        return ""
    found = _RELATIONSHIP.get(_folded(text))
    if found is None:
        raise _Bad("relationship_invalid")
    return found


def _flag(self: RowValidator, raw: object) -> bool:
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    text = _folded(_text(raw))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("flag_invalid")


def _phone(self: RowValidator, raw: object) -> str:
    text = _digits(raw, 10).translate(_PHONE_STRIP)
    if len(text) > 15:
        raise _Bad("too_long", max=15)
    return text


def _document_number(self: RowValidator, raw: object) -> str:
    text = _digits(raw, 9)
    if text and (not text.isdigit() or len(text) not in (9, 12)):
        raise _Bad("document_number_invalid")
    return text


def _old_number(self: RowValidator, raw: object) -> str:
    text = _digits(raw, 9)
    if text and (not text.isdigit() or len(text) not in (9, 12)):
        raise _Bad("document_number_invalid")
    return text


def _document_kind(self: RowValidator, raw: object) -> str:
    text = _text(raw)
    if not text:
        return ""
    found = _DOCUMENT_KIND.get(text) or _DOCUMENT_KIND.get(_folded(text))
    if found is None:
        raise _Bad("document_kind_invalid")
    return found


#: What an empty cell means, per column (absent: "").
_EMPTY: dict[str, Any] = {
    "ngay_sinh": None,
    "ngay_mat": None,
    "ngay_cap": None,
    "ngay_het_han": None,
    "ma_xa_thuong_tru": None,
    "ma_xa_tam_tru": None,
    "tinh_trang": "alive",
    "trang_thai_giay_to": "",  # not stated: a new document is valid, a known one kept
    "nguoi_cao_tuoi": False,
    "khuyet_tat": False,
    "benh_nang": False,
    "song_mot_minh": False,
    "gia_dinh_chinh_sach": False,
}

_TEXT_KEYS = (
    "ho_ten", "dan_toc", "ton_giao", "quoc_tich", "noi_dang_ky_khai_sinh", "que_quan",
    "dia_chi_thuong_tru", "dia_chi_tam_tru", "so_ho", "truong_hoc", "lop", "noi_cap",
)  # fmt: skip
# Text already NFC (the reader normalises each line); only length and spacing to check.
_TEXT_LIMITS = {key: BY_KEY[key].max_length or 255 for key in _TEXT_KEYS}

_PARSERS: dict[str, Any] = {
    "so_dinh_danh": _id_number,
    "ho_ten": _limited("ho_ten"),
    "ngay_sinh": _date,
    "gioi_tinh": _sex,
    "dan_toc": _limited("dan_toc"),
    "ton_giao": _limited("ton_giao"),
    "quoc_tich": _limited("quoc_tich"),
    "noi_dang_ky_khai_sinh": _limited("noi_dang_ky_khai_sinh"),
    "que_quan": _limited("que_quan"),
    "ma_xa_thuong_tru": _unit,
    "dia_chi_thuong_tru": _limited("dia_chi_thuong_tru"),
    "ma_xa_tam_tru": _unit,
    "dia_chi_tam_tru": _limited("dia_chi_tam_tru"),
    "so_ho": _limited("so_ho"),
    "quan_he_chu_ho": _relationship,
    "so_dien_thoai": _phone,
    "tinh_trang": _choice(_LIFE, "life_status_invalid"),
    "ngay_mat": _date,
    "nguoi_cao_tuoi": _flag,
    "khuyet_tat": _flag,
    "benh_nang": _flag,
    "song_mot_minh": _flag,
    "gia_dinh_chinh_sach": _flag,
    "truong_hoc": _limited("truong_hoc"),
    "lop": _limited("lop"),
    "cmnd_cu": _old_number,
    "loai_giay_to": _document_kind,
    "so_giay_to": _document_number,
    "ngay_cap": _date,
    "noi_cap": _limited("noi_cap"),
    "ngay_het_han": _any_date,
    "trang_thai_giay_to": _choice(_DOCUMENT_STATUS, "document_status_invalid"),
}
