"""Wording of import problems, in both languages the application speaks.

Row errors are stored with their Vietnamese and English text (the report is read long
after, by people who chose either language); file errors are stored as code + params
and worded when shown.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cancuoc.registry.importing.validation import Issue

MESSAGES = {
    # Rows
    "required": _("This field is required."),
    "too_long": _("Too long: at most %(max)s characters."),
    "date_invalid": _("Not a date: write dd/mm/yyyy, mm/yyyy or yyyy."),
    "date_future": _("The date is in the future."),
    "date_too_old": _("The date is before 1900."),
    "death_before_birth": _("The date of death is before the birth date."),
    "sex_invalid": _("Sex must be Nam or Nữ."),
    "relationship_invalid": _(
        "Unknown relationship: write Chủ hộ, Vợ, Chồng, Con, Bố, Mẹ, Cháu, Anh, Chị, Em or Khác."
    ),
    "life_status_invalid": _("Life status must be Còn sống or Đã chết."),
    "flag_invalid": _("Write x (or 1) for yes and leave empty for no."),
    "unit_unknown": _("No commune of the 2025 list has code %(code)s."),
    "unit_out_of_scope": _("Commune %(code)s is outside your unit."),
    "citizen_out_of_scope": _("This ID number belongs to a citizen outside your unit."),
    "household_out_of_scope": _(
        "Household %(number)s is registered outside your unit: ask that unit to change it."
    ),
    "document_kind_invalid": _(
        "Unknown document kind: use cmnd9, cmnd12, cccd_barcode, cccd_chip or cancuoc."
    ),
    "document_number_invalid": _("A document number has 9 or 12 digits."),
    "document_status_invalid": _("Unknown document status."),
    "duplicate_in_file": _("The ID number already appears on row %(first)s of this file."),
    "malformed_line": _("The line cannot be read as CSV (%(detail)s)."),
    "column_count": _("The row has %(found)s values but the header has %(expected)s."),
    "bad_characters": _("The row holds bytes that are not valid %(encoding)s text."),
    "database": _("The database refused the row (%(detail)s)."),
    # Files
    "empty_file": _("The file is empty."),
    "encoding_undetectable": _(
        "The file's text encoding could not be recognised. Save it as UTF-8 CSV or as "
        "Excel (.xlsx), or choose the encoding (TCVN3, VNI, Windows-1258) on the form."
    ),
    "encoding_unknown": _("Unknown encoding %(encoding)s."),
    "xls_unsupported": _("Old Excel files (.xls) cannot be read: save the file as .xlsx."),
    "xlsx_unreadable": _("The Excel file cannot be read (%(detail)s)."),
    "malformed_header": _("The first lines cannot be read as CSV (%(detail)s)."),
    "no_header": _(
        "No header row found in the first 10 rows: download the template and use its column names."
    ),
    "several_header_rows": _(
        "The sheet has several header rows (rows %(first)s–%(last)s): keep a single row of "
        "column names."
    ),
    "merged_cells": _(
        "The sheet has merged cells in rows %(first)s–%(last)s: unmerge every cell from the "
        "header row down."
    ),
    "missing_columns": _("Required columns are missing: %(columns)s."),
    "duplicate_columns": _("Several columns map to the same field: %(columns)s."),
    "no_rows": _("The file has a header but no data rows."),
    "permission": _("You are not allowed to import citizens."),
    "internal": _("The import stopped because of an internal error; nothing more was written."),
}


def _word(code: str, params: dict[str, Any], language: str) -> str:
    with translation.override(language):
        text = str(MESSAGES.get(code, MESSAGES["internal"]))
        return text % params if params else text.replace("%%", "%")


@functools.lru_cache(maxsize=4096)
def _cached(code: str, params_json: str) -> tuple[str, str]:
    params = json.loads(params_json)
    return _word(code, params, "vi")[:255], _word(code, params, "en")[:255]


def issue_messages(issue: Issue) -> tuple[str, str]:
    """(Vietnamese, English) for a row issue."""
    if issue.message_vi:
        return issue.message_vi[:255], issue.message_en[:255]
    return _cached(issue.code, json.dumps(issue.params, sort_keys=True, default=str))


def file_error(code: str, params: dict[str, Any] | None = None) -> str:
    """What ImportJob.error_message stores: the code and params, worded when shown."""
    return json.dumps({"code": code, "params": params or {}}, ensure_ascii=False)


def file_error_text(stored: str) -> str:
    """The stored file error in the active language."""
    if not stored:
        return ""
    try:
        data = json.loads(stored)
        code, params = data["code"], data.get("params") or {}
    except (ValueError, KeyError, TypeError):
        return stored
    text = str(MESSAGES.get(code, MESSAGES["internal"]))
    return text % params if params else text.replace("%%", "%")


def column_label(key: str) -> str:
    return str(COLUMN_LABELS.get(key, key))


COLUMN_LABELS = {
    "so_dinh_danh": _("Personal ID number (12 digits)"),
    "ho_ten": _("Full name"),
    "ngay_sinh": _("Birth date (dd/mm/yyyy, mm/yyyy or yyyy)"),
    "gioi_tinh": _("Sex (Nam/Nữ)"),
    "dan_toc": _("Ethnicity"),
    "ton_giao": _("Religion"),
    "quoc_tich": _("Nationality"),
    "noi_dang_ky_khai_sinh": _("Place of birth registration"),
    "que_quan": _("Place of origin"),
    "ma_xa_thuong_tru": _("Permanent residence: 2025 commune code (5 digits)"),
    "dia_chi_thuong_tru": _("Permanent address"),
    "ma_xa_tam_tru": _("Current residence: 2025 commune code"),
    "dia_chi_tam_tru": _("Current address"),
    "so_ho": _("Household number"),
    "quan_he_chu_ho": _("Relationship to the head of household"),
    "so_dien_thoai": _("Phone"),
    "tinh_trang": _("Life status (Còn sống/Đã chết)"),
    "ngay_mat": _("Date of death"),
    "nguoi_cao_tuoi": _("Elderly, frail (x)"),
    "khuyet_tat": _("Disability (x)"),
    "benh_nang": _("Serious illness (x)"),
    "song_mot_minh": _("Living alone (x)"),
    "gia_dinh_chinh_sach": _("War-merit family (x)"),
    "truong_hoc": _("School"),
    "lop": _("Grade"),
    "cmnd_cu": _("Old ID card number (9 or 12 digits)"),
    "loai_giay_to": _("Document kind"),
    "so_giay_to": _("Document number"),
    "ngay_cap": _("Issue date"),
    "noi_cap": _("Issued by"),
    "ngay_het_han": _("Expiry date"),
    "trang_thai_giay_to": _("Document status"),
}
