"""The campaign pages: list, new campaign, plan (allocations, quotas, calendar), manual
counts, resources, sessions, the daily report and its downloads, dashboard, forecast,
inspection and ranking.

Both sides every time: an allowed role sees the exact figures and its change happens; a
role without the capability gets 403, a campaign or session out of reach 404, and the
rows stay exactly as they were.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from cancuoc.accounts.roles import Role
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignDay,
    EquipmentSet,
    Invitation,
    ManualCount,
    NoticeJob,
    QuotaOverride,
    Session,
    ShiftPattern,
    Team,
)
from cancuoc.campaigns.services import campaigns as services
from tests import factories
from tests.campaigns import factories as cf

pytestmark = pytest.mark.django_db

START = dt.date(2024, 3, 1)
DEADLINE = dt.date(2024, 3, 31)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    """The page's text without tags, spaces collapsed: what the officer reads."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


@pytest.fixture
def campaign(world, hana):
    """Hà Tĩnh's campaign of March 2024: 1,000 cards, 600 to commune A and 400 to B."""
    campaign = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        slug="ha-tinh-2024",
        name="Cấp thẻ căn cước Hà Tĩnh 2024",
        start_date=START,
        deadline=DEADLINE,
        target=1_000,
    )
    cf.allocations(campaign, {world.commune_a: 600, world.commune_b: 400})
    return campaign


def snapshot(campaign) -> tuple:
    return (
        list(Allocation.objects.filter(campaign=campaign).values_list("unit_id", "target")),
        list(QuotaOverride.objects.filter(campaign=campaign).values_list("unit_id", "quota")),
        list(CampaignDay.objects.filter(campaign=campaign).values_list("day", "is_open")),
        list(ManualCount.objects.filter(campaign=campaign).values_list("unit_id", "received")),
    )


# --- List, create, plan -------------------------------------------------------------------


def test_the_list_shows_the_campaigns_in_reach(campaign, hana, alice, carl):
    page = login(hana).get(reverse("campaigns:home"))
    assert page.status_code == 200
    assert "Cấp thẻ căn cước Hà Tĩnh 2024" in text(page)
    assert 'id="new-campaign"' in page.content.decode()
    # Commune A takes part in its province's campaign: it sees it, cannot create one here.
    assert "Cấp thẻ căn cước Hà Tĩnh 2024" in text(login(alice).get(reverse("campaigns:home")))
    # Cà Mau does not see Hà Tĩnh's campaign, and its pages are not found.
    assert "Hà Tĩnh 2024" not in text(login(carl).get(reverse("campaigns:home")))
    for name in ("detail", "report", "dashboard", "forecast", "ranking", "inspection"):
        assert (
            login(carl).get(reverse(f"campaigns:{name}", args=[campaign.slug])).status_code == 404
        )


def test_a_province_manager_creates_a_campaign(world, hana):
    client = login(hana)
    form = client.get(reverse("campaigns:create"))
    assert form.status_code == 200
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Cấp thẻ căn cước 2025",
            "slug": "ha-tinh-2025",
            "unit_id": world.hatinh.pk,
            "start_date": "2025-03-01",
            "deadline": "2025-06-30",
            "target_kind": "number",
            "target": "9020",
            "law": "2023",
            "open_weekends": "on",
            "service_minutes": "6",
            "show_up_rate": "85",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("campaigns:detail", args=["ha-tinh-2025"])
    made = Campaign.objects.get(slug="ha-tinh-2025")
    assert (made.unit, made.target, made.open_weekends, made.open_holidays) == (
        world.hatinh,
        9_020,
        True,
        False,
    )
    page = client.get(response.url)
    assert "Chỉ tiêu 9.020" in text(page)


def test_a_campaign_with_a_bad_deadline_or_out_of_reach_is_refused(world, hana, bob, carl):
    data = {
        "name": "X",
        "slug": "x",
        "unit_id": world.hatinh.pk,
        "start_date": "2025-03-01",
        "deadline": "2025-02-01",
        "target_kind": "number",
        "target": "10",
        "law": "2023",
        "service_minutes": "6",
        "show_up_rate": "85",
    }
    response = login(hana).post(reverse("campaigns:create"), data)
    assert response.status_code == 400
    assert "Hạn hoàn thành không được trước ngày bắt đầu." in text(response)
    assert login(bob).post(reverse("campaigns:create"), data).status_code == 403
    data["deadline"] = "2025-06-30"
    # Hà Tĩnh is not one of Cà Mau's units: not a choice.
    assert login(carl).post(reverse("campaigns:create"), data).status_code == 400
    assert not Campaign.objects.exists()


