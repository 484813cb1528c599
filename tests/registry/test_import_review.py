"""Review findings on the citizen import (issue 3): household scope, document status,
formula-safe error reports, audited error reads, bulk mode only for operators."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from cancuoc.accounts.roles import Role
from cancuoc.core.models import AuditEntry
from cancuoc.registry.idnumber import generate
from cancuoc.registry.importing import bulkload
from cancuoc.registry.importing.services import import_run, import_start_from_path
from cancuoc.registry.importing.validation import RowValidator, UnitRef
from cancuoc.registry.importing.writers import Writer
from cancuoc.registry.models import Citizen, Household, IdentityDocument, ImportJob
from tests import factories

B1 = generate("042", "male", 1970, 301)
B2 = generate("042", "female", 1972, 302)
A1 = generate("042", "male", 1980, 303)
A2 = generate("042", "female", 1981, 304)
HOUSEHOLD_HEADER = (
    "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru,dia_chi_thuong_tru,so_ho,"
    "quan_he_chu_ho\n"
)


def _run(tmp_path, text, *, actor=None, name="people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_run(job_id=import_start_from_path(actor=actor, path=path).pk)


@pytest.fixture(params=["chunk", "row_by_row"])
def write_path(request, monkeypatch):
    """Both writer paths: the set-based chunk (PostgreSQL merge or SQLite upsert) and
    the row-by-row retry used when the database refuses a chunk."""
    if request.param == "row_by_row":
        monkeypatch.setattr(Writer, "write_chunk", lambda self, rows: self._row_by_row(rows))
    return request.param


# --- 1. A commune cannot take over another commune's household -----------------------------


def test_a_commune_cannot_take_over_another_communes_household(world, alice, tmp_path, write_path):
    manager_b = factories.user(unit=world.commune_b, role=Role.UNIT_MANAGER)
    own_b = (
        HOUSEHOLD_HEADER
        + f"{B1},Lê Văn Bình,1970,Nam,18200,Thôn B,HK-B-1,Chủ hộ\n"
        + f"{B2},Lê Thị Ba,1972,Nữ,18200,Thôn B,HK-B-1,Vợ\n"
    )
    first = _run(tmp_path, own_b, actor=manager_b, name="b.csv")
    assert (first.inserted, first.rejected) == (2, 0)
    household = Household.objects.get(number="HK-B-1")
    before = (household.unit_path, household.unit_id, household.address, household.head_id)
    assert before == (
        world.commune_b.path,
        world.commune_b.pk,
        "Thôn B",
        Citizen.objects.get(id_number=B1).pk,
    )

    takeover = (
        HOUSEHOLD_HEADER
        + f"{A1},Trần Văn An,1980,Nam,18100,Thôn A,HK-B-1,Chủ hộ\n"
        + f"{A2},Trần Thị Ánh,1981,Nữ,18100,Thôn A,HK-A-1,Chủ hộ\n"
    )
    job = _run(tmp_path, takeover, actor=alice, name="a.csv")
    assert (job.status, job.inserted, job.rejected) == ("done", 1, 1)
    error = job.row_errors.get()
    assert (error.row_number, error.field, error.value, error.code) == (
        2,
        "so_ho",
        "HK-B-1",
        "household_out_of_scope",
    )
    assert error.message_vi == (
        "Hộ HK-B-1 đăng ký ở ngoài địa bàn của đơn vị bạn: đề nghị đơn vị quản lý hộ đó điều chỉnh."
    )
    household.refresh_from_db()
    assert (household.unit_path, household.unit_id, household.address, household.head_id) == before
    assert not Citizen.objects.filter(id_number=A1).exists()
    # What is hers is written: her own new household, with its head.
    own = Household.objects.get(number="HK-A-1")
    assert (own.unit_path, own.head.id_number) == (world.commune_a.path, A2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY + merge path")
def test_the_postgresql_merge_refuses_a_household_out_of_scope(world, alice, tmp_path, monkeypatch):
    manager_b = factories.user(unit=world.commune_b, role=Role.UNIT_MANAGER)
    _run(
        tmp_path,
        HOUSEHOLD_HEADER + f"{B1},Lê Văn Bình,1970,Nam,18200,Thôn B,HK-B-1,Chủ hộ\n",
        actor=manager_b,
    )

    def no_fallback(self, rows):
        raise AssertionError("the merge must not fall back to row by row")

    monkeypatch.setattr(Writer, "_row_by_row", no_fallback)
    job = _run(
        tmp_path,
        HOUSEHOLD_HEADER
        + f"{A1},Trần Văn An,1980,Nam,18100,Thôn A,HK-B-1,Chủ hộ\n"
        + f"{A2},Trần Thị Ánh,1981,Nữ,18100,Thôn A,HK-B-1,Vợ\n",
        actor=alice,
        name="a.csv",
    )
    assert (job.inserted, job.rejected) == (0, 2)
    assert list(job.row_errors.values_list("row_number", "code")) == [
        (2, "household_out_of_scope"),
        (3, "household_out_of_scope"),
    ]
    household = Household.objects.get(number="HK-B-1")
    assert (household.unit_path, household.address, household.head.id_number) == (
        world.commune_b.path,
        "Thôn B",
        B1,
    )
    assert not Citizen.objects.filter(id_number__in=[A1, A2]).exists()


def test_a_household_in_scope_is_still_updated(world, alice, tmp_path, write_path):
    _run(
        tmp_path,
        HOUSEHOLD_HEADER + f"{A1},Trần Văn An,1980,Nam,18100,Thôn A,HK-A-1,Chủ hộ\n",
        actor=alice,
    )
    job = _run(
        tmp_path,
        HOUSEHOLD_HEADER + f"{A1},Trần Văn An,1980,Nam,18100,Thôn A mới,HK-A-1,Chủ hộ\n",
        actor=alice,
        name="v2.csv",
    )
    assert (job.updated, job.rejected) == (1, 0)
    assert Household.objects.get(number="HK-A-1").address == "Thôn A mới"


def test_a_household_row_needs_its_permanent_commune_in_scope():
    units = {
        "18100": UnitRef(1, "/2025/42/18100/", "42", True),
        "18200": UnitRef(2, "/2025/42/18200/", "42", False),
    }
    validator = RowValidator(
        fields={
            "so_dinh_danh": 0,
            "ho_ten": 1,
            "ma_xa_thuong_tru": 2,
            "ma_xa_tam_tru": 3,
            "so_ho": 4,
        },
        units=units,
        today=dt.date(2026, 1, 15),
    )
    # Living (temporarily) in scope but registered elsewhere: the household is elsewhere.
    refused = validator.validate(2, [A1, "An", "18200", "18100", "HK-B-1"])
    assert [(i.field, i.code, i.params) for i in refused] == [
        ("ma_xa_thuong_tru", "unit_out_of_scope", {"code": "18200"})
    ]
    # Without a household the row is the current commune's to write.
    kept = validator.validate(3, [A1, "An", "18200", "18100", ""])
    assert kept.citizen[17] == "/2025/42/18100/"


# --- 2. Re-importing never revives a cancelled / enrolled card ------------------------------

DOC_HEADER = "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru,so_giay_to,ngay_het_han\n"
DOC_ROW = f"{A1},Trần Văn An,1980,Nam,18100,{A1},01/01/2040\n"


@pytest.mark.parametrize("held", ["cancelled", "lost", "enrolled", "in_production"])
def test_reimporting_a_file_keeps_a_held_card_status(world, alice, tmp_path, write_path, held):
    path_text = DOC_HEADER + DOC_ROW
    first = _run(tmp_path, path_text, actor=alice)
    assert first.inserted == 1
    document = IdentityDocument.objects.get()
    assert document.status == "valid"
    IdentityDocument.objects.filter(pk=document.pk).update(status=held)  # e.g. death registered
    again = _run(tmp_path, path_text, actor=alice, name="again.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert IdentityDocument.objects.get().status == held
    # Even a file stating "valid" does not bring it back.
    stated = DOC_HEADER.replace("\n", ",trang_thai_giay_to\n") + DOC_ROW.replace("\n", ",Còn hạn\n")
    third = _run(tmp_path, stated, actor=alice, name="stated.csv")
    assert (third.updated, third.unchanged) == (0, 1)
    assert IdentityDocument.objects.get().status == held


def test_a_stated_status_and_other_document_changes_count_as_updated(
    world, alice, tmp_path, write_path
):
    _run(tmp_path, DOC_HEADER + DOC_ROW, actor=alice)
    expiry = _run(tmp_path, DOC_HEADER + DOC_ROW.replace("2040", "2041"), actor=alice, name="e.csv")
    assert (expiry.updated, expiry.unchanged) == (1, 0)
    assert IdentityDocument.objects.get().expiry_date == dt.date(2041, 1, 1)
    header = DOC_HEADER.replace("\n", ",trang_thai_giay_to\n")
    cancel = _run(
        tmp_path,
        header + DOC_ROW.replace("2040", "2041").replace("\n", ",Đã hủy\n"),
        actor=alice,
        name="c.csv",
    )
    assert (cancel.updated, cancel.unchanged) == (1, 0)
    assert IdentityDocument.objects.get().status == "cancelled"
    # A new document for a known citizen is a change too.
    old = DOC_HEADER.replace("\n", ",cmnd_cu\n") + DOC_ROW.replace("2040", "2041").replace(
        "\n", ",123456789\n"
    )
    added = _run(tmp_path, old, actor=alice, name="o.csv")
    assert (added.updated, added.unchanged) == (1, 0)
    assert IdentityDocument.objects.count() == 2


# --- 3 and 4. The error report: formula-safe, and every read audited ------------------------


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


EVIL = '=HYPERLINK("http://evil","x")'
EVIL_TEXT = (
    "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru\n"
    f'{A1},Trần Văn An,1980,"=HYPERLINK(""http://evil"",""x"")",18100\n'
)


def _upload(client, post, text=EVIL_TEXT):
    data = {"file": SimpleUploadedFile("ds.csv", text.encode("utf-8")), "encoding": "auto"}
    post(client, reverse("registry:imports"), data)
    return ImportJob.objects.latest("created_at")


def test_the_error_report_never_holds_a_live_formula(client, alice, on_commit):
    client.force_login(alice)
    job = _upload(client, on_commit)
    assert list(job.row_errors.values_list("field", "value")) == [("gioi_tinh", EVIL)]
    url = reverse("registry:import_errors", args=[job.pk])
    body = b"".join(client.get(url + "?format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][:4] == ["2", "gioi_tinh", "'" + EVIL, "sex_invalid"]
    xlsx = client.get(url + "?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    cell = sheet.cell(row=2, column=3)
    assert (cell.value, cell.data_type) == (EVIL, "s")


def test_every_read_of_the_error_report_is_audited(client, alice, carl, on_commit):
    client.force_login(alice)
    job = _upload(client, on_commit)
    url = reverse("registry:import_errors", args=[job.pk])
    assert AuditEntry.objects.filter(action="import.errors.view").count() == 0
    b"".join(client.get(url + "?format=csv").streaming_content)
    b"".join(client.get(url + "?format=xlsx").streaming_content)
    api = client.get(f"/api/v1/registry/imports/{job.pk}/errors")
    assert api.status_code == 200 and api.json()["count"] == 1
    reads = AuditEntry.objects.filter(action="import.errors.view").order_by("id")
    assert [(e.actor_id, e.object_id, e.detail["job"]) for e in reads] == [
        (alice.pk, str(job.pk), str(job.pk))
    ] * 3
    assert reads[0].unit_path == world_path(job)
    # Someone outside the unit reads nothing and leaves no read behind.
    client.force_login(carl)
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/registry/imports/{job.pk}/errors").status_code == 404
    assert AuditEntry.objects.filter(action="import.errors.view").count() == 3


def world_path(job: ImportJob) -> str:
    return job.unit.path


# --- 5. Bulk-load mode only for operators and system administrators --------------------------


@pytest.fixture
def bulk_spy(monkeypatch):
    """Bulk mode 'wanted' for any file; records whether an import entered it."""
    entered: list[str] = []
    monkeypatch.setattr(bulkload, "available", lambda: True)
    monkeypatch.setattr(bulkload, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(bulkload, "BULK_RATIO", 0)
    monkeypatch.setattr(bulkload, "existing_share", lambda numbers: 0.0)
    monkeypatch.setattr(bulkload, "estimated_citizens", lambda: 0)
    monkeypatch.setattr(bulkload, "restore_dropped_indexes", lambda: None)
    monkeypatch.setattr(bulkload.BulkLoad, "begin", lambda self: entered.append(str(self.job.pk)))
    return entered


BULK_TEXT = (
    "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru\n"
    + f"{A1},Trần Văn An,1980,Nam,18100\n"
)


def test_a_commune_web_upload_never_enters_bulk_mode(client, alice, on_commit, bulk_spy):
    client.force_login(alice)
    job = _upload(client, on_commit, BULK_TEXT)
    assert (job.status, job.inserted, bulk_spy) == ("done", 1, [])


def test_the_command_line_and_a_system_administrator_may_use_bulk_mode(
    client, world, alice, root, tmp_path, on_commit, bulk_spy
):
    cli = _run(tmp_path, BULK_TEXT, actor=alice)
    operator = _run(tmp_path, BULK_TEXT, name="op.csv")
    client.force_login(root)
    web = _upload(client, on_commit, BULK_TEXT.replace("Trần Văn An", "Trần Văn Ân"))
    assert (cli.status, operator.status, web.status) == ("done", "done", "done")
    assert bulk_spy == [str(cli.pk), str(operator.pk), str(web.pk)]
