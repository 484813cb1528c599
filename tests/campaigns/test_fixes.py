"""Campaign fixes from the gap review: manual counts superseded by automatic ones, the
total line of a partial view, a session's service minutes measured from enrolment
timings, and sessions planned from a shift pattern."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cancuoc.campaigns import reports
from cancuoc.campaigns.models import ManualCount, Session, Team
from cancuoc.campaigns.services import ManualCountError, SessionError, manual_count_enter
from cancuoc.campaigns.services import resources as resource_services
from cancuoc.campaigns.services import sessions as session_services
from cancuoc.core.errors import OutOfScope
from cancuoc.core.models import AuditEntry
from cancuoc.core.workdays import VN_TZ
from cancuoc.enrolment.models import Application, StepTiming
from tests import factories
from tests.campaigns import factories as cf
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db

START = dt.date(2025, 9, 1)  # Monday, a public holiday (National Day's extra day off)
DEADLINE = dt.date(2025, 9, 30)
MONDAY = dt.date(2025, 9, 8)
SATURDAY = dt.date(2025, 9, 13)
NATIONAL_DAY = dt.date(2025, 9, 2)  # a Tuesday


@pytest.fixture
def running(world, hana):
    """3,000 over September 2025, every day open: commune A and B 1,500 each (50 a day)."""
    campaign = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        slug="ht-2025",
        name="Hà Tĩnh 2025",
        start_date=START,
        deadline=DEADLINE,
        target=3_000,
        open_holidays=True,
    )
    cf.allocations(campaign, {world.commune_a: 1_500, world.commune_b: 1_500})
    return campaign


def _row(report, unit):
    return next(r for r in report.rows if r.unit_id == unit.pk)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


# --- #8 manual counts superseded by automatic counts ------------------------------------


def _report_figures(user, campaign, day):
    report = reports.daily_report(user=user, campaign_id=campaign.pk, day=day)
    return [row.as_dict() for row in report.rows], report.total.as_dict()


def test_a_manual_figure_then_automatic_counts_counts_the_automatic_only(
    world, hana, alice, running
):
    manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
    )
    # The offline station's intakes of that day arrive the next morning.
    cf.enrolled(world.commune_a, START, 12)
    report = reports.daily_report(user=hana, campaign_id=running.pk, day=START)
    a = _row(report, world.commune_a)
    assert (a.received, a.manual, a.manual_superseded, a.cumulative) == (12, 0, 40, 12)
    assert (a.is_manual, a.is_manual_superseded) == (False, True)
    assert a.text == "Công an xã Thạch Hà (thu nhận 12/50 hồ sơ, đạt 24,0%)"
    data = a.as_dict()
    assert (data["received"], data["manual"], data["manual_superseded"]) == (12, 0, 40)
    assert (report.total.received, report.total.manual, report.total.manual_superseded) == (
        12,
        0,
        40,
    )
    # The manual row is kept, not deleted: the figure typed in is still on record.
    assert ManualCount.objects.get().received == 40
    # Later days, the forecast and the dashboard see 12, never 52.
    day2 = reports.daily_report(user=hana, campaign_id=running.pk, day=START + dt.timedelta(1))
    a2 = _row(day2, world.commune_a)
    assert (a2.cumulative, a2.quota) == (12, 52)  # ceil((1500 − 12) ÷ 29)
    outlook = reports.forecast(user=hana, campaign_id=running.pk, on=START)
    assert outlook.overall.cumulative == 12
    board = reports.dashboard(user=hana, campaign_id=running.pk, on=START)
    assert (board.received, board.cumulative) == ([12], [12])


def test_both_orders_give_the_same_report(world, hana, alice, running):
    """Commune A: manual first, automatic later. Commune B: automatic first, so the manual
    entry is refused; a manual row that exists anyway (typed in while the push was being
    ingested) is superseded just the same. Both rows read alike."""
    manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
    )
    cf.enrolled(world.commune_a, START, 12)
    cf.enrolled(world.commune_b, START, 12)
    with pytest.raises(ManualCountError):
        manual_count_enter(
            actor=hana, campaign_id=running.pk, unit_id=world.commune_b.pk, day=START, received=40
        )
    assert ManualCount.objects.filter(unit=world.commune_b).count() == 0
    ManualCount.objects.create(
        campaign=running,
        unit=world.commune_b,
        unit_path=world.commune_b.path,
        day=START,
        received=40,
        entered_by=hana,
    )
    rows, total = _report_figures(hana, running, START)
    keys = ("received", "manual", "manual_superseded", "is_manual", "cumulative", "quota", "pct")
    by_unit = {row["unit_id"]: tuple(row[k] for k in keys) for row in rows}
    assert by_unit[world.commune_a.pk] == (12, 0, 40, False, 12, 50, "24.0")
    assert by_unit[world.commune_b.pk] == by_unit[world.commune_a.pk]
    assert (total["received"], total["manual"], total["manual_superseded"]) == (24, 0, 80)


def test_a_manual_figure_alone_still_counts(world, hana, alice, running):
    manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=7
    )
    cf.enrolled(world.commune_b, START, 30)  # another unit's automatic count changes nothing
    a = _row(reports.daily_report(user=hana, campaign_id=running.pk, day=START), world.commune_a)
    assert (a.received, a.manual, a.manual_superseded, a.is_manual) == (7, 7, 0, True)


def test_the_report_page_flags_a_superseded_manual_figure(world, hana, alice, running):
    manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
    )
    cf.enrolled(world.commune_a, START, 12)
    page = login(hana).get(reverse("campaigns:report", args=[running.slug]) + "?date=2025-09-01")
    assert page.status_code == 200
    html = page.content.decode()
    row = re.search(rf'<tr data-unit="{world.commune_a.pk}">.*?</tr>', html, re.S).group(0)
    assert 'class="badge manual-superseded"' in row
    assert "thay bằng số tự động" in row
    assert 'class="badge manual"' not in row
    assert '<td class="num received">12 <span class="badge manual-superseded"' in row
    # Commune B has no manual figure: no flag.
    row_b = re.search(rf'<tr data-unit="{world.commune_b.pk}">.*?</tr>', html, re.S).group(0)
    assert "manual" not in row_b


# --- The total line of a partial view ---------------------------------------------------


def test_a_partial_view_labels_its_total_as_the_units_shown(world, hana, alice, running):
    cf.enrolled(world.commune_a, START, 12)
    cf.enrolled(world.commune_b, START, 30)
    full = reports.daily_report(user=hana, campaign_id=running.pk, day=START)
    assert full.partial is False
    assert full.total.text == "Toàn tỉnh Hà Tĩnh (thu nhận 42/100 hồ sơ, đạt 42,0%)"
    mine = reports.daily_report(user=alice, campaign_id=running.pk, day=START)
    assert mine.partial is True
    assert mine.total.label == "Tổng các đơn vị được xem"
    assert mine.total.text == "Tổng các đơn vị được xem (thu nhận 12/50 hồ sơ, đạt 24,0%)"
    english = reports.daily_report(user=alice, campaign_id=running.pk, day=START, language="en")
    assert english.total.text == "Total of the units shown (received 12/50 dossiers, 24.0%)"
    page = text(
        login(alice).get(reverse("campaigns:report", args=[running.slug]) + "?date=2025-09-01")
    )
    assert "Tổng các đơn vị được xem (thu nhận 12/50 hồ sơ, đạt 24,0%)" in page
    assert "Toàn tỉnh" not in page


# --- #10 service minutes measured from enrolment timings --------------------------------

STEPS = ("confirm", "fingerprints", "face", "review", "sign")


def _intake(station, *, at, minutes, status="completed", signed=True):
    """One intake with real StepTiming rows whose steps together last ``minutes``."""
    operator = station.operators.first()
    application = Application.objects.create(
        citizen=factories.citizen(unit=station.unit),
        province_code=station.province_code,
        unit=station.unit,
        unit_path=station.unit_path,
        station=station,
        operator=operator,
        kind="first",
        law="2023",
        status=status,
        step="sign",
        started_at=at,
        completed_at=at + dt.timedelta(minutes=minutes) if status != "in_progress" else None,
    )
    step_length = dt.timedelta(minutes=minutes) / len(STEPS)
    for index, step in enumerate(STEPS):
        started = at + step_length * index
        ended = started + step_length
        if step == "sign" and not signed:
            ended = None
        StepTiming.objects.create(
            application=application, step=step, started_at=started, ended_at=ended
        )
    return application


def _recent(days_ago: int, hour: int = 9) -> dt.datetime:
    today = timezone.now().astimezone(VN_TZ).date()
    day = today - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=VN_TZ)


@pytest.fixture
def station_a(world):
    return ef.station(unit=world.commune_a, operators=[ef.operator(world.commune_a)])


def _measured_intakes(station, count, *, first_minutes=4.0):
    """``count`` intakes of 4.0, 4.2, 4.4 … minutes over the last days."""
    for i in range(count):
        _intake(station, at=_recent(1 + i % 20, 8 + i % 8), minutes=first_minutes + 0.2 * i)


@pytest.fixture
def team_a(world, alice):
    team = Team.objects.create(
        name="Tổ thu nhận Thạch Hà", unit=world.commune_a, unit_path=world.commune_a.path
    )
    team.members.add(alice)
    return team


def _session(alice, running, world, team, **kw):
    args = dict(
        actor=alice,
        campaign_id=running.pk,
        unit_id=world.commune_a.pk,
        team_id=team.pk,
        site_kind="commune_office",
        site_name="Trụ sở Công an xã Thạch Hà",
        day=MONDAY,
        start_time="07:30",
        end_time="09:30",
        sets=2,
    )
    args.update(kw)
    return session_services.session_create(**args)


def test_the_median_of_31_intakes_sets_a_new_sessions_service_minutes(
    world, alice, running, station_a, team_a
):
    _measured_intakes(station_a, 31)  # 4.0 … 10.0 minutes: the median is the 16th, 7.0
    # Not counted: older than 30 days, unfinished, unsigned, or at another commune.
    _intake(station_a, at=_recent(40), minutes=1.0)
    _intake(station_a, at=_recent(2), minutes=1.0, status="in_progress", signed=False)
    _intake(station_a, at=_recent(2), minutes=1.0, signed=False)
    station_b = ef.station(unit=world.commune_b, operators=[ef.operator(world.commune_b)])
    _intake(station_b, at=_recent(2), minutes=1.0)
    assert session_services.service_minutes_measured(unit=world.commune_a) == (
        Decimal("7.0"),
        31,
    )
    proposal = session_services.service_minutes_default(
        user=alice, campaign=running, unit=world.commune_a
    )
    assert (proposal.minutes, proposal.source, proposal.intakes) == (Decimal("7.0"), "measured", 31)
    with translation.override("en"):
        assert proposal.describe() == (
            "Measured: 7.0 minutes is the median of 31 intakes at the stations of Xã Thạch Hà "
            "over the last 30 days."
        )
    session = _session(alice, running, world, team_a)
    # 2 sets × 120 minutes ÷ 7.0 = 34.28… → 34 citizens.
    assert (session.service_minutes, session.capacity) == (Decimal("7.0"), 34)
    detail = AuditEntry.objects.get(action="campaigns.session.create").detail
    assert (detail["service_minutes"], detail["service_source"]) == ("7.0", "measured")
    # A figure given for the session still wins.
    other = _session(alice, running, world, team_a, day=MONDAY + dt.timedelta(1), service_minutes=5)
    assert (other.service_minutes, other.capacity) == (Decimal("5"), 48)


def test_fewer_than_30_intakes_keep_the_campaigns_figure(world, alice, running, station_a, team_a):
    _measured_intakes(station_a, 29)
    assert session_services.service_minutes_measured(unit=world.commune_a) == (None, 29)
    proposal = session_services.service_minutes_default(
        user=alice, campaign=running, unit=world.commune_a
    )
    assert (proposal.minutes, proposal.source, proposal.intakes) == (Decimal("6"), "campaign", 29)
    with translation.override("en"):
        assert "only 29 intakes were completed" in proposal.describe()
    session = _session(alice, running, world, team_a)
    assert (session.service_minutes, session.capacity) == (Decimal("6"), 40)
    assert AuditEntry.objects.get(action="campaigns.session.create").detail["service_source"] == (
        "campaign"
    )


def test_a_unit_out_of_scope_gets_no_proposal(world, alice, running):
    with pytest.raises(OutOfScope):
        session_services.service_minutes_default(user=alice, campaign=running, unit=world.commune_b)


def test_the_session_form_proposes_the_measured_minutes_with_their_source(
    world, alice, running, station_a
):
    _measured_intakes(station_a, 31)
    page = login(alice).get(reverse("campaigns:session_create", args=[running.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<input[^>]*name="service_minutes"[^>]*value="7.0"', html)
    assert 'data-service-source="measured"' in html
    assert 'data-service-minutes="7.0"' in html
    assert "trung vị của 31 lượt thu nhận tại các trạm của Xã Thạch Hà" in text(page)


def test_the_session_form_says_when_it_falls_back_to_the_campaigns_figure(world, alice, running):
    page = login(alice).get(reverse("campaigns:session_create", args=[running.slug]))
    html = page.content.decode()
    assert re.search(r'<input[^>]*name="service_minutes"[^>]*value="6', html)
    assert 'data-service-source="campaign"' in html
    assert "Số của chiến dịch" in text(page)


# --- #11 sessions from a shift pattern --------------------------------------------------


@pytest.fixture
def weekday_pattern(world, alice):
    return resource_services.shift_pattern_create(
        actor=alice,
        name="Hai ca ngày thường",
        unit_id=world.commune_a.pk,
        shifts=[
            {"start": "06:00", "end": "11:00", "staff": 6},
            {"start": "13:00", "end": "17:00", "staff": 4},
        ],
        weekdays=[1, 2, 3, 4, 5],
        on_holidays=False,
    )


def test_a_session_from_a_shift_pattern_takes_its_shifts_hours_and_staff(
    world, alice, running, team_a, weekday_pattern
):
    session = _session(
        alice, running, world, team_a, start_time=None, end_time=None, pattern_id=weekday_pattern.pk
    )
    assert session.shifts == [
        {"start": "06:00", "end": "11:00", "staff": 6},
        {"start": "13:00", "end": "17:00", "staff": 4},
    ]
    assert (session.start_time, session.end_time) == (dt.time(6), dt.time(17))
    # 2 sets × (300 + 240) minutes ÷ 6 = 180; no slot in the lunch break.
    assert session.capacity == 180
    starts = [s.start for s in session.slots.order_by("start")]
    assert dt.time(11, 0) not in starts and dt.time(12, 30) not in starts
    assert starts[0] == dt.time(6) and starts[-1] == dt.time(16, 30)
    detail = AuditEntry.objects.get(action="campaigns.session.create").detail
    assert detail["pattern"] == weekday_pattern.pk


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (SATURDAY, "does not run on Saturday 13/09/2025; it runs on: Monday, Tuesday"),
        (NATIONAL_DAY, "02/09/2025 is a public holiday and the shift pattern"),
    ],
)
def test_a_day_the_pattern_excludes_is_refused(
    world, alice, running, team_a, weekday_pattern, day, message
):
    with translation.override("en"), pytest.raises(SessionError) as caught:
        _session(alice, running, world, team_a, day=day, pattern_id=weekday_pattern.pk)
    assert message in caught.value.message
    assert "Nothing was created" in caught.value.message
    assert Session.objects.count() == 0
    assert not AuditEntry.objects.filter(action="campaigns.session.create").exists()


def test_a_pattern_that_works_holidays_and_weekends_allows_them(world, alice, running, team_a):
    pattern = resource_services.shift_pattern_create(
        actor=alice,
        name="Cả tuần, kể cả ngày lễ",
        unit_id=world.commune_a.pk,
        shifts=[{"start": "07:00", "end": "11:00", "staff": 3}],
        on_holidays=True,
    )
    holiday = _session(alice, running, world, team_a, day=NATIONAL_DAY, pattern_id=pattern.pk)
    weekend = _session(alice, running, world, team_a, day=SATURDAY, pattern_id=pattern.pk)
    assert [(s.day, s.start_time, s.end_time) for s in (holiday, weekend)] == [
        (NATIONAL_DAY, dt.time(7), dt.time(11)),
        (SATURDAY, dt.time(7), dt.time(11)),
    ]


def test_another_units_pattern_is_out_of_scope(world, alice, hana, bob, running, team_a):
    sibling = resource_services.shift_pattern_create(
        actor=hana,
        name="Ca của xã Cẩm Xuyên",
        unit_id=world.commune_b.pk,
        shifts=[{"start": "07:00", "end": "11:00", "staff": 3}],
    )
    with pytest.raises(OutOfScope):
        _session(alice, running, world, team_a, pattern_id=sibling.pk)
    # The province's own pattern is usable by the commune below it.
    province = resource_services.shift_pattern_create(
        actor=hana,
        name="Ca của tỉnh",
        unit_id=world.hatinh.pk,
        shifts=[{"start": "07:00", "end": "11:00", "staff": 3}],
    )
    assert _session(alice, running, world, team_a, pattern_id=province.pk).end_time == dt.time(11)
    assert Session.objects.count() == 1


def test_without_a_pattern_the_hours_are_needed(world, alice, running, team_a):
    with translation.override("en"), pytest.raises(SessionError) as caught:
        _session(alice, running, world, team_a, start_time=None, end_time=None)
    assert caught.value.message == "Give the session's opening hours, or choose a shift pattern."
    assert Session.objects.count() == 0


def test_the_session_form_plans_from_a_pattern_and_shows_the_refusal(
    world, alice, running, team_a, weekday_pattern
):
    url = reverse("campaigns:session_create", args=[running.slug])
    client = login(alice)
    form = client.get(url).content.decode()
    assert f'<option value="{weekday_pattern.pk}">Hai ca ngày thường (Xã Thạch Hà)</option>' in form
    data = {
        "unit_id": world.commune_a.pk,
        "team_id": team_a.pk,
        "site_kind": "commune_office",
        "site_name": "Trụ sở Công an xã Thạch Hà",
        "day": SATURDAY.isoformat(),
        "pattern_id": weekday_pattern.pk,
        "sets": "2",
        "slot_minutes": "30",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "không làm việc vào Thứ bảy 13/09/2025" in text(refused)
    assert Session.objects.count() == 0
    made = client.post(url, {**data, "day": MONDAY.isoformat()})
    assert made.status_code == 302
    session = Session.objects.get()
    assert (session.start_time, session.end_time, session.capacity) == (
        dt.time(6),
        dt.time(17),
        180,
    )
    # Neither a pattern nor the hours: the form says what is missing.
    missing = client.post(url, {**data, "pattern_id": "", "day": "2025-09-09"})
    assert missing.status_code == 400
    assert "Hãy nhập giờ làm việc hoặc chọn một mẫu ca" in text(missing)


def test_the_manual_page_helper_finds_the_superseded_figures(world, alice, hana, running):
    from cancuoc.campaigns.services.campaigns import manual_counts_superseded

    first = manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
    )
    later = manual_count_enter(
        actor=alice,
        campaign_id=running.pk,
        unit_id=world.commune_a.pk,
        day=START + dt.timedelta(1),
        received=9,
    )
    cf.enrolled(world.commune_a, START, 12)
    cf.enrolled(world.commune_b, START + dt.timedelta(1), 5)  # another unit: not a clash
    found = manual_counts_superseded(campaign=running, entries=[first, later])
    assert found == {(world.commune_a.pk, START): 12}
    assert manual_counts_superseded(campaign=running, entries=[]) == {}
