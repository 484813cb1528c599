"""The cohort page, its exports, the API and the command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from cancuoc.core.models import AuditEntry
from tests.factories import PASSWORD
from tests.registry.test_cohort import town  # noqa: F401 - the hand-computed population

URL = "/registry/cohort/"


@pytest.fixture
def as_hana(client, hana):
    client.login(username="hana", password=PASSWORD)
    return client


def test_page_shows_counts_for_the_chosen_unit_and_date(as_hana, town):  # noqa: F811
    assert reverse("registry:cohort") == URL
    response = as_hana.get(URL, {"unit": town.hatinh.pk, "on": "2026-03-15"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-bucket="must">10<' in html
    assert 'data-reason="must:renewal_25">1<' in html
    assert "Luật Căn cước 2023" in html or "Law on Identity 2023" in html
    assert html.count("<tr><td>042") == 10  # the must list, one row per citizen


def test_page_list_filters_by_reason_and_exports(as_hana, town):  # noqa: F811
    query = {"unit": town.hatinh.pk, "on": "2026-03-15", "bucket": "must", "reason": "cmnd_only"}
    html = as_hana.get(URL, query).content.decode()
    assert html.count("<tr><td>042") == 2
    csv_response = as_hana.get(URL, {**query, "format": "csv"})
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 3 and lines[1].startswith("042")
    xlsx = as_hana.get(URL, {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3
    assert AuditEntry.objects.filter(action="registry.cohort.export").count() == 2


def test_page_denies_units_out_of_scope(client, alice, town):  # noqa: F811
    client.login(username="alice", password=PASSWORD)
    assert client.get(URL, {"unit": town.hatinh.pk, "on": "2026-03-15"}).status_code == 404
    mine = client.get(URL, {"unit": town.commune_a.pk, "on": "2026-03-15"})
    assert mine.status_code == 200
    assert 'data-bucket="must">9<' in mine.content.decode()  # r lives in commune B


def test_page_refuses_a_date_before_any_law(as_hana, town):  # noqa: F811
    response = as_hana.get(URL, {"unit": town.hatinh.pk, "on": "2010-01-01"})
    assert response.status_code == 400


def test_api_counts_and_paged_list(as_hana, town, carl, client):  # noqa: F811
    counts = as_hana.get(
        "/api/v1/registry/cohort", {"unit_id": town.hatinh.pk, "on": "2021-06-01"}
    ).json()
    assert counts["regime"]["code"] == "cccd_2014"
    assert counts["buckets"] == {"must": 8, "may": 0, "excluded": 5, "not_due": 6}
    page = as_hana.get(
        "/api/v1/registry/cohort/list",
        {"unit_id": town.hatinh.pk, "on": "2026-03-15", "limit": 3, "offset": 8},
    ).json()
    assert page["count"] == 10 and len(page["items"]) == 2
    assert {i["bucket"] for i in page["items"]} == {"must"}
    client.logout()
    client.login(username="carl", password=PASSWORD)
    denied = client.get("/api/v1/registry/cohort", {"unit_id": town.hatinh.pk, "on": "2026-03-15"})
    assert denied.status_code == 404


def test_command_prints_json_and_csv_and_fails_cleanly(town, capsys):  # noqa: F811
    out = io.StringIO()
    call_command("cohort", "--unit", "42", "--on", "2026-03-15", stdout=out)
    data = json.loads(out.getvalue())
    assert data["total"] == 20 and data["buckets"]["must"] == 10
    # Indented JSON, one key per line: never one token per line.
    assert out.getvalue().splitlines()[1] == '  "unit": {'
    # The law's title in the interface language (Vietnamese by default).
    assert data["regime"]["title"] == "Luật Căn cước 2023 (số 26/2023/QH15)"
    out = io.StringIO()
    call_command("cohort", "--unit", "18100", "--on", "2026-03-15", "--format", "csv", stdout=out)
    assert len(out.getvalue().strip().splitlines()) == 1 + 9
    with pytest.raises(CommandError):
        call_command("cohort", "--unit", "99999", "--on", "2026-03-15")
    with pytest.raises(CommandError):
        call_command("cohort", "--unit", "42", "--on", "2015-01-01")
    with pytest.raises(CommandError):
        call_command("cohort", "--unit", "42", "--on", "15/03/2026")


EVIL = '=HYPERLINK("http://evil","x")'


def _evil_citizen(world):
    from tests import factories

    return factories.citizen(
        unit=world.commune_a,
        full_name=EVIL,
        birth_date=__import__("datetime").date(1990, 5, 17),
        id_number="042090123456",
    )


def test_exports_never_turn_a_name_into_a_formula(client, alice, world):
    _evil_citizen(world)
    client.force_login(alice)
    query = {"unit": world.commune_a.pk, "on": "2026-03-15", "bucket": "must"}
    xlsx = client.get(URL, {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cell = sheet.cell(row=2, column=2)
    assert (cell.value, cell.data_type) == (EVIL, "s")
    assert sheet.cell(row=2, column=1).value == "042090123456"
    csv_response = client.get(URL, {**query, "format": "csv"})
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    rows = list(__import__("csv").reader(io.StringIO(text)))
    assert rows[1][:2] == ["042090123456", "'" + EVIL]


def test_command_csv_never_turns_a_name_into_a_formula(world):
    _evil_citizen(world)
    out = io.StringIO()
    call_command("cohort", "--unit", "18100", "--on", "2026-03-15", "--format", "csv", stdout=out)
    rows = list(__import__("csv").reader(io.StringIO(out.getvalue())))
    assert rows[1][:2] == ["042090123456", "'" + EVIL]
