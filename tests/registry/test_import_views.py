"""Import pages and API: upload, progress JSON, error report downloads, template, access."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cancuoc.registry.idnumber import generate
from cancuoc.registry.models import Citizen, ImportJob

GOOD = generate("042", "female", 1985, 501)
TEXT = (
    "Số định danh,Họ và tên,Ngày sinh,Giới tính,Mã xã thường trú\n"
    f"{GOOD},Nguyễn Thị Hằng,17/05/1985,Nữ,18100\n"
    "0420851,Sai Số,1985,Nữ,18100\n"
)


def _login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the enqueued task (ImmediateBackend) when the upload's transaction commits."""

    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def _upload(client, post, text=TEXT, name="ds.csv"):
    data = {"file": SimpleUploadedFile(name, text.encode("utf-8")), "encoding": "auto"}
    return post(client, reverse("registry:imports"), data)


def test_an_upload_runs_the_import_and_shows_the_finished_progress(client, alice, on_commit):
    response = _upload(_login(client, alice), on_commit)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("registry:import", args=[job.pk])
    assert (job.status, job.inserted, job.rejected, job.created_by_id) == ("done", 1, 1, alice.pk)
    assert Citizen.objects.get().full_name == "Nguyễn Thị Hằng"
    page = client.get(response.url)
    assert page.status_code == 200
    assert 'value="100"' in page.content.decode()
    progress = client.get(reverse("registry:import_progress", args=[job.pk])).json()
    assert (
        progress["percent"],
        progress["inserted"],
        progress["rejected"],
        progress["finished"],
    ) == (
        100,
        1,
        1,
        True,
    )


def test_the_error_report_downloads_as_csv_and_xlsx(client, alice, on_commit):
    _upload(_login(client, alice), on_commit)
    job = ImportJob.objects.get()
    url = reverse("registry:import_errors", args=[job.pk])
    body = b"".join(client.get(url + "?format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows == [
        ["Dòng", "Cột", "Giá trị", "Mã lỗi", "Lỗi"],
        [
            "3",
            "so_dinh_danh",
            "0420851",
            "id_format",
            "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        ],
    ]
    xlsx = client.get(url + "?format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    values = list(book.active.iter_rows(values_only=True))
    assert values[1] == (
        3,
        "so_dinh_danh",
        "0420851",
        "id_format",
        "Số định danh cá nhân phải gồm đúng 12 chữ số.",
    )


def test_the_template_lists_every_column(client, alice, on_commit):
    _login(client, alice)
    text = client.get(reverse("registry:import_template") + "?format=csv").content.decode(
        "utf-8-sig"
    )
    assert text.splitlines()[0].startswith("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,")
    xlsx = client.get(reverse("registry:import_template"))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.worksheets[0]["A1"].value == "so_dinh_danh" and len(book.worksheets) == 2


def test_a_clerk_cannot_upload_and_nothing_is_created(client, bob, on_commit):
    response = _upload(_login(client, bob), on_commit)
    assert response.status_code == 403 and ImportJob.objects.count() == 0


def test_another_unit_cannot_see_the_job(client, alice, carl, on_commit):
    _upload(_login(client, alice), on_commit)
    job = ImportJob.objects.get()
    client.force_login(carl)
    assert client.get(reverse("registry:import", args=[job.pk])).status_code == 404
    assert client.get(reverse("registry:import_progress", args=[job.pk])).status_code == 404
    assert client.get(reverse("registry:import_errors", args=[job.pk])).status_code == 404


def test_the_province_manager_sees_the_commune_job(client, alice, hana, on_commit):
    _upload(_login(client, alice), on_commit)
    client.force_login(hana)
    assert client.get(reverse("registry:imports")).content.decode().count("ds.csv") == 1


def test_the_api_uploads_and_reports(client, alice, carl, on_commit):
    _login(client, alice)
    response = on_commit(
        client,
        "/api/v1/registry/imports",
        {"file": SimpleUploadedFile("api.csv", TEXT.encode()), "encoding": "auto"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"  # the task runs after the commit
    data = client.get(f"/api/v1/registry/imports/{response.json()['id']}").json()
    assert (data["status"], data["inserted"], data["rejected"], data["percent"]) == (
        "done",
        1,
        1,
        100,
    )
    errors = client.get(f"/api/v1/registry/imports/{data['id']}/errors").json()
    assert [e["code"] for e in errors["items"]] == ["id_format"]
    client.force_login(carl)
    assert client.get(f"/api/v1/registry/imports/{data['id']}").status_code == 404
    assert client.get("/api/v1/registry/imports").json()["count"] == 0


def test_an_undetectable_file_shows_a_clear_error(client, alice, on_commit):
    _login(client, alice)
    on_commit(
        client,
        reverse("registry:imports"),
        {"file": SimpleUploadedFile("x.csv", bytes(range(128, 256)) * 4), "encoding": "auto"},
    )
    job = ImportJob.objects.get()
    page = client.get(reverse("registry:import", args=[job.pk])).content.decode()
    assert job.status == "failed"
    assert "Không nhận ra bảng mã của tệp" in page
