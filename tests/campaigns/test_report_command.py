"""`cancuoc report daily`, the API and the Excel/PDF exports of the daily report."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import load_workbook

from cancuoc.accounts.roles import Role
from cancuoc.campaigns import exports, reports
from tests import factories
from tests.campaigns.test_reports import DAY, PUBLISHED, HaTinh, build_hatinh

TOTAL_VI = "Toàn tỉnh Hà Tĩnh (thu nhận 9.020/8.400 hồ sơ, đạt 107,4%)"


@pytest.fixture
def hatinh(db) -> HaTinh:
    return build_hatinh()


def run(*args: str) -> str:
    out = StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


# --- the command -------------------------------------------------------------------------


def test_daily_table_prints_the_published_lines(hatinh):
    out = run("daily", "--campaign", "ha-tinh-2021", "--date", "2021-03-16")
    lines = out.strip().splitlines()
    assert lines[0] == "Cấp CCCD gắn chíp Hà Tĩnh 2021 (ha-tinh-2021), 16/03/2021"
    assert lines[1] == PUBLISHED[0]
    assert lines[-1] == TOTAL_VI
    assert len(lines) == 1 + 14 + 1


def test_daily_json_and_csv(hatinh):
    data = json.loads(
        run(
            "daily",
            "--campaign",
            str(hatinh.campaign.pk),
            "--date",
            "2021-03-16",
            "--format",
            "json",
        )
    )
    assert data["total"]["received"] == 9_020 and data["total"]["pct"] == "107.4"
    assert data["lines"][-1] == TOTAL_VI
    rows = list(
        csv.DictReader(
            io.StringIO(
                run(
                    "daily", "--campaign", "ha-tinh-2021", "--date", "2021-03-16", "--format", "csv"
                )
            )
        )
    )
    assert rows[0]["label"] == "Công an huyện Thạch Hà" and rows[0]["pct"] == "119.7"
    assert rows[0]["rank"] == "1"
    assert rows[-1]["received"] == "9020" and rows[-1]["rank"] == ""


def test_daily_in_english(hatinh):
    out = run("daily", "--campaign", "ha-tinh-2021", "--date", "2021-03-16", "--lang", "en")
    assert "All of Tỉnh Hà Tĩnh (received 9,020/8,400 dossiers, 107.4%)" in out


def test_daily_in_a_user_scope_and_errors(hatinh):
    officer = factories.user(
        unit=hatinh.districts["Huyện Thạch Hà"], role=Role.UNIT_MANAGER, username="th"
    )
    out = run("daily", "--campaign", "ha-tinh-2021", "--date", "2021-03-16", "--user", "th")
    assert PUBLISHED[0] in out and PUBLISHED[1] not in out
    assert officer.username == "th"
    with pytest.raises(CommandError, match="no-such"):
        run("daily", "--campaign", "no-such", "--date", "2021-03-16")
    with pytest.raises(CommandError, match="02/07/2021"):
        run("daily", "--campaign", "ha-tinh-2021", "--date", "2021-07-02")


# --- exports ----------------------------------------------------------------------------


def test_excel_holds_numbers_and_lines(hatinh):
    report = reports.daily_report(user=hatinh.manager, campaign_id=hatinh.campaign.pk, day=DAY)
    book = load_workbook(io.BytesIO(exports.daily_report_xlsx(report)))
    sheet = book.active
    header = [c.value for c in sheet[3]]
    assert header[:4] == ["Rank", "Code", "Unit", "Received"] or header[2] == "Đơn vị"
    first = [c.value for c in sheet[4]]
    assert first[0] == 1 and first[2] == "Công an huyện Thạch Hà"
    assert first[3:7] == [718, 0, 600, 119.7]
    assert sheet["G4"].number_format == "0.0"
    total = [c.value for c in sheet[4 + 14]]
    assert total[3] == 9_020 and total[5] == 8_400 and total[6] == 107.4
    texts = [sheet.cell(row=r, column=1).value for r in range(1, sheet.max_row + 1)]
    assert TOTAL_VI in texts and PUBLISHED[0] in texts


def test_excel_never_writes_formulas(world, hana):
    from tests.campaigns import factories as cf

    evil = factories.unit(parent=world.hatinh, code="18300", name='=HYPERLINK("http://x","y")')
    campaign = cf.campaign(unit=world.hatinh, created_by=hana)
    cf.enrolled(evil, campaign.start_date, 3)
    report = reports.daily_report(user=hana, campaign_id=campaign.pk, day=campaign.start_date)
    sheet = load_workbook(io.BytesIO(exports.daily_report_xlsx(report))).active
    cells = [
        c
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_pdf_has_the_charts(hatinh):
    board = reports.dashboard(user=hatinh.manager, campaign_id=hatinh.campaign.pk, on=DAY)
    html = exports.daily_report_html(board)
    assert html.count("data:image/svg+xml;base64,") == 3
    assert TOTAL_VI in html and "Công an huyện Thạch Hà" in html
    pdf = exports.daily_report_pdf(board)
    assert pdf.startswith(b"%PDF")


def test_dashboard_charts_show_the_day(hatinh):
    import xml.etree.ElementTree as ET

    board = reports.dashboard(
        user=hatinh.manager, campaign_id=hatinh.campaign.pk, on=DAY, heat_days=7
    )
    drawn = exports.dashboard_charts(board)
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = ET.fromstring(drawn.bars).findall("s:rect[@class='bar']", ns)  # noqa: S314
    assert [b.get("data-value") for b in bars][:3] == ["718", "706", "675"]
    cells = ET.fromstring(drawn.heat).findall("s:rect[@class='cell']", ns)  # noqa: S314
    assert len(cells) == 14 * 7
    assert board.cumulative[-1] == 9_020 and board.days[0] == hatinh.campaign.start_date


# --- the API --------------------------------------------------------------------------------

API = "/api/v1/campaigns"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_daily_report_and_downloads(hatinh):
    client = login(hatinh.manager)
    url = f"{API}/{hatinh.campaign.pk}/reports/daily?date=2021-03-16"
    body = client.get(url).json()
    assert body["lines"][0] == PUBLISHED[0] and body["total"]["text"] == TOTAL_VI
    assert body["rows"][0]["pct"] == "119.7"
    english = client.get(url + "&lang=en").json()
    assert english["total"]["text"] == "All of Tỉnh Hà Tĩnh (received 9,020/8,400 dossiers, 107.4%)"
    xlsx = client.get(f"{API}/{hatinh.campaign.pk}/reports/daily.xlsx?date=2021-03-16")
    assert xlsx.status_code == 200 and xlsx["Content-Type"] == exports.XLSX_TYPE
    assert "bao-cao-ngay-ha-tinh-2021-20210316.xlsx" in xlsx["Content-Disposition"]
    svg = client.get(f"{API}/{hatinh.campaign.pk}/charts/bars.svg?date=2021-03-16")
    assert svg.status_code == 200 and svg.content.startswith(b"<svg")
    assert client.get(f"{API}/{hatinh.campaign.pk}/forecast?date=2021-03-16").status_code == 200
    ranking = client.get(f"{API}/{hatinh.campaign.pk}/ranking?date=2021-03-16").json()
    assert ranking["rows"][0]["label"] == "Công an huyện Thạch Hà"


def test_api_refuses_outsiders_and_bad_days(hatinh):
    other = factories.unit(parent=factories.nation(), code="96", name="Tỉnh Cà Mau")
    stranger = login(factories.user(unit=other, role=Role.PROVINCE_MANAGER))
    url = f"{API}/{hatinh.campaign.pk}/reports/daily?date=2021-03-16"
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 401
    bad = login(hatinh.manager).get(f"{API}/{hatinh.campaign.pk}/reports/daily?date=2021-08-01")
    assert bad.status_code == 400 and "01/08/2021" in bad.json()["detail"]


def test_api_allocations_must_sum(hatinh):
    client = login(hatinh.manager)
    units = [hatinh.province, *hatinh.districts.values()]
    response = client.put(
        f"{API}/{hatinh.campaign.pk}/allocations",
        data=json.dumps({"targets": {str(u.pk): 1 for u in units}}),
        content_type="application/json",
    )
    message = response.json()["detail"]
    assert response.status_code == 400 and "14" in message
    assert "1.149.122" in message or "1,149,122" in message
    detail = client.get(f"{API}/{hatinh.campaign.pk}").json()
    assert sum(a["target"] for a in detail["allocations"]) == 1_149_122
    listed = client.get(f"{API}/").json()
    assert [c["slug"] for c in listed] == ["ha-tinh-2021"]