def test_the_plan_shows_allocations_quotas_and_the_calendar(campaign, world, hana):
    page = login(hana).get(reverse("campaigns:detail", args=[campaign.slug]) + "?from=2024-03-01")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="unit_{world.commune_a.pk}" value="600"' in html
    assert f'name="unit_{world.commune_b.pk}" value="400"' in html
    assert 'data-sum="1000"' in html
    # 31 open days (weekends open; no public holiday in March 2024): ceil(600/31) = 20,
    # ceil(400/31) = 13 on the first day.
    assert f'name="q-{world.commune_a.pk}-2024-03-01" value="20"' in html
    assert f'name="q-{world.commune_b.pk}-2024-03-01" value="13"' in html
    assert '<dd id="open-days">31</dd>' in html


def test_allocations_must_sum_to_the_target(campaign, world, hana):
    url = reverse("campaigns:allocations", args=[campaign.slug])
    a, b = f"unit_{world.commune_a.pk}", f"unit_{world.commune_b.pk}"
    before = snapshot(campaign)
    refused = login(hana).post(url, {a: "700", b: "400"})
    assert refused.status_code == 400
    assert 'id="allocation-error"' in refused.content.decode()
    assert snapshot(campaign) == before
    saved = login(hana).post(url, {a: "550", b: "450"})
    assert saved.status_code == 302
    assert dict(Allocation.objects.filter(campaign=campaign).values_list("unit_id", "target")) == {
        world.commune_a.pk: 550,
        world.commune_b.pk: 450,
    }


def test_a_commune_or_a_clerk_cannot_change_the_province_plan(campaign, world, alice, bob):
    before = snapshot(campaign)
    a, b = f"unit_{world.commune_a.pk}", f"unit_{world.commune_b.pk}"
    for user in (alice, bob):
        client = login(user)
        assert (
            client.post(reverse("campaigns:allocations", args=[campaign.slug]), {a: 1, b: 999})
        ).status_code == 403
        assert (
            client.post(
                reverse("campaigns:quotas", args=[campaign.slug]),
                {"unit_id": world.commune_a.pk, "day": "2024-03-05", "quota": "5"},
            )
        ).status_code == 403
        assert (
            client.post(
                reverse("campaigns:days", args=[campaign.slug]),
                {"day": "2024-03-05", "is_open": "0"},
            )
        ).status_code == 403
    assert snapshot(campaign) == before
    # Alice still reads the plan, without the editing controls.
    page = login(alice).get(reverse("campaigns:detail", args=[campaign.slug]))
    assert page.status_code == 200
    assert 'id="save-allocations"' not in page.content.decode()


def test_the_quota_grid_saves_only_the_changed_cells(campaign, world, hana):
    a, b = world.commune_a.pk, world.commune_b.pk
    response = login(hana).post(
        reverse("campaigns:quotas", args=[campaign.slug]),
        {
            "op": "grid",
            "from": "2024-03-01",
            f"was-{a}-2024-03-02": "20",
            f"q-{a}-2024-03-02": "25",
            f"was-{b}-2024-03-02": "13",
            f"q-{b}-2024-03-02": "13",
        },
    )
    assert response.status_code == 302
    assert list(QuotaOverride.objects.values_list("unit_id", "day", "quota")) == [
        (a, dt.date(2024, 3, 2), 25)
    ]
    page = login(hana).get(reverse("campaigns:detail", args=[campaign.slug]) + "?from=2024-03-01")
    assert f'name="q-{a}-2024-03-02" value="25"' in page.content.decode()


