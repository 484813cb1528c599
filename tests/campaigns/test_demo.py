"""The campaign demo step: a campaign in progress on the demo province, built once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cancuoc.campaigns import demo
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignStatus,
    EquipmentSet,
    Invitation,
    ManualCount,
    Session,
    ShiftPattern,
    Team,
)
from cancuoc.campaigns.reports import daily_report, dashboard
from cancuoc.core.demo import DemoContext
from cancuoc.core.events import rollups_rebuild
from cancuoc.core.models import DailyRollup, Event
from cancuoc.core.workdays import VN_TZ
from cancuoc.registry.population import population_generate
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world(world, hana):
    """The test world's province with five communes and a small registry."""
    for code, name in (("18300", "Xã Kỳ Anh"), ("18400", "Xã Hương Khê"), ("18500", "Xã Can Lộc")):
        factories.unit(parent=world.hatinh, code=code, name=name)
    population_generate(province=world.hatinh, people=12_000, seed=7)
    lines: list[str] = []
    ctx = DemoContext(province_code="42", second_province_code="96", out=lines.append)
    ctx.units.update(
        nation=world.nation,
        province=world.hatinh,
        commune=world.commune_a,
        commune_b=world.commune_b,
        second_province=world.camau,
    )
    return ctx, lines


def _snapshot():
    return (
        Campaign.objects.count(),
        Session.objects.count(),
        Invitation.objects.count(),
        Event.objects.count(),
        sorted(DailyRollup.objects.values_list("unit_id", "day", "subject", "measure", "value")),
    )


