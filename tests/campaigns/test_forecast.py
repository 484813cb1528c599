"""Forecasts: the 7-day pace with its range, finish dates, required pace, units at risk."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.campaigns import reports
from cancuoc.campaigns.calendar import CampaignCalendar
from cancuoc.campaigns.forecast import finish_date, forecast_pace
from tests.campaigns import factories as cf

START = dt.date(2021, 3, 1)


def no_holidays(day: dt.date) -> bool:
    return False


def calendar(deadline: dt.date, **kw) -> CampaignCalendar:
    return CampaignCalendar(START, deadline, is_holiday=no_holidays, **kw)


def test_pace_range_finish_and_required_by_hand():
    on = dt.date(2021, 3, 10)
    days = [on - dt.timedelta(days=6 - i) for i in range(7)]  # 4/3 … 10/3
    daily = dict(zip(days, [10, 20, 30, 40, 50, 60, 70], strict=True))
    daily[dt.date(2021, 3, 3)] = 999  # outside the window: ignored for the pace
    f = forecast_pace(
        calendar(on + dt.timedelta(20)), on=on, daily=daily, target=1_000, cumulative=280
    )
    assert (f.pace_days, f.pace_avg, f.pace_min, f.pace_max) == (7, Decimal("40.0"), 10, 70)
    assert f.remaining == 720
    assert f.finish == on + dt.timedelta(18)  # 720 / 40
    assert f.finish_early == on + dt.timedelta(11)  # ceil(720 / 70)
    assert f.finish_late == on + dt.timedelta(72)  # 720 / 10, past the deadline
    assert (f.required_pace, f.open_days_left) == (36, 20)  # 720 / 20
    assert f.at_risk is False and f.days_late == 0


def test_at_risk_when_the_pace_finishes_after_the_deadline():
    on = dt.date(2021, 3, 10)
    daily = {on - dt.timedelta(i): 10 for i in range(7)}
    f = forecast_pace(
        calendar(on + dt.timedelta(5)), on=on, daily=daily, target=1_000, cumulative=900
    )
    assert f.finish == on + dt.timedelta(10)
    assert f.at_risk is True and f.days_late == 5
    assert f.required_pace == 20


def test_zero_pace_never_finishes_and_done_is_not_at_risk():
    on = dt.date(2021, 3, 10)
    f = forecast_pace(calendar(dt.date(2021, 4, 1)), on=on, daily={}, target=100, cumulative=0)
    assert (f.finish, f.finish_early, f.finish_late) == (None, None, None)
    assert f.at_risk is True and f.days_late is None
    done = forecast_pace(
        calendar(dt.date(2021, 4, 1)), on=on, daily={on: 5}, target=100, cumulative=100
    )
    assert done.done and not done.at_risk and done.finish == on and done.required_pace == 0


def test_closed_days_are_skipped_by_the_pace_and_the_finish():
    # Weekdays only: 1/3/2021 is a Monday. Sat 6 and Sun 7 are closed.
    cal = calendar(dt.date(2021, 3, 31), open_weekends=False)
    on = dt.date(2021, 3, 9)  # Tuesday
    daily = {dt.date(2021, 3, d): 10 for d in (1, 2, 3, 4, 5, 8, 9)}
    f = forecast_pace(cal, on=on, daily=daily, target=100, cumulative=70)
    assert f.pace_days == 7 and f.pace_avg == Decimal("10.0")
    # 30 left at 10 a day: Wed 10, Thu 11, Fri 12.
    assert f.finish == dt.date(2021, 3, 12)
    assert finish_date(cal, on=on, remaining=40, pace=10) == dt.date(2021, 3, 15)  # after a weekend


@given(
    remaining=st.integers(min_value=1, max_value=3_000),  # within the horizon at pace 1
    pace=st.integers(min_value=1, max_value=500),
)
def test_finish_date_is_the_first_open_day_that_covers_the_remainder(remaining, pace):
    cal = calendar(dt.date(2021, 3, 31), open_weekends=False)
    on = dt.date(2021, 3, 9)
    finish = finish_date(cal, on=on, remaining=remaining, pace=pace)
    assert finish is not None and finish.weekday() < 5
    open_days = sum(
        1 for d in range((finish - on).days) if (on + dt.timedelta(d + 1)).weekday() < 5
    )
    assert open_days * pace >= remaining > (open_days - 1) * pace


# --- from the rollups ---------------------------------------------------------------------


@pytest.fixture
def race(world, hana):
    """Two communes, 1,000 each over March 2021 (every day open): A fast, B slow."""
    campaign = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        start_date=START,
        deadline=dt.date(2021, 3, 31),
        target=2_000,
        open_holidays=True,
    )
    cf.allocations(campaign, {world.commune_a: 1_000, world.commune_b: 1_000})
    for i in range(10):
        day = START + dt.timedelta(i)
        cf.enrolled(world.commune_a, day, 50)
        cf.enrolled(world.commune_b, day, 10 + i)  # 10 … 19
    return campaign


def test_forecast_per_unit_and_overall(world, hana, race):
    on = dt.date(2021, 3, 10)
    outlook = reports.forecast(user=hana, campaign_id=race.pk, on=on)
    a = next(r for r in outlook.units if r.unit_id == world.commune_a.pk).forecast
    b = next(r for r in outlook.units if r.unit_id == world.commune_b.pk).forecast
    assert (a.cumulative, a.pace_avg, a.finish) == (500, Decimal("50.0"), dt.date(2021, 3, 20))
    assert a.at_risk is False
    # B: 145 received; last 7 days 13 … 19 → 16 a day; 855 left → 54 days: past 31/3.
    assert (b.cumulative, b.pace_avg, b.pace_min, b.pace_max) == (145, Decimal("16.0"), 13, 19)
    assert b.finish == on + dt.timedelta(54) and b.at_risk is True
    assert b.required_pace == 41  # 855 / 21 days left
    assert [r.unit_id for r in outlook.at_risk] == [world.commune_b.pk]
    assert outlook.overall.cumulative == 645 and outlook.overall.target == 2_000
    assert outlook.overall.pace_avg == Decimal("66.0")
    assert outlook.as_dict()["at_risk"] == [world.commune_b.pk]


def test_forecast_scope(world, alice, carl, race):
    outlook = reports.forecast(user=alice, campaign_id=race.pk, on=dt.date(2021, 3, 10))
    assert [r.unit_id for r in outlook.units] == [world.commune_a.pk]
    assert outlook.overall.target == 1_000  # only what she can see
    from cancuoc.core.errors import OutOfScope

    with pytest.raises(OutOfScope):
        reports.forecast(user=carl, campaign_id=race.pk, on=dt.date(2021, 3, 10))