def test_closing_a_day_changes_the_calendar(campaign, hana):
    response = login(hana).post(
        reverse("campaigns:days", args=[campaign.slug]),
        {"day": "2024-03-08", "is_open": "0", "note": "Hội nghị"},
    )
    assert response.status_code == 302
    assert list(CampaignDay.objects.values_list("day", "is_open", "note")) == [
        (dt.date(2024, 3, 8), False, "Hội nghị")
    ]
    page = login(hana).get(reverse("campaigns:detail", args=[campaign.slug]))
    assert '<dd id="open-days">30</dd>' in page.content.decode()
    assert 'class="day closed" data-day="2024-03-08" title="Hội nghị"' in page.content.decode()


def test_a_manual_count_is_entered_and_marked(campaign, world, hana, bob):
    url = reverse("campaigns:manual", args=[campaign.slug])
    data = {"unit_id": world.commune_b.pk, "day": "2024-03-04", "received": "37"}
    assert login(bob).post(url, data).status_code == 403
    assert not ManualCount.objects.exists()
    response = login(hana).post(url, data)
    assert response.status_code == 302
    assert list(ManualCount.objects.values_list("unit_id", "day", "received")) == [
        (world.commune_b.pk, dt.date(2024, 3, 4), 37)
    ]
    # Commune A was counted automatically that day: a manual entry is refused.
    cf.enrolled(world.commune_a, dt.date(2024, 3, 4), 5)
    refused = login(hana).post(url, {**data, "unit_id": world.commune_a.pk})
    assert refused.status_code == 400
    assert ManualCount.objects.count() == 1
    report = login(hana).get(reverse("campaigns:report", args=[campaign.slug]) + "?date=2024-03-04")
    row = re.search(
        rf'<tr data-unit="{world.commune_b.pk}">.*?</tr>', report.content.decode(), re.S
    ).group(0)
    assert "37" in row and "badge manual" in row


# --- Resources -----------------------------------------------------------------------------


def test_resources_are_added_by_a_manager_only(world, alice, bob):
    url = reverse("campaigns:resources")
    team = {
        "kind": "team",
        "name": "Tổ lưu động số 1",
        "unit_id": world.commune_a.pk,
        "mobile": "on",
        "member_ids": [alice.pk],
    }
    assert login(bob).post(url, team).status_code == 403
    assert not Team.objects.exists()
    assert login(alice).post(url, team).status_code == 302
    made = Team.objects.get()
    assert (made.name, made.mobile, list(made.members.all())) == ("Tổ lưu động số 1", True, [alice])

    kit = {
        "kind": "equipment",
        "serial": "ht-0001",
        "unit_id": world.commune_a.pk,
        "team_id": made.pk,
    }
    assert login(alice).post(url, kit).status_code == 302
    assert list(EquipmentSet.objects.values_list("serial", "state", "team_id")) == [
        ("HT-0001", "ready", made.pk)
    ]
    shifts = {
        "kind": "shifts",
        "name": "3 ca × 6",
        "unit_id": world.commune_a.pk,
        "shifts": "06:00-11:00 x 6; 11:00-16:00 x 6; 16:00-21:00 x 6",
        "weekdays": ["1", "2", "3", "4", "5", "6", "7"],
    }
    assert login(alice).post(url, shifts).status_code == 302
    assert ShiftPattern.objects.get().shifts == [
        {"start": "06:00", "end": "11:00", "staff": 6},
        {"start": "11:00", "end": "16:00", "staff": 6},
        {"start": "16:00", "end": "21:00", "staff": 6},
    ]
    page = text(login(alice).get(url))
    assert "Tổ lưu động số 1" in page and "HT-0001" in page and "06:00–11:00 × 6" in page
    # Bob reads commune B's resources: none of commune A's.
    assert "HT-0001" not in text(login(bob).get(url))


def test_overlapping_shifts_are_refused(world, alice):
    response = login(alice).post(
        reverse("campaigns:resources"),
        {
            "kind": "shifts",
            "name": "x",
            "unit_id": world.commune_a.pk,
            "shifts": "06:00-11:00 x 6; 10:00-12:00 x 2",
            "weekdays": ["1"],
        },
    )
    assert response.status_code == 400
    assert not ShiftPattern.objects.exists()


