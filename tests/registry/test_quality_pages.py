"""Quality pages and API: report, drill-down, exports, recomputation, scope."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from cancuoc.core.models import AuditEntry
from cancuoc.registry.models import QualityRun
from cancuoc.registry.quality import RULE_CODES
from tests import factories
from tests.registry.test_quality import person, plant


@pytest.fixture
def checked(world, alice, client, django_capture_on_commit_callbacks):
    """Commune A planted and checked by alice (through the page)."""
    expected = plant(world.commune_a, "A")
    plant(world.commune_b, "BB")
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/registry/quality/recompute/", {"unit": world.commune_a.pk})
    assert response.status_code == 302
    return expected


def test_the_report_shows_counts_per_rule_in_vietnamese(checked, client):
    response = client.get("/registry/quality/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nghi trùng người" in html and "Hộ không có chủ hộ" in html
    run = QualityRun.objects.get()
    assert run.counts == {code: len(checked[code]) for code in RULE_CODES}
    assert '<tr data-rule="duplicate_person">' in html
    assert 'id="recompute"' in html


def test_the_drill_down_lists_the_findings_with_details(checked, client, world):
    response = client.get(f"/registry/quality/id_sex_mismatch/?unit={world.commune_a.pk}")
    html = response.content.decode()
    assert "A Sai Giới" in html and "Số định danh ghi nam, hồ sơ ghi nữ" in html
    assert "A Sai Năm" not in html
    households = client.get("/registry/quality/household_without_head/").content.decode()
    assert "A-H2" in households and "A-H3" not in households


def test_exports_hold_exactly_the_rules_findings(checked, client):
    response = client.get("/registry/quality/duplicate_person/export/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Quy tắc", "số định danh cá nhân", "họ và tên"]
    assert sorted(row[2] for row in rows[1:]) == sorted(checked["duplicate_person"])
    response = client.get("/registry/quality/cmnd9_only/export/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert [row[2] for row in values[1:]] == ["A Chỉ CMND"]
    assert AuditEntry.objects.filter(action="quality.export").count() == 2


def test_another_units_report_is_not_found(checked, client, world, bob):
    assert client.get(f"/registry/quality/?unit={world.commune_b.pk}").status_code == 404
    assert client.get(f"/registry/quality/cmnd9_only/?unit={world.commune_b.pk}").status_code == 404
    response = client.get(f"/registry/quality/cmnd9_only/export/?unit={world.hatinh.pk}")
    assert response.status_code == 404
    assert (
        client.post("/registry/quality/recompute/", {"unit": world.commune_b.pk}).status_code == 404
    )
    client.force_login(bob)  # a clerk reads but may not recompute
    page = client.get("/registry/quality/").content.decode()
    assert 'id="recompute"' not in page
    assert client.post("/registry/quality/recompute/", {}).status_code == 403
    assert QualityRun.objects.count() == 1


def test_a_commune_officer_sees_nothing_of_a_province_run_outside_the_commune(
    world, hana, alice, client, django_capture_on_commit_callbacks
):
    plant(world.commune_a, "A")
    plant(world.commune_b, "BB")
    client.force_login(hana)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/registry/quality/recompute/", {"unit": world.hatinh.pk})
    response = client.get(f"/registry/quality/missing_required/?unit={world.hatinh.pk}")
    html = response.content.decode()
    assert "A Thiếu Quê" in html and "BB Thiếu Quê" in html
    client.force_login(alice)
    assert client.get(f"/registry/quality/?unit={world.hatinh.pk}").status_code == 404


def test_the_api_gives_counts_and_findings(checked, client, world):
    report = client.get("/api/v1/registry/quality").json()
    assert report["unit_id"] == world.commune_a.pk
    assert {rule["code"]: rule["count"] for rule in report["rules"]} == {
        code: len(checked[code]) for code in RULE_CODES
    }
    findings = client.get("/api/v1/registry/quality/findings?rule=phone_invalid").json()
    assert findings["count"] == 1
    item = findings["items"][0]
    assert (item["citizen_name"], item["detail"], item["detail_display"]) == (
        "A Sai Số Điện Thoại",
        "phone=091234567",
        "091234567",
    )
    other = client.get(f"/api/v1/registry/quality?unit_id={world.commune_b.pk}")
    assert other.status_code == 404
    assert client.get("/api/v1/registry/quality/findings?rule=nope").status_code == 400


def test_the_api_starts_a_run_for_managers_only(
    world, alice, bob, client, django_capture_on_commit_callbacks
):
    person(world.commune_a, "Một Người", phone="123")
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/registry/quality/runs",
            {"unit_id": world.commune_a.pk},
            content_type="application/json",
        )
    assert response.status_code == 202
    assert QualityRun.objects.get().counts["phone_invalid"] == 1
    client.force_login(bob)
    denied = client.post(
        "/api/v1/registry/quality/runs",
        {"unit_id": world.commune_b.pk},
        content_type="application/json",
    )
    assert denied.status_code == 403
    assert QualityRun.objects.count() == 1


def test_the_report_of_an_unchecked_unit_says_so(world, client):
    inspector = factories.user(unit=world.commune_a, role="inspector")
    client.force_login(inspector)
    html = client.get("/registry/quality/").content.decode()
    assert "Đơn vị này chưa được rà soát." in html


def test_the_drill_down_runs_a_fixed_number_of_queries(
    checked, client, django_assert_max_num_queries
):
    # 13: the read's audit row costs a count and an insert.
    with django_assert_max_num_queries(13):
        response = client.get("/registry/quality/duplicate_person/")
    assert response.status_code == 200


EVIL = '=HYPERLINK("http://evil","x")'


def test_exports_never_turn_a_name_into_a_formula(
    world, alice, client, django_capture_on_commit_callbacks
):
    person(world.commune_a, EVIL, phone="123")
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/registry/quality/recompute/", {"unit": world.commune_a.pk})
    response = client.get("/registry/quality/phone_invalid/export/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=3)
    assert (cell.value, cell.data_type) == (EVIL, "s")
    response = client.get("/registry/quality/phone_invalid/export/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][2] == "'" + EVIL


def _reads():
    return list(
        AuditEntry.objects.exclude(action="quality.start")
        .order_by("id")
        .values_list("actor__username", "action", "object_id", "detail")
    )


def test_every_read_of_findings_leaves_exactly_one_audit_row(checked, client, world):
    run = QualityRun.objects.get()
    count = len(checked["id_sex_mismatch"])
    client.get(f"/registry/quality/id_sex_mismatch/?unit={world.commune_a.pk}")
    client.get("/api/v1/registry/quality/findings?rule=id_sex_mismatch")
    client.get("/registry/quality/id_sex_mismatch/export/?format=xlsx")
    rule = {"rule": "id_sex_mismatch", "count": count}
    assert _reads() == [
        ("alice", "quality.findings.view", str(run.pk), rule),
        ("alice", "quality.findings.view", str(run.pk), rule),
        ("alice", "quality.export", str(run.pk), {**rule, "format": "xlsx"}),
    ]


def test_refused_reads_of_findings_leave_no_audit_row(checked, client, world, bob):
    assert client.get(f"/registry/quality/cmnd9_only/?unit={world.commune_b.pk}").status_code == 404
    assert client.get("/registry/quality/nope/").status_code == 404
    url = f"/api/v1/registry/quality/findings?rule=cmnd9_only&unit_id={world.commune_b.pk}"
    assert client.get(url).status_code == 404
    assert client.get("/registry/quality/cmnd9_only/export/?format=pdf").status_code == 404
    assert _reads() == []
