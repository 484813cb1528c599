"""Every encoding and both formats import the same citizens; malformed files fail clearly."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from cancuoc.registry.idnumber import generate
from cancuoc.registry.importing import encodings as enc
from cancuoc.registry.importing.services import import_run, import_start_from_path
from cancuoc.registry.models import Citizen

HANG = generate("042", "female", 1985, 701)
DUC = generate("042", "male", 1979, 702)
HEADER = ["Số định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã thường trú", "Quê quán"]
ROWS = [
    [HANG, "Nguyễn Thị Hằng", "17/05/1985", "Nữ", "18100", "Thạch Hà - Hà Tĩnh"],
    [DUC, "Trương Văn Đức", "1979", "Nam", "18100", "Cẩm Xuyên"],
]
EXPECTED = {
    HANG: ("Nguyễn Thị Hằng", "nguyen thi hang", "Thạch Hà - Hà Tĩnh"),
    DUC: ("Trương Văn Đức", "truong van duc", "Cẩm Xuyên"),
}


def _text(delimiter=","):
    return "\r\n".join(delimiter.join(r) for r in [HEADER, *ROWS]) + "\r\n"


def _run(path, actor, **options):
    job = import_start_from_path(actor=actor, path=path, **options)
    return import_run(job_id=job.pk)


def _imported():
    return {
        c.id_number: (c.full_name, c.search_name, c.place_of_origin) for c in Citizen.objects.all()
    }


ENCODERS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-sig": lambda t: t.encode("utf-8-sig"),
    "utf-16": lambda t: t.encode("utf-16"),
    "cp1258": enc.cp1258_encode,
    "tcvn3": enc.tcvn3_encode,
    "vni": enc.vni_encode,
}


@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_a_csv_in_each_encoding_is_detected_and_imported(world, alice, tmp_path, encoding):
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(ENCODERS[encoding](_text(";" if encoding == "vni" else ",")))
    job = _run(path, alice)
    assert (job.status, job.encoding, job.inserted, job.rejected) == ("done", encoding, 2, 0)
    assert _imported() == EXPECTED


def test_a_chosen_encoding_beats_detection(world, alice, tmp_path):
    path = tmp_path / "tcvn3.csv"
    path.write_bytes(enc.tcvn3_encode(_text()))
    job = _run(path, alice, encoding="tcvn3")
    assert (job.status, job.encoding, job.inserted) == ("done", "tcvn3", 2)


def test_an_xlsx_file_with_a_title_row_imports(world, alice, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH CÔNG DÂN XÃ THẠCH HÀ"])
    sheet.merge_cells("A1:F1")  # a merged title above the header is fine
    sheet.append(HEADER)
    sheet.append(
        [int(HANG), "Nguyễn Thị Hằng", dt.datetime(1985, 5, 17), "Nữ", 18100, "Thạch Hà - Hà Tĩnh"]
    )
    sheet.append(ROWS[1])
    path = tmp_path / "ds.xlsx"
    book.save(path)
    job = _run(path, alice)
    assert (job.status, job.file_format, job.inserted, job.rejected) == ("done", "xlsx", 2, 0)
    assert _imported() == EXPECTED  # the ID typed as a number got its leading zero back
    assert Citizen.objects.get(id_number=HANG).birth_date == dt.date(1985, 5, 17)


def test_an_old_excel_file_typed_with_the_abc_font_is_converted(world, alice, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:  # every text cell typed with the ABC font (.VnTime: lower case)
        sheet.append([row[0], *(enc.tcvn3_encode(v.lower()).decode("latin-1") for v in row[1:])])
    path = tmp_path / "abc.xlsx"
    book.save(path)
    job = _run(path, alice)
    assert (job.status, job.encoding, job.inserted) == ("done", "tcvn3", 2)
    assert Citizen.objects.get(id_number=HANG).full_name == "nguyễn thị hằng"


def _xlsx(tmp_path, build):
    book = openpyxl.Workbook()
    build(book.active)
    path = tmp_path / "bad.xlsx"
    book.save(path)
    return path


def test_merged_cells_in_the_data_fail_the_job(world, alice, tmp_path):
    def build(sheet):
        sheet.append(HEADER)
        sheet.append(ROWS[0])
        sheet.append(ROWS[1])
        sheet.merge_cells("F2:F3")

    job = _run(_xlsx(tmp_path, build), alice)
    assert job.status == "failed" and Citizen.objects.count() == 0
    assert json.loads(job.error_message) == {
        "code": "merged_cells",
        "params": {"first": 2, "last": 3, "count": 1},
    }


def test_several_header_rows_fail_the_job(world, alice, tmp_path):
    def build(sheet):
        sheet.append(["Thông tin cá nhân", None, None, None, "Nơi ở", None])
        sheet.append(HEADER)
        sheet.append(ROWS[0])

    job = _run(_xlsx(tmp_path, build), alice)
    assert job.status == "failed" and Citizen.objects.count() == 0
    assert json.loads(job.error_message)["code"] == "several_header_rows"

    def numbered(sheet):
        sheet.append(HEADER)
        sheet.append(["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"])
        sheet.append(ROWS[0])

    job = _run(_xlsx(tmp_path, numbered), alice)
    assert json.loads(job.error_message) == {
        "code": "several_header_rows",
        "params": {"first": 1, "last": 2},
    }


def test_bad_quotes_reject_the_row_and_the_rest_imports(world, alice, tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        ",".join(HEADER)
        + "\n"
        + ",".join(ROWS[0]).replace("Nguyễn Thị Hằng", '"Nguyễn" Thị Hằng')
        + "\n"
        + ",".join(ROWS[1])
        + "\n",
        encoding="utf-8",
    )
    job = _run(path, alice)
    assert (job.status, job.inserted, job.rejected) == ("done", 1, 1)
    error = job.row_errors.get()
    assert (error.row_number, error.code) == (2, "malformed_line")
    assert list(Citizen.objects.values_list("id_number", flat=True)) == [DUC]


def test_an_xls_file_is_refused_clearly(world, alice, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    job = _run(path, alice)
    assert job.status == "failed" and json.loads(job.error_message)["code"] == "xls_unsupported"
