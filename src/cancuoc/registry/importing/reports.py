"""Downloads: the error report of a job (CSV or XLSX) and the empty template."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cancuoc.core.spreadsheets import csv_row, xlsx_row
from cancuoc.registry.importing.columns import COLUMNS, REQUIRED
from cancuoc.registry.importing.messages import column_label
from cancuoc.registry.models import ImportRowError


def _error_header() -> list[str]:
    return [_("Row"), _("Column"), _("Value"), _("Error code"), _("Problem")]


def _error_rows(errors: QuerySet[ImportRowError]) -> Iterator[list[object]]:
    english = (get_language() or "vi").startswith("en")
    for e in errors.iterator(chunk_size=5000):
        yield [e.row_number, e.field, e.value, e.code, e.message_en if english else e.message_vi]


class _Echo:
    def write(self, value: str) -> str:
        return value


def error_report_csv(errors: QuerySet[ImportRowError]) -> Iterable[str]:
    """Streamed CSV (UTF-8 with BOM, so Excel shows the Vietnamese letters)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(csv_row(_error_header()))
    # Rejected cells are the uploader's text: never a formula in the officer's Excel.
    for row in _error_rows(errors):
        yield writer.writerow(csv_row(row))


def error_report_xlsx(errors: QuerySet[ImportRowError]) -> tempfile.SpooledTemporaryFile[bytes]:
    """XLSX written in openpyxl's write-only mode (rows stream to disk)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("Rejected rows"))
    sheet.append(xlsx_row(sheet, _error_header()))
    for row in _error_rows(errors):
        sheet.append(xlsx_row(sheet, row))
    # Returned open: the FileResponse streaming it closes it.
    out: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out


def template_csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([c.key for c in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "danh_sach"
    sheet.append([c.key for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.number_format = "@"
    # Text format keeps leading zeros of ID numbers and commune codes.
    for column in sheet.iter_cols(min_row=2, max_row=2):
        for cell in column:
            cell.number_format = "@"
    guide = book.create_sheet(_("Guide"))
    guide.append([_("Column"), _("Meaning"), _("Required")])
    for c in COLUMNS:
        guide.append([c.key, column_label(c.key), _("yes") if c.key in REQUIRED else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
