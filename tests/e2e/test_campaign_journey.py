"""A campaign's whole loop in a real browser (issue 6, acceptance).

The commune's unit manager plans a session for the province's campaign, invites the
citizens who are due, prints their notices; one of them enrols at the commune's station
(through the enrolment services, as the station's wizard does), which marks the
invitation attended; the dashboard and the daily report move.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cancuoc.accounts.roles import Role
from cancuoc.campaigns.models import Invitation, NoticeJob, Session, Team
from tests import factories
from tests.campaigns import factories as cf
from tests.enrolment import factories as ef


@pytest.mark.django_db(transaction=True)
def test_a_session_invites_prints_enrols_and_moves_the_dashboard(
    live_server, page, screenshot, world, alice
):
    base = live_server.url
    today = timezone.localdate()
    hana = factories.user(unit=world.hatinh, role=Role.PROVINCE_MANAGER, username="hana")
    campaign = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        slug="ha-tinh-cao-diem",
        name="Cao điểm cấp thẻ căn cước Hà Tĩnh",
        start_date=today - dt.timedelta(days=10),
        deadline=today + dt.timedelta(days=30),
        target=1_000,
    )
    cf.allocations(campaign, {world.commune_a: 600, world.commune_b: 400})
    cf.quota(campaign, world.commune_a, today, 20)
    cf.quota(campaign, world.commune_b, today, 15)
    team = Team.objects.create(
        name="Tổ thu nhận Thạch Hà", unit=world.commune_a, unit_path=world.commune_a.path
    )
    team.members.add(alice)
    people = [
        factories.citizen(unit=world.commune_a, full_name=name, phone=f"091200000{i}")
        for i, name in enumerate(["Nguyễn Thị Hằng", "Trần Văn Bình", "Lê Thị Cúc"])
    ]

    # The commune's manager logs in and looks at the dashboard: nothing received today.
    page.goto(f"{base}/accounts/login/?next=/campaigns/c/{campaign.slug}/dashboard/")
    page.fill("#id_username", alice.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/campaigns/c/{campaign.slug}/dashboard/")
    expect(page.locator("#kpi-cumulative b")).to_have_text("0")
    expect(page.locator("#kpi-today b")).to_have_text("0/20")
    assert page.locator("#chart-cumulative svg").count() == 1
    screenshot("campaign-dashboard-before")
    page.click("#tab-detail")
    # A commune's manager sees her own commune's share of the province's plan, not B's.
    expect(page.locator("#allocation-sum")).to_have_text("600")
    screenshot("campaign-plan")

    # She plans a session at the commune office today: 2 sets for two hours.
    page.click("#tab-sessions")
    page.click("#new-session")
    page.wait_for_url(f"{base}/campaigns/c/{campaign.slug}/sessions/new/")
    page.select_option("#id_unit_id", str(world.commune_a.pk))
    page.select_option("#id_team_id", str(team.pk))
    page.select_option("#id_site_kind", "commune_office")
    page.fill("#id_site_name", "Trụ sở Công an xã Thạch Hà")
    page.fill("#id_day", today.isoformat())
    page.fill("#id_start_time", "07:30")
    page.fill("#id_end_time", "09:30")
    page.fill("#id_sets", "2")
    expect(page.locator("#capacity-preview")).to_have_text("Công suất dự kiến: 40 người")
    screenshot("campaign-session-new")
    page.click("#create-session")
    page.wait_for_url(f"{base}/campaigns/sessions/*/")
    session = Session.objects.get()
    expect(page.locator("#session-capacity")).to_have_text("40")
    expect(page.locator(".msg-success")).to_have_text("Đã tạo buổi thu nhận: 40 chỗ.")

    # She invites the citizens who are due, then prints their notices.
    page.click("#invite-citizens")
    page.wait_for_url(f"{base}/campaigns/sessions/{session.pk}/#invitations")
    expect(page.locator(".msg-success")).to_have_text("Đã mời 3 công dân.")
    expect(page.locator("#attendance-list tbody tr")).to_have_count(3)
    assert Invitation.objects.filter(session=session, status="invited").count() == 3
    screenshot("campaign-session-invited")
    page.select_option("#id_per_page", "2")
    page.click("#print-notices")
    page.wait_for_url(f"{base}/campaigns/notices/*/")
    expect(page.locator("#notice-download")).to_be_visible()
    expect(page.locator("#notice-percent")).to_have_text("100")
    expect(page.locator("#notice-done")).to_have_text("3")
    job = NoticeJob.objects.get()
    assert (job.status, job.done, job.total, job.per_page) == ("done", 3, 3, 2)
    pdf = page.request.get(base + page.locator("#notice-pdf").get_attribute("href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"
    screenshot("campaign-notices")

    # Hằng comes and enrols at the commune's station: the enrolment marks her attended.
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a)
    station = ef.station(unit=world.commune_a, operators=[operator])
    application = ef.completed_application(
        station=station, citizen=people[0], actor=operator, at=timezone.now()
    )
    assert application.status == "completed"
    invitation = Invitation.objects.get(citizen=people[0])
    assert (invitation.status, invitation.application_id) == ("attended", application.pk)

    page.goto(f"{base}/campaigns/sessions/{session.pk}/")
    row = page.locator(f'#attendance-list tr[data-citizen="{people[0].pk}"]')
    expect(row.locator("td.status")).to_have_text("Đã đến")
    expect(page.locator("#session-attended")).to_have_text("1")
    screenshot("campaign-session-attended")

    # The dashboard moved: one received today against the commune's quota of 20.
    page.goto(f"{base}/campaigns/c/{campaign.slug}/dashboard/")
    expect(page.locator("#kpi-cumulative b")).to_have_text("1")
    expect(page.locator("#kpi-today b")).to_have_text("1/20")
    expect(page.locator("#kpi-pct b")).to_have_text("5,0%")
    screenshot("campaign-dashboard-after")

    # And the evening report reads as the police publish it.
    page.click("#tab-report")
    expect(page.locator(f'#report-lines li[data-unit="{world.commune_a.pk}"]')).to_have_text(
        "Công an xã Thạch Hà (thu nhận 1/20 hồ sơ, đạt 5,0%)"
    )
    screenshot("campaign-report")
