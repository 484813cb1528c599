"""The import column format and the mapping of a file's header onto it.

Column keys are the Vietnamese names of the template (``so_dinh_danh``, ``ho_ten`` ...).
A header cell matches a key when, folded (no diacritics, lower case, spaces and
punctuation as ``_``), it equals the key or one of its aliases, so "Số định danh",
"SO_DINH_DANH" and "id_number" all map to ``so_dinh_danh``.

Pure: no Django import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cancuoc.core.text import fold

__all__ = ["COLUMNS", "REQUIRED", "Column", "HeaderMapping", "map_header", "normalise_heading"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    aliases: tuple[str, ...]
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("so_dinh_danh", ("so_dinh_danh_ca_nhan", "so_cccd", "cccd", "id_number", "id"), 12),
    Column("ho_ten", ("ho_va_ten", "ho_ten_khai_sinh", "full_name", "name"), 200),
    Column("ngay_sinh", ("ngay_thang_nam_sinh", "birth_date", "date_of_birth", "dob")),
    Column("gioi_tinh", ("sex", "gender")),
    Column("dan_toc", ("ethnicity",), 50),
    Column("ton_giao", ("religion",), 50),
    Column("quoc_tich", ("nationality",), 50),
    Column("noi_dang_ky_khai_sinh", ("birth_registration_place", "noi_sinh"), 255),
    Column("que_quan", ("place_of_origin", "nguyen_quan"), 255),
    Column("ma_xa_thuong_tru", ("permanent_commune_code", "ma_xa"), 5),
    Column("dia_chi_thuong_tru", ("noi_thuong_tru", "permanent_address"), 255),
    Column("ma_xa_tam_tru", ("current_commune_code", "ma_xa_noi_o_hien_tai"), 5),
    Column("dia_chi_tam_tru", ("noi_o_hien_tai", "current_address"), 255),
    Column("so_ho", ("so_ho_khau", "household_number"), 20),
    Column("quan_he_chu_ho", ("quan_he_voi_chu_ho", "relationship"), None),
    Column("so_dien_thoai", ("dien_thoai", "phone"), 15),
    Column("tinh_trang", ("life_status", "tinh_trang_song"), None),
    Column("ngay_mat", ("death_date", "ngay_chet")),
    Column("nguoi_cao_tuoi", ("frail_elderly", "cao_tuoi")),
    Column("khuyet_tat", ("disability",)),
    Column("benh_nang", ("serious_illness",)),
    Column("song_mot_minh", ("living_alone",)),
    Column("gia_dinh_chinh_sach", ("war_merit", "chinh_sach")),
    Column("truong_hoc", ("school",), 200),
    Column("lop", ("grade",), 10),
    Column("cmnd_cu", ("so_cmnd", "cmnd", "old_id_number"), 12),
    Column("loai_giay_to", ("document_kind",)),
    Column("so_giay_to", ("document_number",), 12),
    Column("ngay_cap", ("issue_date",)),
    Column("noi_cap", ("issue_place",), 255),
    Column("ngay_het_han", ("expiry_date",)),
    Column("trang_thai_giay_to", ("document_status",)),
)
KEYS = tuple(c.key for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}
#: Without these a row cannot become a citizen.
REQUIRED = ("so_dinh_danh", "ho_ten", "ma_xa_thuong_tru")

_NON_WORD = re.compile(r"[^a-z0-9]+")
_LOOKUP: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.key, *_column.aliases):
        _LOOKUP[_name] = _column.key


def normalise_heading(text: object) -> str:
    """'Số định danh (*)' -> 'so_dinh_danh'."""
    raw = "" if text is None else str(text)
    return _NON_WORD.sub("_", fold(raw)).strip("_")


@dataclass(frozen=True, slots=True)
class HeaderMapping:
    """``fields``: column key -> index in the row; ``ignored``: headings matched to nothing."""

    fields: dict[str, int]
    ignored: tuple[str, ...]
    duplicates: tuple[str, ...]

    @property
    def missing_required(self) -> tuple[str, ...]:
        return tuple(key for key in REQUIRED if key not in self.fields)

    def as_json(self, header: Sequence[object]) -> dict[str, str]:
        """Heading as written in the file -> column key (what the job records)."""
        return {str(header[index]): key for key, index in self.fields.items()}


def match_count(cells: Sequence[object]) -> int:
    """How many cells of a row are known column headings (to find the header row)."""
    return sum(1 for cell in cells if normalise_heading(cell) in _LOOKUP)


def map_header(
    header: Sequence[object], overrides: Mapping[str, str] | None = None
) -> HeaderMapping:
    """Map headings to column keys. ``overrides``: heading (as written) -> key, or "" to
    ignore that column; an override beats the automatic match."""
    chosen: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    by_heading = {normalise_heading(k): v for k, v in (overrides or {}).items()}
    for index, cell in enumerate(header):
        heading = normalise_heading(cell)
        if not heading:
            continue
        key = by_heading.get(heading, _LOOKUP.get(heading))
        if key in by_heading.values() and heading not in by_heading:
            key = _LOOKUP.get(heading) if _LOOKUP.get(heading) not in by_heading.values() else None
        if not key or key not in BY_KEY:
            ignored.append(str(cell))
        elif key in chosen:
            duplicates.append(str(cell))
        else:
            chosen[key] = index
    return HeaderMapping(fields=chosen, ignored=tuple(ignored), duplicates=tuple(duplicates))