def test_equipment_of_another_commune_cannot_be_moved(world, alice, bob):
    kit = EquipmentSet.objects.create(
        serial="B-1", unit=world.commune_b, unit_path=world.commune_b.path
    )
    before = list(EquipmentSet.objects.values_list("state", "team_id"))
    response = login(alice).post(
        reverse("campaigns:resources"),
        {"kind": "assign", "equipment_id": kit.pk, "team_id": "", "state": "repair"},
    )
    assert response.status_code == 404
    assert list(EquipmentSet.objects.values_list("state", "team_id")) == before


# --- Reports --------------------------------------------------------------------------------


@pytest.fixture
def hatinh_2021(db):
    """Hà Tĩnh on 16/3/2021 (tests/campaigns/test_reports.py explains the figures)."""
    from tests.campaigns.test_reports import DERIVED, PROVINCE_OWN

    province, districts = cf.hatinh_2021()
    manager = factories.user(unit=province, role=Role.PROVINCE_MANAGER, username="ht")
    campaign = cf.campaign(
        unit=province,
        created_by=manager,
        slug="ha-tinh-2021",
        name="Cấp CCCD gắn chíp Hà Tĩnh 2021",
        start_date=dt.date(2021, 3, 1),
        deadline=dt.date(2021, 6, 30),
        target=1_149_122,
    )
    units = [province, *districts.values()]
    share, rest = divmod(campaign.target, len(units))
    services.allocations_set(
        actor=manager,
        campaign_id=campaign.pk,
        targets={u.pk: share + (1 if i < rest else 0) for i, u in enumerate(units)},
    )
    for unit in units:
        cf.quota(campaign, unit, dt.date(2021, 3, 16), 600)
    for _code, name, _type, received in cf.HA_TINH_2021_DISTRICTS:
        cf.enrolled(districts[name], dt.date(2021, 3, 16), received or DERIVED[name])
    cf.enrolled(province, dt.date(2021, 3, 16), PROVINCE_OWN)
    return province, districts, campaign, manager


def test_the_daily_report_reads_as_published(hatinh_2021):
    _province, districts, campaign, manager = hatinh_2021
    page = login(manager).get(
        reverse("campaigns:report", args=[campaign.slug]) + "?date=2021-03-16"
    )
    assert page.status_code == 200
    html = page.content.decode()
    lines = re.findall(r'<li data-unit="\d+">([^<]+)</li>', html)
    assert lines[0] == "Công an huyện Thạch Hà (thu nhận 718/600 hồ sơ, đạt 119,7%)"
    assert "Công an huyện Hương Sơn (thu nhận 631/600 hồ sơ, đạt 105,2%)" in lines
    assert (
        '<li class="total" id="report-total-line">'
        "Toàn tỉnh Hà Tĩnh (thu nhận 9.020/8.400 hồ sơ, đạt 107,4%)</li>" in html
    )
    row = re.search(
        rf'<tr data-unit="{districts["Huyện Thạch Hà"].pk}">.*?</tr>', html, re.S
    ).group(0)
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*<", row)
    assert cells[:4] == ["1", "718", "600", "119,7%"]
    total = re.search(r'<tr class="total" data-unit="total">.*?</tr>', html, re.S).group(0)
    assert re.findall(r"<td[^>]*>\s*([^<]*?)\s*<", total)[1:4] == ["9.020", "8.400", "107,4%"]
    assert 'href="?date=2021-03-16&amp;format=xlsx"' in html
    assert 'href="?date=2021-03-16&amp;format=pdf"' in html


def test_the_daily_report_in_english_writes_english_numbers(hatinh_2021):
    _province, _districts, campaign, manager = hatinh_2021
    client = login(manager)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("campaigns:report", args=[campaign.slug]) + "?date=2021-03-16")
    assert "All of Tỉnh Hà Tĩnh (received 9,020/8,400 dossiers, 107.4%)" in text(page)


