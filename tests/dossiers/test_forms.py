"""Printed forms (Mẫu 01–06): Vietnamese text intact, the paper the law sets, scope."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from cancuoc.core.models import AuditEntry
from cancuoc.dossiers import printing
from cancuoc.dossiers.models import FormVersion
from tests.portal import builders
from tests.portal.builders import at

pytestmark = pytest.mark.django_db

A5 = (419.53, 595.28)
A4_LANDSCAPE = (841.89, 595.28)


def _pdf(response) -> tuple[str, tuple[float, float], int]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    box = reader.pages[0].mediabox
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Extraction may return decomposed marks, and a long cell wraps onto two lines.
    return (
        " ".join(unicodedata.normalize("NFC", text).split()),
        (round(float(box.width), 2), round(float(box.height), 2)),
        len(reader.pages),
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(dossier, form: str) -> str:
    return f"/desk/dossiers/{dossier.pk}/forms/{form}.pdf"


def test_receipt_slip_prints_the_vietnamese_text_on_a5_with_the_due_date(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice, due=dt.date(2025, 8, 6))
    text, size, pages = _pdf(_client(alice).get(_url(d, "01")))
    assert size == A5
    assert pages == 1
    for phrase in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Mẫu số 01",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "UBND TỈNH HÀ TĨNH",
        "XÃ THẠCH HÀ",
        f"Mã hồ sơ: {d.code}",
        "Ông/bà: Nguyễn Thị Hằng",
        "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
        "Tờ khai đăng ký khai sinh",
        "Giấy chứng sinh",
        "3 ngày làm việc",
        "Thời gian nhận hồ sơ: 09 giờ 30 phút, ngày 01 tháng 08 năm 2025",
        "ngày 06 tháng 08 năm 2025",
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ):
        assert phrase in text, phrase
    assert "Thời gian trả kết quả giải quyết hồ sơ:" in text


def test_receipt_slip_carries_a_qr_code_of_the_public_lookup(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    context = printing.form_context(
        dossier=d,
        form="01",
        transitions=list(d.transitions.all()),
        lookup_url=f"http://testserver/portal/?code={d.code}",
    )
    assert context["qr_svg"].startswith("<svg")
    # The view builds the absolute URL of portal:lookup with the code filled in.
    from django.test import RequestFactory

    from cancuoc.dossiers.views.forms import lookup_url

    request = RequestFactory().get("/", HTTP_HOST="cancuoc.example.vn")
    assert lookup_url(request, "A.B-1") == "http://cancuoc.example.vn/portal/?code=A.B-1"


def test_supplement_refusal_and_apology_forms_print_their_content(world, alice):
    d = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        status="in_appraisal",
        apology_due_date=dt.date(2025, 8, 12),
        steps=[
            ("transfer", "transferred", at(2025, 8, 1, 10), {}),
            (
                "supplement_request",
                "supplement",
                at(2025, 8, 1, 11),
                {"missing": ["Bản sao giấy đăng ký kết hôn"]},
            ),
            ("supplement_receive", "in_appraisal", at(2025, 8, 4, 9), {}),
            (
                "apologise",
                "in_appraisal",
                at(2025, 8, 5, 9),
                {"new_date": "2025-08-12", "reason": "Cần xác minh thêm thông tin."},
            ),
            (
                "refuse",
                "refused",
                at(2025, 8, 6, 9),
                {"reason": "Người yêu cầu không đủ điều kiện."},
            ),
        ],
    )
    client = _client(alice)
    text, size, _ = _pdf(client.get(_url(d, "02")))
    assert size == A5
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert "Bản sao giấy đăng ký kết hôn" in text
    text, _, _ = _pdf(client.get(_url(d, "03")))
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Người yêu cầu không đủ điều kiện." in text
    text, _, _ = _pdf(client.get(_url(d, "04")))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert "Cần xác minh thêm thông tin." in text
    assert "ngày 12 tháng 08 năm 2025" in text
    text, size, _ = _pdf(client.get(_url(d, "05")))
    assert size == A5
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
    assert "Yêu cầu bổ sung hồ sơ" in text
    assert "Xin lỗi, hẹn lại ngày trả" in text


def test_a_form_with_nothing_to_say_is_not_found(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = _client(alice)
    for form in ("02", "03", "04"):
        assert client.get(_url(d, form)).status_code == 404
    assert client.get(f"/desk/dossiers/{d.pk}/forms/07.pdf").status_code == 404
    rejected = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        status="rejected",
    )
    assert client.get(_url(rejected, "01")).status_code == 404
    assert printing.forms_applicable(
        dossier=rejected, transitions=list(rejected.transitions.all())
    ) == ["03", "05"]


def test_another_communes_officer_gets_no_pdf_and_nothing_is_audited(world, alice, bob, carl):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    for intruder in (bob, carl):
        response = _client(intruder).get(_url(d, "01"))
        assert response.status_code == 404
        assert response["Content-Type"] != "application/pdf"
    assert not AuditEntry.objects.filter(action="dossier.form_print").exists()
    anonymous = Client().get(_url(d, "01"))
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_the_province_manager_prints_and_the_print_is_audited(world, alice, hana):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    text, _, _ = _pdf(_client(hana).get(_url(d, "05")))
    assert d.code in text
    entry = AuditEntry.objects.get(action="dossier.form_print")
    assert (entry.actor, entry.object_id, entry.detail) == (hana, str(d.pk), {"form": "05"})


def test_the_version_in_force_on_the_receipt_day_chooses_the_template(world, alice):
    assert printing.form_versions_ensure() == 6
    assert printing.form_versions_ensure() == 0
    old = FormVersion.objects.get(form="01", version="TT01-2018")
    old.valid_to = dt.date(2025, 6, 30)
    old.save()
    # A new circular's layout is a row (here: the same template on A4), no code change.
    FormVersion.objects.create(
        form="01",
        version="TT03-2025",
        title="Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        template_name=old.template_name,
        paper="A4",
        valid_from=dt.date(2025, 7, 1),
    )
    before = builders.dossier(unit=world.commune_a, officer=alice, received=at(2025, 6, 30, 9))
    after = builders.dossier(unit=world.commune_a, officer=alice, received=at(2025, 7, 1, 9))
    ancient = builders.dossier(unit=world.commune_a, officer=alice, received=at(2018, 3, 1, 9))
    client = _client(alice)
    assert _pdf(client.get(_url(before, "01")))[1] == A5
    assert _pdf(client.get(_url(after, "01")))[1] == (595.28, 841.89)
    assert _pdf(client.get(_url(ancient, "01")))[1] == A5


def test_form_versions_are_seeded_lazily_and_by_the_command(world, alice, capsys):
    assert FormVersion.objects.count() == 0
    d = builders.dossier(unit=world.commune_a, officer=alice)
    _pdf(_client(alice).get(_url(d, "01")))
    assert FormVersion.objects.count() == 6
    FormVersion.objects.filter(form="06").update(title="Sổ đã sửa")
    call_command("load-forms")
    assert capsys.readouterr().out.strip() == '{"created": 0, "total": 6}'
    assert FormVersion.objects.get(form="06").title == "Sổ đã sửa"


def _tracking_data(world, alice, bob):
    first = builders.returned(unit=world.commune_a, officer=alice, applicant_name="Trần Văn Bình")
    second = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        received=at(2025, 8, 3, 14),
        applicant_name="Lê Thị Ánh",
    )
    builders.dossier(unit=world.commune_a, officer=alice, received=at(2025, 9, 1, 8))
    builders.dossier(unit=world.commune_b, officer=bob, applicant_name="Phạm Người Khác")
    return first, second


def test_tracking_log_pdf_lists_the_units_dossiers_of_the_period_on_a4_landscape(world, alice, bob):
    first, second = _tracking_data(world, alice, bob)
    response = _client(alice).get(
        "/desk/tracking-log/", {"from": "2025-08-01", "to": "2025-08-31", "format": "pdf"}
    )
    text, size, _ = _pdf(response)
    assert size == A4_LANDSCAPE
    assert "SỔ THEO DÕI HỒ SƠ" in text
    assert "Mẫu số 06" in text
    assert first.code in text and second.code in text
    assert "Trần Văn Bình" in text and "Lê Thị Ánh" in text
    assert "Phạm Người Khác" not in text  # commune B is not alice's
    assert "Trước hạn" in text


def test_tracking_log_excel_has_one_row_per_dossier_with_the_form_columns(world, alice, bob):
    first, second = _tracking_data(world, alice, bob)
    response = _client(alice).get(
        "/desk/tracking-log/", {"from": "2025-08-01", "to": "2025-08-31", "format": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == printing.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[3] == printing.LOG_HEADERS
    body = rows[4:]
    assert [(r[0], r[1], r[4]) for r in body] == [
        (1, first.code, "Trần Văn Bình"),
        (2, second.code, "Lê Thị Ánh"),
    ]
    assert body[0][7] == dt.datetime(2025, 8, 1, 9, 30)
    assert body[0][9] == dt.datetime(2025, 8, 1, 10, 30)  # transferred
    assert body[0][10] == dt.datetime(2025, 8, 5, 9, 30)  # result back from the resolver
    assert body[0][11] == dt.datetime(2025, 8, 5, 10, 30)  # returned
    assert body[0][12] == "Trước hạn"
    assert AuditEntry.objects.filter(action="dossier.tracking_log", actor=alice).count() == 1


def test_tracking_log_excel_stores_formula_like_text_as_plain_strings(world, alice):
    evil = '=HYPERLINK("http://evil","x")'
    builders.dossier(
        unit=world.commune_a,
        officer=alice,
        applicant_name=evil,
        applicant_address="@SUM(1+1)",
        applicant_phone="",
    )
    response = _client(alice).get(
        "/desk/tracking-log/", {"from": "2025-08-01", "to": "2025-08-31", "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    name, contact = sheet.cell(row=5, column=5), sheet.cell(row=5, column=6)
    assert (name.value, name.data_type) == (evil, "s")
    assert (contact.value, contact.data_type) == ("@SUM(1+1)", "s")
    # Nowhere in the sheet is there a formula (the raw XML has no <f> element).
    assert all(c.data_type != "f" for line in sheet.iter_rows() for c in line)
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


def test_tracking_log_refuses_a_bad_period_and_shows_its_form(world, alice):
    client = _client(alice)
    page = client.get("/desk/tracking-log/")
    assert page.status_code == 200
    assert 'name="from"' in page.content.decode()
    bad = client.get(
        "/desk/tracking-log/", {"from": "2025-08-31", "to": "2025-08-01", "format": "pdf"}
    )
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("text/html")


def test_forms_api_returns_pdf_bytes_in_scope_only(world, alice, bob):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    text, size, _ = _pdf(_client(alice).get(f"/api/v1/dossiers/{d.pk}/forms/01"))
    assert size == A5 and "Nguyễn Thị Hằng" in text
    denied = _client(bob).get(f"/api/v1/dossiers/{d.pk}/forms/01")
    assert denied.status_code == 404
    assert denied["Content-Type"].startswith("application/json")
    assert _client(alice).get(f"/api/v1/dossiers/{d.pk}/forms/03").status_code == 404
    log = _client(alice).get(
        "/api/v1/dossiers/tracking-log",
        {"from": "2025-08-01", "to": "2025-08-31", "format": "xlsx"},
    )
    assert log.status_code == 200
    assert log["Content-Type"] == printing.XLSX_TYPE


def test_vietnamese_dates_are_written_as_the_forms_write_them():
    assert printing.vn_date(dt.date(2025, 3, 5)) == "ngày 05 tháng 03 năm 2025"
    assert (
        printing.vn_datetime(at(2025, 3, 5, 16, 7)) == "16 giờ 07 phút, ngày 05 tháng 03 năm 2025"
    )