def test_the_demo_builds_a_campaign_in_progress_once(demo_world, hana):
    ctx, lines = demo_world
    demo.load_campaign(ctx)
    campaign = Campaign.objects.get(slug=demo.slug_for(ctx.units["province"]))
    today = timezone.localdate()

    # In progress: started 40 days ago, 100 days long, active, target from the cohort.
    assert campaign.status == CampaignStatus.ACTIVE
    assert campaign.start_date == today - dt.timedelta(days=40)
    assert campaign.deadline == campaign.start_date + dt.timedelta(days=100)
    assert campaign.target == 5 * demo.TARGET_PER_COMMUNE
    allocations = Allocation.objects.filter(campaign=campaign)
    assert allocations.count() == 5
    assert sum(a.target for a in allocations) == campaign.target
    # Shared by due population (the cohort), so the communes' shares differ.
    assert len({a.target for a in allocations}) > 1
    assert all(a.due_population > 0 for a in allocations)

    # 30+ days of history: one synthetic count per commune and open day, marked as such.
    synthetic = Event.objects.filter(kind="enrolment.completed", payload__synthetic=True)
    days = set(synthetic.values_list("day", flat=True))
    assert len(days) >= 30
    assert min(days) == campaign.start_date and max(days) == today

    # One commune is counted by hand, every day, and the report flags it.
    manual_unit = _unit_of(ManualCount.objects.filter(campaign=campaign))
    assert ManualCount.objects.filter(campaign=campaign).count() >= 30, lines
    assert not synthetic.filter(unit=manual_unit).exists()
    report = daily_report(user=hana, campaign_id=campaign.pk, day=today - dt.timedelta(days=1))
    flagged = [row for row in report.rows if row.is_manual]
    assert [row.unit_id for row in flagged] == [manual_unit.pk]
    assert all(row.quota > 0 for row in report.rows)

    # Some communes ahead of their quota, some behind: on the report of the day before,
    # and in the forecast (those behind will miss the deadline at their pace).
    pcts = [row.pct for row in report.rows]
    assert max(pcts) >= 100 and min(pcts) < 80, pcts
    board = dashboard(user=hana, campaign_id=campaign.pk, on=today)
    at_risk = {row.unit_id for row in board.forecast.at_risk}
    assert 0 < len(at_risk) < 5
    assert world_b(ctx).pk in at_risk  # the demo's second commune is held behind
    assert board.cumulative[-1] == board.report.total.cumulative
    assert board.cumulative[-2] == report.total.cumulative

    # Teams, sets and shift patterns; sessions at four kinds of site, past and coming.
    assert Team.objects.filter(unit_path__startswith=campaign.unit_path).count() >= 4
    assert EquipmentSet.objects.filter(team__isnull=False).count() >= 9
    assert ShiftPattern.objects.count() == 3
    kinds = set(Session.objects.filter(campaign=campaign).values_list("site_kind", flat=True))
    assert {"commune_office", "village_hall", "home"} <= kinds
    assert Session.objects.filter(campaign=campaign, day__lt=today, status="closed").exists()
    assert Session.objects.filter(campaign=campaign, day__gt=today, status="planned").exists()

    # Invitations with attendance: attended and no-shows in the past, invited and
    # reminded for the coming days; never more booked than a slot holds.
    statuses = set(Invitation.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert {"attended", "no_show", "invited", "reminded"} <= statuses
    assert not Invitation.objects.filter(
        campaign=campaign, status="attended", session__day__gt=today
    ).exists()
    for session in Session.objects.filter(campaign=campaign).prefetch_related("slots"):
        for slot in session.slots.all():
            holding = slot.invitations.filter(
                status__in=["invited", "reminded", "rescheduled", "attended"]
            ).count()
            assert slot.booked == holding <= slot.capacity

    # The rollups are the ones the event path wrote: a rebuild from the events agrees.
    incremental = sorted(
        DailyRollup.objects.values_list("unit_id", "day", "subject", "measure", "value")
    )
    rollups_rebuild()
    assert (
        sorted(DailyRollup.objects.values_list("unit_id", "day", "subject", "measure", "value"))
        == incremental
    )
    assert any("Dashboard: /campaigns/c/" in line for line in lines), lines

    # A second run adds nothing.
    before = _snapshot()
    demo.load_campaign(ctx)
    assert _snapshot() == before
    assert lines[-1] == "campaign: the demo campaign is already there"


def test_without_a_province_manager_the_step_does_nothing(demo_world):
    ctx, lines = demo_world
    ctx.units["province"].users.all().delete()
    demo.load_campaign(ctx)
    assert not Campaign.objects.exists()
    assert lines == ["campaign: no province manager or too few communes; skipped"]


def world_b(ctx):
    return ctx.units["commune_b"]


def _unit_of(queryset):
    (unit,) = {row.unit for row in queryset.select_related("unit")}
    return unit


def test_recent_days_of_the_demo_commune_come_from_real_enrolments(demo_world, hana):
    """With the enrolment demo's intakes present, the demo commune's recent days count those
    enrolments, and its session of the day invites the citizens who came, marked attended
    with their applications, plus no-shows."""
    from cancuoc.dossiers.applicant import id_number_valid, phone_normalise, phone_valid
    from cancuoc.registry.models import Citizen
    from tests.enrolment import factories as enrol

    ctx, _lines = demo_world
    commune = ctx.units["commune"]
    enrol.load_card_procedures()
    station = enrol.station(unit=commune, operators=[enrol.operator(commune)])
    day = timezone.localdate() - dt.timedelta(days=2)
    at = dt.datetime.combine(day, dt.time(9, 0), tzinfo=VN_TZ)
    people = [
        c
        for c in Citizen.objects.filter(current_unit=commune, life_status="alive")
        .exclude(birth_date__isnull=True)
        .order_by("pk")
        if id_number_valid(c.id_number)
        and (not c.phone or phone_valid(phone_normalise(c.phone)))
        and (day - c.birth_date).days > 20 * 366
    ][:3]
    applications = [
        enrol.completed_application(
            station=station, citizen=c, at=at + dt.timedelta(minutes=10 * i)
        )
        for i, c in enumerate(people)
    ]
    assert {a.status for a in applications} == {"completed"}

    demo.load_campaign(ctx)
    campaign = Campaign.objects.get(slug=demo.slug_for(ctx.units["province"]))
    # The commune's figure of the day: its synthetic count (its other intake points) plus
    # the three real enrolments, which the rollups hold as the enrolment service wrote them.
    (synthetic,) = Event.objects.filter(
        kind="enrolment.completed", payload__synthetic=True, unit=commune, day=day
    )
    real = Event.objects.filter(kind="enrolment.completed", unit=commune, day=day).exclude(
        payload__has_key="synthetic"
    )
    assert real.count() == 3
    report = daily_report(user=hana, campaign_id=campaign.pk, day=day)
    (row,) = [r for r in report.rows if r.unit_id == commune.pk]
    assert row.received == synthetic.measures["enrolled"] + 3
    assert not row.is_manual

    (session,) = Session.objects.filter(campaign=campaign, unit=commune, day=day)
    assert session.status == "closed"
    attended = session.invitations.filter(status="attended")
    assert sorted(attended.values_list("application_id", flat=True)) == sorted(
        a.pk for a in applications
    )
    assert session.invitations.filter(status="no_show").count() >= 1
