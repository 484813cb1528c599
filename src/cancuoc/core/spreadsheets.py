"""Exports that officers open in Excel: text stays text, never a formula.

Names, addresses and raw cells come from the public and from uploaded files. A value
such as '=HYPERLINK("http://evil","x")' would be a live formula in Excel: in an XLSX
written by openpyxl (which turns any text starting with "=" into a formula) and in a CSV
(which Excel evaluates when it opens it). Every export goes through these helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Excel, LibreOffice and Google Sheets start a formula with any of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value for a CSV cell: text that a spreadsheet would run gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe(value) for value in values]


def xlsx_row(sheet: Any, values: Sequence[Any]) -> list[Any]:
    """The row for `sheet.append` (write-only or not) with every text as a string cell.

    The text is kept exactly as typed; only its cell type says "string".
    """
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
