"""Campaign services: create, allocate, quotas, calendar days, manual counts; bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from cancuoc.campaigns import reports
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignDay,
    ManualCount,
    QuotaOverride,
    TargetKind,
)
from cancuoc.campaigns.services import (
    AllocationError,
    CampaignError,
    ManualCountError,
    QuotaError,
    allocation_propose,
    allocations_set,
    campaign_create,
    campaign_day_set,
    manual_count_enter,
    quota_set,
)
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry, DailyRollup, Event
from tests import factories
from tests.campaigns import factories as cf

START = dt.date(2025, 9, 1)  # a Monday


@pytest.fixture(autouse=True)
def english():
    """The messages are checked in English (the msgids), whatever the catalogue holds."""
    with translation.override("en"):
        yield


DEADLINE = dt.date(2025, 9, 30)


def _create(actor, world, **kw):
    args = dict(
        actor=actor,
        slug="ht-2025",
        name="Hà Tĩnh 2025",
        unit_id=world.hatinh.pk,
        start_date=START,
        deadline=DEADLINE,
        target=3_000,
        target_kind=TargetKind.NUMBER,
    )
    args.update(kw)
    return campaign_create(**args)


# --- campaign_create ---------------------------------------------------------------------


def test_campaign_create_records_audit_and_event(world, hana):
    campaign = _create(hana, world)
    assert (campaign.target, campaign.unit_path, campaign.province_code) == (
        3_000,
        "/2025/42/",
        "42",
    )
    assert campaign.status == "draft"
    assert (
        AuditEntry.objects.filter(action="campaign.created", object_id=str(campaign.pk)).count()
        == 1
    )
    assert Event.objects.filter(kind="campaign.created").count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deadline": dt.date(2025, 8, 31)}, "deadline"),
        ({"target": 0}, "target"),
        ({"target": None}, "target"),
        ({"law": "1999"}, "regime"),
        ({"show_up_rate": 0}, "show-up"),
        ({"slug": "  "}, "short name"),
        ({"ranking_weights": {"speed": 5}}, "ranking weights"),
    ],
)
def test_campaign_create_refuses_bad_input(world, hana, changes, message):
    with pytest.raises(CampaignError) as caught:
        _create(hana, world, **changes)
    assert message in caught.value.message
    assert Campaign.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_campaign_create_refuses_a_duplicate_slug(world, hana):
    _create(hana, world)
    with pytest.raises(CampaignError, match="already exists"):
        _create(hana, world, name="Again")
    assert Campaign.objects.count() == 1


def test_campaign_create_needs_the_capability_and_the_scope(world, alice, bob, carl):
    with pytest.raises(PermissionDenied):
        _create(bob, world, unit_id=world.commune_b.pk)  # a clerk
    with pytest.raises(OutOfScope):
        _create(alice, world)  # the province is above her commune
    with pytest.raises(OutOfScope):
        _create(carl, world)  # another province
    assert Campaign.objects.count() == 0
    # Alice may run a campaign of her own commune.
    assert _create(alice, world, unit_id=world.commune_a.pk).unit == world.commune_a


def test_cohort_target_is_the_must_bucket(world, hana):
    for _ in range(3):
        factories.citizen(unit=world.commune_a, birth_date=dt.date(1990, 1, 1))
    factories.citizen(unit=world.commune_b, birth_date=dt.date(1980, 1, 1))
    factories.citizen(unit=world.commune_b, birth_date=dt.date(2020, 1, 1))  # under 14
    campaign = _create(hana, world, target=None, target_kind=TargetKind.COHORT)
    assert campaign.target == 4

    rows = allocation_propose(actor=hana, campaign_id=campaign.pk)
    shares = {a.unit_id: (a.target, a.due_population) for a in rows}
    assert shares == {world.commune_a.pk: (3, 3), world.commune_b.pk: (1, 1)}


# --- allocations -----------------------------------------------------------------------


def test_allocation_propose_splits_by_due_population_exactly(world, hana):
    for _ in range(2):
        factories.citizen(unit=world.commune_a, birth_date=dt.date(1990, 1, 1))
    factories.citizen(unit=world.commune_b, birth_date=dt.date(1990, 1, 1))
    campaign = _create(hana, world, target=1_000)
    rows = allocation_propose(actor=hana, campaign_id=campaign.pk)
    # 1000 × 2/3 = 666.67, × 1/3 = 333.33 → the spare unit to the larger remainder (a).
    assert {a.unit_id: a.target for a in rows} == {world.commune_a.pk: 667, world.commune_b.pk: 333}
    assert sum(a.target for a in rows) == 1_000


def test_allocations_set_must_sum_to_the_target(world, hana):
    campaign = _create(hana, world)
    allocations_set(
        actor=hana,
        campaign_id=campaign.pk,
        targets={world.commune_a.pk: 2_000, world.commune_b.pk: 1_000},
    )
    with pytest.raises(AllocationError) as caught:
        allocations_set(
            actor=hana,
            campaign_id=campaign.pk,
            targets={world.commune_a.pk: 2_500, world.commune_b.pk: 1_000},
        )
    assert "sum to 3,500" in caught.value.message or "3.500" in caught.value.message
    assert "nothing was saved" in caught.value.message or "không" in caught.value.message
    # The earlier allocation is intact.
    assert dict(Allocation.objects.values_list("unit_id", "target")) == {
        world.commune_a.pk: 2_000,
        world.commune_b.pk: 1_000,
    }


def test_allocations_set_refuses_units_outside_the_campaign(world, hana):
    campaign = _create(hana, world)
    with pytest.raises(CampaignError):
        allocations_set(
            actor=hana,
            campaign_id=campaign.pk,
            targets={world.commune_a.pk: 2_000, world.commune_c.pk: 1_000},
        )
    with pytest.raises(AllocationError):
        allocations_set(
            actor=hana,
            campaign_id=campaign.pk,
            targets={world.commune_a.pk: 3_100, world.commune_b.pk: -100},
        )
    assert Allocation.objects.count() == 0


def test_only_the_campaign_unit_managers_change_it(world, hana, alice):
    campaign = _create(hana, world)
    with pytest.raises(OutOfScope):
        allocations_set(actor=alice, campaign_id=campaign.pk, targets={world.commune_a.pk: 3_000})
    with pytest.raises(OutOfScope):
        quota_set(
            actor=alice, campaign_id=campaign.pk, unit_id=world.commune_a.pk, day=START, quota=5
        )
    assert Allocation.objects.count() == 0 and QuotaOverride.objects.count() == 0


# --- quotas and the calendar -------------------------------------------------------------


@pytest.fixture
def running(world, hana):
    """3,000 over September 2025, every day open (30 days): 100 a day per 1,500 share…"""
    campaign = _create(hana, world, open_holidays=True)
    allocations_set(
        actor=hana,
        campaign_id=campaign.pk,
        targets={world.commune_a.pk: 1_500, world.commune_b.pk: 1_500},
    )
    return campaign


def _row(report, unit):
    return next(r for r in report.rows if r.unit_id == unit.pk)


def test_daily_quota_is_remaining_target_over_remaining_days(world, hana, running):
    day1 = reports.daily_report(user=hana, campaign_id=running.pk, day=START)
    assert _row(day1, world.commune_a).quota == 50  # 1500 / 30
    cf.enrolled(world.commune_a, START, 80)
    cf.enrolled(world.commune_b, START, 20)
    day2 = reports.daily_report(user=hana, campaign_id=running.pk, day=START + dt.timedelta(1))
    # A: (1500 − 80) / 29 = 48.97 → 49; B: (1500 − 20) / 29 = 51.03 → 52.
    assert _row(day2, world.commune_a).quota == 49
    assert _row(day2, world.commune_b).quota == 52
    assert _row(day2, world.commune_a).cumulative == 80


def test_quota_set_by_hand_wins_and_can_be_removed(world, hana, running):
    day = START + dt.timedelta(1)
    quota_set(actor=hana, campaign_id=running.pk, unit_id=world.commune_a.pk, day=day, quota=600)
    report = reports.daily_report(user=hana, campaign_id=running.pk, day=day)
    assert (_row(report, world.commune_a).quota, _row(report, world.commune_a).quota_set) == (
        600,
        True,
    )
    quota_set(actor=hana, campaign_id=running.pk, unit_id=world.commune_a.pk, day=day, quota=None)
    report = reports.daily_report(user=hana, campaign_id=running.pk, day=day)
    # Back to the computed quota: 1500 / 29 open days left = 51.7 → 52.
    assert (_row(report, world.commune_a).quota, _row(report, world.commune_a).quota_set) == (
        52,
        False,
    )


def test_quota_set_refuses_bad_days_and_numbers(world, hana, running):
    with pytest.raises(QuotaError):
        quota_set(
            actor=hana,
            campaign_id=running.pk,
            unit_id=world.commune_a.pk,
            day=dt.date(2025, 10, 1),
            quota=5,
        )
    with pytest.raises(QuotaError):
        quota_set(
            actor=hana, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, quota=-1
        )
    with pytest.raises(CampaignError):
        quota_set(
            actor=hana, campaign_id=running.pk, unit_id=world.commune_c.pk, day=START, quota=5
        )
    assert QuotaOverride.objects.count() == 0


def test_closing_a_day_moves_its_quota_to_the_others(world, hana, running):
    # Close 10 of the 30 days: 1500 / 20 = 75 a day, and 0 on a closed day.
    for d in range(21, 31):
        campaign_day_set(
            actor=hana, campaign_id=running.pk, day=dt.date(2025, 9, d), is_open=False, note="bão"
        )
    report = reports.daily_report(user=hana, campaign_id=running.pk, day=START)
    assert _row(report, world.commune_a).quota == 75
    closed = reports.daily_report(user=hana, campaign_id=running.pk, day=dt.date(2025, 9, 21))
    assert _row(closed, world.commune_a).quota == 0 and closed.is_open is False
    assert _row(closed, world.commune_a).pct is None and _row(closed, world.commune_a).rank is None
    assert CampaignDay.objects.get(day=dt.date(2025, 9, 21)).note == "bão"
    campaign_day_set(actor=hana, campaign_id=running.pk, day=dt.date(2025, 9, 21), is_open=None)
    assert CampaignDay.objects.count() == 9


# --- manual counts ------------------------------------------------------------------------


def test_manual_count_is_flagged_and_replaced_by_re_entry(world, hana, alice, running):
    row = manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
    )
    assert row.received == 40 and row.entered_by == alice
    manual_count_enter(
        actor=alice, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=35
    )
    assert ManualCount.objects.get().received == 35
    # The rollup holds the current figure: the second event carried −5.
    deltas = list(
        Event.objects.filter(kind="campaign.manual_count").values_list("measures", flat=True)
    )
    assert deltas == [{"enrolled_manual": 40}, {"enrolled_manual": -5}]
    assert (
        DailyRollup.objects.get(day=START, subject="enrolment", measure="enrolled_manual").value
        == 35
    )
    report = reports.daily_report(user=hana, campaign_id=running.pk, day=START)
    a = _row(report, world.commune_a)
    assert (a.received, a.manual, a.is_manual) == (35, 35, True)
    assert AuditEntry.objects.filter(action="campaign.manual_count").count() == 2


def test_manual_count_refused_when_the_day_was_counted_automatically(world, hana, running):
    cf.enrolled(world.commune_a, START, 12)
    with pytest.raises(ManualCountError) as caught:
        manual_count_enter(
            actor=hana, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=40
        )
    assert "12" in caught.value.message and "Nothing was saved" in caught.value.message
    assert ManualCount.objects.count() == 0
    assert not Event.objects.filter(kind="campaign.manual_count").exists()
    # Another day of the same unit is fine.
    manual_count_enter(
        actor=hana,
        campaign_id=running.pk,
        unit_id=world.commune_a.pk,
        day=START + dt.timedelta(1),
        received=4,
    )


def test_manual_count_refuses_other_units_future_days_and_negatives(world, hana, alice, running):
    with pytest.raises(OutOfScope):  # commune B is not Alice's
        manual_count_enter(
            actor=alice, campaign_id=running.pk, unit_id=world.commune_b.pk, day=START, received=4
        )
    with pytest.raises(ManualCountError):
        manual_count_enter(
            actor=hana, campaign_id=running.pk, unit_id=world.commune_a.pk, day=START, received=-4
        )
    with pytest.raises(QuotaError):
        manual_count_enter(
            actor=hana,
            campaign_id=running.pk,
            unit_id=world.commune_a.pk,
            day=dt.date(2025, 8, 31),
            received=4,
        )
    future = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        start_date=dt.date(2099, 1, 1),
        deadline=dt.date(2099, 2, 1),
    )
    with pytest.raises(ManualCountError, match="still to come"):
        manual_count_enter(
            actor=hana,
            campaign_id=future.pk,
            unit_id=world.commune_a.pk,
            day=dt.date(2099, 1, 2),
            received=4,
        )
    assert ManualCount.objects.count() == 0
