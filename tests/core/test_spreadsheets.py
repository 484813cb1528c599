"""Exports never carry live formulas."""

import io

from openpyxl import Workbook, load_workbook

from cancuoc.core.spreadsheets import csv_row, csv_safe, xlsx_row

EVIL = '=HYPERLINK("http://evil","x")'


def test_csv_text_that_a_spreadsheet_would_run_gets_a_quote():
    assert csv_row([EVIL, "+84912", "-1", "@SUM(A1)", "Nguyễn Thị Hằng", 7, None]) == [
        "'" + EVIL,
        "'+84912",
        "'-1",
        "'@SUM(A1)",
        "Nguyễn Thị Hằng",
        7,
        None,
    ]
    assert csv_safe("\tx") == "'\tx"


def test_xlsx_text_is_a_string_cell_with_the_text_as_typed():
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(xlsx_row(sheet, [EVIL, "Nguyễn Thị Hằng", 42]))
    buffer = io.BytesIO()
    book.save(buffer)
    cells = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert [(c.value, c.data_type) for c in cells] == [
        (EVIL, "s"),
        ("Nguyễn Thị Hằng", "s"),
        (42, "n"),
    ]