def test_the_daily_report_downloads_as_excel_and_pdf(hatinh_2021):
    _province, _districts, campaign, manager = hatinh_2021
    url = reverse("campaigns:report", args=[campaign.slug]) + "?date=2021-03-16"
    xlsx = login(manager).get(url + "&format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == (
        'attachment; filename="bao-cao-ngay-ha-tinh-2021-20210316.xlsx"'
    )
    assert xlsx.content[:2] == b"PK"
    pdf = login(manager).get(url + "&format=pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-"


def test_dashboard_forecast_ranking_and_inspection_render_the_figures(hatinh_2021):
    _province, _districts, campaign, manager = hatinh_2021
    client = login(manager)
    on = "?date=2021-03-16"
    board = client.get(reverse("campaigns:dashboard", args=[campaign.slug]) + on)
    assert board.status_code == 200
    html = board.content.decode()
    assert html.count("<svg") >= 2
    assert re.search(r'id="kpi-today"><b>9.020/8.400</b>', html)
    assert re.search(r'id="kpi-pct"><b>107,4%</b>', html)
    forecast = client.get(reverse("campaigns:forecast", args=[campaign.slug]) + on)
    assert forecast.status_code == 200
    assert 'data-name="Huyện Thạch Hà"' in forecast.content.decode()
    ranking = client.get(reverse("campaigns:ranking", args=[campaign.slug]) + on)
    assert ranking.status_code == 200
    assert "Công an huyện Thạch Hà" in text(ranking)
    inspection = client.get(
        reverse("campaigns:inspection", args=[campaign.slug]) + "?date=2021-03-17"
    )
    assert inspection.status_code == 200
    assert "Toàn tỉnh Hà Tĩnh (thu nhận 9.020/8.400 hồ sơ, đạt 107,4%)" in text(inspection)
    assert "Công an huyện Nghi Xuân (thu nhận 599/600 hồ sơ, đạt 99,8%)" in text(inspection)


def test_a_district_officer_reads_only_their_own_row(hatinh_2021):
    _province, districts, campaign, _manager = hatinh_2021
    officer = factories.user(
        unit=districts["Huyện Thạch Hà"], role=Role.UNIT_MANAGER, username="thachha"
    )
    page = login(officer).get(
        reverse("campaigns:report", args=[campaign.slug]) + "?date=2021-03-16"
    )
    assert page.status_code == 200
    lines = re.findall(r'<li data-unit="\d+">([^<]+)</li>', page.content.decode())
    assert lines == ["Công an huyện Thạch Hà (thu nhận 718/600 hồ sơ, đạt 119,7%)"]


def test_pages_need_a_login(campaign):
    response = Client().get(reverse("campaigns:report", args=[campaign.slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


# --- Sessions -------------------------------------------------------------------------------


@pytest.fixture
def team_a(world, alice):
    team = Team.objects.create(
        name="Tổ thu nhận Thạch Hà", unit=world.commune_a, unit_path=world.commune_a.path
    )
    team.members.add(alice)
    return team


def session_data(world, team, **overrides):
    data = {
        "unit_id": world.commune_a.pk,
        "team_id": team.pk,
        "site_kind": "commune_office",
        "site_name": "Trụ sở Công an xã Thạch Hà",
        "day": "2024-03-05",
        "start_time": "07:30",
        "end_time": "09:30",
        "sets": "2",
        "slot_minutes": "30",
    }
    return {**data, **overrides}


def test_a_session_is_created_and_shows_its_capacity_and_slots(campaign, world, alice, team_a):
    client = login(alice)
    form = client.get(reverse("campaigns:session_create", args=[campaign.slug]))
    assert form.status_code == 200
    response = client.post(
        reverse("campaigns:session_create", args=[campaign.slug]), session_data(world, team_a)
    )
    assert response.status_code == 302
    session = Session.objects.get()
    assert response.url == reverse("campaigns:session", args=[session.pk])
    # 2 sets × 120 minutes ÷ 6 minutes = 40 citizens, in four half-hour slots of 10.
    assert session.capacity == 40
    page = client.get(response.url)
    html = page.content.decode()
    assert '<dd id="session-capacity">40</dd>' in html
    slots = list(session.slots.order_by("start"))
    assert [s.start.strftime("%H:%M") for s in slots] == ["07:30", "08:00", "08:30", "09:00"]
    counts = re.findall(r'class="num slot-count">([^<]+)<', html)
    assert counts == [f"0/{s.capacity}" for s in slots]
    assert "Đã tạo buổi thu nhận: 40 chỗ." in text(page)
    # The week calendars, per team and per unit, show it.
    week = client.get(
        reverse("campaigns:sessions", args=[campaign.slug]) + "?week=2024-03-04"
    ).content.decode()
    assert f'data-session="{session.pk}"' in week
    by_unit = client.get(
        reverse("campaigns:sessions", args=[campaign.slug]) + "?by=unit&week=2024-03-04"
    ).content.decode()
    assert f'<tr data-key="u{world.commune_a.pk}">' in by_unit
    team_week = client.get(
        reverse("campaigns:team_calendar", args=[team_a.pk]) + "?week=2024-03-04"
    ).content.decode()
    assert f'data-session="{session.pk}"' in team_week


def test_sessions_out_of_reach_or_overlapping_are_refused(campaign, world, alice, bob, team_a):
    url = reverse("campaigns:session_create", args=[campaign.slug])
    # A clerk does not schedule sessions.
    assert login(bob).post(url, session_data(world, team_a)).status_code == 403
    # Commune B is not alice's: not a choice on her form.
    response = login(alice).post(url, session_data(world, team_a, unit_id=world.commune_b.pk))
    assert response.status_code == 400
    assert login(alice).post(url, session_data(world, team_a)).status_code == 302
    overlapping = login(alice).post(
        url, session_data(world, team_a, start_time="09:00", end_time="10:00")
    )
    assert overlapping.status_code == 400
    assert Session.objects.count() == 1
    # Bob cannot open alice's session; Cà Mau cannot either.
    session = Session.objects.get()
    assert login(bob).get(reverse("campaigns:session", args=[session.pk])).status_code == 404


def _session(campaign, world, alice, team):
    login(alice).post(
        reverse("campaigns:session_create", args=[campaign.slug]), session_data(world, team)
    )
    return Session.objects.get()


def test_citizens_are_invited_notices_printed_and_attendance_marked(
    campaign, world, alice, bob, team_a, django_capture_on_commit_callbacks
):
    session = _session(campaign, world, alice, team_a)
    names = ["Nguyễn Thị Hằng", "Trần Văn Bình", "Lê Thị Cúc"]
    people = [
        factories.citizen(unit=world.commune_a, full_name=n, phone=f"09120000{i}0")
        for i, n in enumerate(names)
    ]
    factories.citizen(unit=world.commune_b, full_name="Phạm Văn Xa")  # not commune A's
    client = login(alice)
    invite_url = reverse("campaigns:session_invite", args=[session.pk])
    assert login(bob).post(invite_url, {}).status_code == 404
    assert not Invitation.objects.exists()
    response = client.post(invite_url, {})
    assert response.status_code == 302
    invited = Invitation.objects.filter(session=session)
    assert sorted(invited.values_list("citizen_id", flat=True)) == sorted(p.pk for p in people)
    page = client.get(reverse("campaigns:session", args=[session.pk]))
    assert "Đã mời 3 công dân." in text(page)
    html = page.content.decode()
    assert re.findall(r'class="num slot-count">(\d+)/', html)[0] == "3"
    rows = re.findall(r'<tr data-invitation="\d+" data-citizen="(\d+)" data-status="(\w+)">', html)
    assert sorted(rows) == sorted((str(p.pk), "invited") for p in people)
    # Inviting again skips those already invited.
    client.post(invite_url, {})
    assert invited.count() == 3

    # Notices: a background job (run at once in tests), its progress and the PDF.
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("campaigns:notices_start", args=[session.pk]), {"per_page": "2"}
        )
    assert started.status_code == 302
    job = NoticeJob.objects.get()
    assert started.url == reverse("campaigns:notice_job", args=[job.pk])
    state = client.get(started.url, HTTP_ACCEPT="application/json").json()
    assert (state["status"], state["done"], state["total"], state["percent"]) == (
        "done",
        3,
        3,
        100,
    )
    pdf = client.get(state["download"])
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    assert login(bob).get(started.url).status_code == 403  # a clerk schedules nothing
    manager_b = factories.user(unit=world.commune_b, role=Role.UNIT_MANAGER)
    assert login(manager_b).get(started.url).status_code == 404
    assert login(manager_b).get(state["download"]).status_code == 404

    # The SMS file: phone and text, one line per invited citizen with a phone.
    sms = client.get(reverse("campaigns:session_messages", args=[session.pk]))
    assert sms.status_code == 200
    lines = sms.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 4  # header + 3
    assert any(line.startswith("0912000000,") for line in lines)

    # Marked by hand: did not come.
    first = invited.get(citizen=people[0])
    marked = client.post(
        reverse("campaigns:invitation_mark", args=[session.pk]),
        {"invitation_id": first.pk, "status": "no_show"},
    )
    assert marked.status_code == 302
    first.refresh_from_db()
    assert first.status == "no_show"
    # Bob cannot mark alice's invitations.
    second = invited.get(citizen=people[1])
    assert (
        login(bob).post(
            reverse("campaigns:invitation_mark", args=[session.pk]),
            {"invitation_id": second.pk, "status": "cancelled"},
        )
    ).status_code == 404
    second.refresh_from_db()
    assert second.status == "invited"


def test_changing_a_session_reinvites_who_no_longer_fits(campaign, world, alice, team_a):
    session = _session(campaign, world, alice, team_a)
    for i in range(12):
        factories.citizen(unit=world.commune_a, full_name=f"Công dân {i:02d}")
    client = login(alice)
    client.post(reverse("campaigns:session_invite", args=[session.pk]), {})
    assert Invitation.objects.filter(session=session).count() == 12
    response = client.post(
        reverse("campaigns:session_change", args=[session.pk]),
        {"start_time": "07:30", "end_time": "08:00", "sets": "1"},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.capacity == 5  # 1 set × 30 minutes ÷ 6
    page = client.get(reverse("campaigns:session", args=[session.pk]))
    assert '<dd id="session-capacity">5</dd>' in page.content.decode()


def test_home_visits_are_planned_for_the_priority_groups(campaign, world, alice, bob, team_a):
    frail = factories.citizen(
        unit=world.commune_a, full_name="Cụ Nguyễn Văn Thọ", birth_date=dt.date(1930, 1, 1)
    )
    factories.citizen(unit=world.commune_a, full_name="Nguyễn Văn Khỏe")
    url = reverse("campaigns:home_visits", args=[campaign.slug])
    data = {"unit_id": world.commune_a.pk, "team_id": team_a.pk, "day": "2024-03-06"}
    assert login(bob).post(url, data).status_code == 403
    assert not Session.objects.exists()
    response = login(alice).post(url, data)
    assert response.status_code == 302
    session = Session.objects.get()
    assert session.site_kind == "home"
    assert list(session.invitations.values_list("citizen_id", flat=True)) == [frail.pk]
    page = login(alice).get(url)
    assert f'<tr data-session="{session.pk}">' in page.content.decode()


def test_a_school_session_invites_the_schools_students(campaign, world, alice, team_a):
    student = factories.citizen(
        unit=world.commune_a,
        full_name="Hồ Thị Học",
        birth_date=dt.date(2008, 9, 1),
        school="THPT Lý Tự Trọng",
        grade="10A1",
    )
    factories.citizen(
        unit=world.commune_a, full_name="Nguyễn Văn Làm", birth_date=dt.date(1990, 1, 1)
    )
    response = login(alice).post(
        reverse("campaigns:home_visits", args=[campaign.slug]),
        {
            "kind": "school",
            "unit_id": world.commune_a.pk,
            "team_id": team_a.pk,
            "school": "THPT Lý Tự Trọng",
            "day": "2024-03-07",
            "start_time": "07:30",
            "end_time": "11:00",
            "sets": "1",
        },
    )
    assert response.status_code == 302
    session = Session.objects.get()
    assert (session.site_kind, session.day) == ("school", dt.date(2024, 3, 7))
    assert list(session.invitations.values_list("citizen_id", flat=True)) == [student.pk]


def test_the_campaign_is_started_by_its_manager_only(world, hana, alice):
    draft = cf.campaign(unit=world.hatinh, created_by=hana, slug="nhap", status="draft")
    url = reverse("campaigns:status", args=[draft.slug])
    assert login(alice).post(url, {"status": "active"}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert login(hana).post(url, {"status": "active"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "active"
