"""Importing citizens: upserts, per-row errors, households, documents, scope, idempotence."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cancuoc.core.errors import PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.registry.idnumber import generate
from cancuoc.registry.importing.services import import_run, import_start_from_path
from cancuoc.registry.models import Citizen, Household, IdentityDocument, ImportJob
from tests import factories

HEADER = (
    "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru,dia_chi_thuong_tru,so_ho,"
    "quan_he_chu_ho,cmnd_cu,nguoi_cao_tuoi\n"
)
HANG = generate("042", "female", 1985, 123)
NAM = generate("042", "male", 1982, 124)
CON = generate("042", "male", 2010, 125)


def _csv(tmp_path, text, name="people.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _run(path, *, actor=None, unit=None, **options):
    job = import_start_from_path(actor=actor, path=path, unit=unit, **options)
    return import_run(job_id=job.pk)


GOOD = (
    HEADER
    + f"{HANG},Nguyễn Thị Hằng,17/05/1985,Nữ,18100,Thôn 1,HK001,Vợ,123456789,\n"
    + f"{NAM},Trần Văn Nam,1982,Nam,18100,Thôn 1,HK001,Chủ hộ,,x\n"
    + f"{CON},Trần Văn Con,03/2010,Nam,18100,Thôn 1,HK001,Con,,\n"
)


def test_it_imports_citizens_with_households_and_old_id_cards(world, alice, tmp_path):
    job = _run(_csv(tmp_path, GOOD), actor=alice)
    assert (job.status, job.processed_rows, job.inserted, job.updated, job.rejected) == (
        "done",
        3,
        3,
        0,
        0,
    )
    hang = Citizen.objects.get(id_number=HANG)
    assert hang.full_name == "Nguyễn Thị Hằng" and hang.search_name == "nguyen thi hang"
    assert (hang.birth_date, hang.birth_precision, hang.birth_year, hang.sex) == (
        dt.date(1985, 5, 17),
        "day",
        1985,
        "F",
    )
    assert hang.unit_path == world.commune_a.path and hang.province_code == "42"
    nam = Citizen.objects.get(id_number=NAM)
    assert (nam.birth_date, nam.birth_precision, nam.frail_elderly) == (
        dt.date(1982, 1, 1),
        "year",
        True,
    )
    con = Citizen.objects.get(id_number=CON)
    assert (con.birth_date, con.birth_precision, con.relationship) == (
        dt.date(2010, 3, 1),
        "month",
        "child",
    )
    household = Household.objects.get(number="HK001")
    assert household.head_id == nam.pk and household.unit_id == world.commune_a.pk
    assert set(household.members.values_list("id_number", flat=True)) == {HANG, NAM, CON}
    document = IdentityDocument.objects.get(citizen=hang)
    assert (document.kind, document.number, document.status) == ("cmnd9", "123456789", "expired")
    audit = AuditEntry.objects.filter(action="registry.import")
    assert audit.count() == 1 and audit.get().detail["inserted"] == 3


def test_a_second_import_of_the_same_file_changes_nothing(world, alice, tmp_path):
    path = _csv(tmp_path, GOOD)
    _run(path, actor=alice)
    before = list(Citizen.objects.order_by("id").values())
    again = _run(path, actor=alice)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert list(Citizen.objects.order_by("id").values()) == before
    assert IdentityDocument.objects.count() == 1 and Household.objects.count() == 1


def test_a_changed_row_updates_only_that_citizen(world, alice, tmp_path):
    _run(_csv(tmp_path, GOOD), actor=alice)
    changed = GOOD.replace("Trần Văn Con", "Trần Văn Còn")
    job = _run(_csv(tmp_path, changed, name="v2.csv"), actor=alice)
    assert (job.inserted, job.updated, job.unchanged) == (0, 1, 2)
    con = Citizen.objects.get(id_number=CON)
    assert (con.full_name, con.search_name) == ("Trần Văn Còn", "tran van con")


def test_every_rejected_row_is_reported_and_nothing_of_it_is_written(world, alice, tmp_path):
    text = (
        HEADER
        + f"{HANG},Nguyễn Thị Hằng,17/05/1985,Nữ,18100,,,,,\n"
        + f"{HANG},Nguyễn Thị Hằng Hai,17/05/1985,Nữ,18100,,,,,\n"  # duplicate in file
        + f"{generate('042', 'male', 1990, 5)},Sai Giới,1990,Nữ,18100,,,,,\n"  # sex mismatch
        + "12345,Ngắn Quá,1990,Nam,18100,,,,,\n"  # malformed ID
        + f"{generate('042', 'male', 1991, 6)},Lạc Xã,1991,Nam,99999,,,,,\n"  # unknown unit
        + f"{generate('042', 'male', 1992, 7)},Xã Khác,1992,Nam,18200,,,,,\n"  # out of scope
        + f"{generate('042', 'male', 1993, 8)},Ngày Sai,31/02/1993,Nam,18100,,,,,\n"
        + f"{generate('042', 'male', 1994, 9)},Thiếu Cột,1994\n"
        + f"{generate('042', 'male', 1995, 10)},,1995,Nam,18100,,,,,\n"
        + f"{generate('042', 'male', 1996, 11)},Cờ Sai,1996,Nam,18100,,,,,maybe\n"
    )
    job = _run(_csv(tmp_path, text), actor=alice)
    assert (job.status, job.processed_rows, job.inserted, job.rejected) == ("done", 10, 1, 9)
    errors = list(job.row_errors.values_list("row_number", "field", "code"))
    assert errors == [
        (3, "so_dinh_danh", "duplicate_in_file"),
        (4, "so_dinh_danh", "id_sex_mismatch"),
        (5, "so_dinh_danh", "id_format"),
        (6, "ma_xa_thuong_tru", "unit_unknown"),
        (7, "ma_xa_thuong_tru", "unit_out_of_scope"),
        (8, "ngay_sinh", "date_invalid"),
        (9, "", "column_count"),
        (10, "ho_ten", "required"),
        (11, "nguoi_cao_tuoi", "flag_invalid"),
    ]
    first = job.row_errors.first()
    assert first.message_vi == "Số định danh đã có ở dòng 2 của tệp này."
    assert first.message_en == "The ID number already appears on row 2 of this file."
    assert list(Citizen.objects.values_list("id_number", flat=True)) == [HANG]


def test_a_citizen_of_another_unit_is_not_overwritten(world, alice, tmp_path):
    other = factories.citizen(
        unit=world.commune_b, full_name="Lê Văn Bình", id_number=NAM, birth_date=dt.date(1982, 4, 4)
    )
    job = _run(_csv(tmp_path, GOOD), actor=alice)
    assert (job.inserted, job.rejected) == (2, 1)
    assert job.row_errors.get().code == "citizen_out_of_scope"
    other.refresh_from_db()
    assert (other.full_name, other.unit_path) == ("Lê Văn Bình", world.commune_b.path)


def test_an_officer_without_the_capability_cannot_start_an_import(world, bob, tmp_path):
    with pytest.raises(PermissionDenied):
        import_start_from_path(actor=bob, path=_csv(tmp_path, GOOD))
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf\r\n", "empty_file"),
        (b"name,age\nAn,3\n", "no_header"),
        (b"\x93\x81\xfe\xfa\x80\x99\xa5\xff\n\x8f\x8e\x9a\x82\n", "encoding_undetectable"),
        (b"so_dinh_danh,ho_ten,gioi_tinh\n001090000001,An,Nam\n", "missing_columns"),
        (HEADER.encode(), "no_rows"),
    ],
)
def test_a_file_level_problem_fails_the_job_before_writing(world, alice, tmp_path, content, code):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    job = _run(path, actor=alice)
    assert job.status == "failed" and json.loads(job.error_message)["code"] == code
    assert Citizen.objects.count() == 0


def test_an_operator_without_a_user_imports_anywhere(world, tmp_path):
    job = _run(_csv(tmp_path, GOOD))
    assert (job.status, job.inserted, job.unit_id) == ("done", 3, world.nation.pk)
