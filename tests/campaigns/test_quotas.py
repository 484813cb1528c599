"""Pure arithmetic of allocations, daily quotas, percentages, numbers and the calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.campaigns.calendar import CampaignCalendar
from cancuoc.campaigns.quotas import (
    allocation_gap,
    daily_quota,
    format_decimal,
    format_int,
    format_percent,
    largest_remainder,
    percent,
    required_pace,
)


def no_holidays(day: dt.date) -> bool:
    return False


# --- largest remainder -----------------------------------------------------------------


@given(
    target=st.integers(min_value=0, max_value=10**9),
    weights=st.dictionaries(
        st.integers(min_value=1, max_value=10_000),
        st.integers(min_value=0, max_value=10**7),
        min_size=1,
        max_size=60,
    ),
)
def test_largest_remainder_always_sums_to_the_target(target, weights):
    shares = largest_remainder(target, weights)
    assert sum(shares.values()) == target
    assert set(shares) == set(weights)
    total = sum(weights.values())
    for key, share in shares.items():
        assert share >= 0
        if total:
            exact = Decimal(target) * weights[key] / total
            # Hamilton: never more than one away from the exact quota.
            assert exact - 1 < share < exact + 1


def test_largest_remainder_by_hand():
    # 1000 split 1:1:1 → 333.33 each; the first by order takes the spare unit.
    assert largest_remainder(1000, {"a": 1, "b": 1, "c": 1}) == {"a": 334, "b": 333, "c": 333}
    # Remainders .6, .3, .1 of 10 × (6/10, 3/10, 1/10)… exact; 7 × (5, 3, 2)/10 → 3.5, 2.1,
    # 1.4: floors 3, 2, 1 (6); the spare goes to the largest remainder, a.
    assert largest_remainder(7, {"a": 5, "b": 3, "c": 2}) == {"a": 4, "b": 2, "c": 1}
    # No census yet: an even split.
    assert largest_remainder(10, {"a": 0, "b": 0, "c": 0}) == {"a": 4, "b": 3, "c": 3}
    assert largest_remainder(0, {}) == {}


def test_largest_remainder_refuses_nonsense():
    with pytest.raises(ValueError):
        largest_remainder(-1, {"a": 1})
    with pytest.raises(ValueError):
        largest_remainder(5, {"a": -1})
    with pytest.raises(ValueError):
        largest_remainder(5, {})


def test_allocation_gap():
    assert allocation_gap(100, {1: 40, 2: 50}) == 10
    assert allocation_gap(100, {1: 40, 2: 60}) == 0
    assert allocation_gap(100, {1: 70, 2: 60}) == -30


# --- daily quotas and pace --------------------------------------------------------------


def test_daily_quota_is_remaining_over_days_rounded_up():
    assert daily_quota(remaining_target=72_000, remaining_days=120) == 600
    assert daily_quota(remaining_target=72_001, remaining_days=120) == 601
    assert daily_quota(remaining_target=0, remaining_days=10) == 0
    assert daily_quota(remaining_target=-50, remaining_days=10) == 0
    assert daily_quota(remaining_target=50, remaining_days=0) == 0


@given(
    remaining=st.integers(min_value=1, max_value=10**8),
    days=st.integers(min_value=1, max_value=400),
)
def test_meeting_every_quota_meets_the_target(remaining, days):
    quota = daily_quota(remaining_target=remaining, remaining_days=days)
    assert quota * days >= remaining
    assert (quota - 1) * days < remaining


def test_required_pace():
    assert required_pace(remaining=1000, days=3) == 334
    assert required_pace(remaining=0, days=0) == 0
    assert required_pace(remaining=5, days=0) is None


# --- percentages and numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (718, 600, "119.7"),
        (631, 600, "105.2"),  # the article prints 106,2 for Hương Sơn
        (628, 600, "104.7"),  # the article prints 104,5 for Đức Thọ
        (675, 600, "112.5"),
        (9020, 8400, "107.4"),
        (1, 8, "12.5"),  # 12.5 exactly
        (1, 16, "6.3"),  # 6.25 → 6.3: half up, not half even
        (3, 40, "7.5"),
        (1, 3, "33.3"),
    ],
)
def test_percent_one_decimal_half_up(part, whole, expected):
    assert percent(part, whole) == Decimal(expected)


def test_percent_of_nothing_is_none():
    assert percent(5, 0) is None
    assert format_percent(None) == "—"


def test_vietnamese_and_english_numbers():
    assert format_int(9020, "vi") == "9.020"
    assert format_int(1_149_122, "vi") == "1.149.122"
    assert format_int(9020, "en") == "9,020"
    assert format_int(600, "vi") == "600"
    assert format_percent(Decimal("107.4"), "vi") == "107,4%"
    assert format_percent(Decimal("107.4"), "en-gb") == "107.4%"
    assert format_decimal(Decimal("1074.55"), "vi", 1) == "1.074,6"
    assert format_decimal(Decimal("1074.55"), "en", 1) == "1,074.6"


# --- the campaign calendar ------------------------------------------------------------------


def test_calendar_weekends_holidays_and_overrides():
    holiday = dt.date(2021, 4, 30)

    def is_holiday(day: dt.date) -> bool:
        return day == holiday

    start, end = dt.date(2021, 4, 26), dt.date(2021, 5, 2)  # Monday → Sunday
    every_day = CampaignCalendar(start, end, is_holiday=is_holiday, open_holidays=True)
    assert len(every_day.open_days) == 7
    no_holiday = CampaignCalendar(start, end, is_holiday=is_holiday)
    assert holiday not in no_holiday.open_days and len(no_holiday.open_days) == 6
    weekdays = CampaignCalendar(start, end, open_weekends=False, is_holiday=is_holiday)
    assert weekdays.open_days == tuple(dt.date(2021, 4, d) for d in (26, 27, 28, 29))
    # A decision wins over the rules both ways.
    decided = CampaignCalendar(
        start,
        end,
        open_weekends=False,
        is_holiday=is_holiday,
        overrides={dt.date(2021, 5, 1): True, dt.date(2021, 4, 27): False},
    )
    assert decided.open_days == (
        dt.date(2021, 4, 26),
        dt.date(2021, 4, 28),
        dt.date(2021, 4, 29),
        dt.date(2021, 5, 1),
    )
    assert decided.open_days_from(dt.date(2021, 4, 28)) == 3
    assert decided.open_days_after(dt.date(2021, 4, 28)) == 2
    assert decided.is_open(dt.date(2021, 5, 3)) is False  # after the deadline
    assert decided.last_open_days(dt.date(2021, 4, 29), 7) == [
        dt.date(2021, 4, 26),
        dt.date(2021, 4, 28),
        dt.date(2021, 4, 29),
    ]


def test_calendar_uses_the_official_holidays_by_default():
    # 30/4 and 1/5/2021 are public holidays in Vietnam; 3/5/2021 the make-up day.
    calendar = CampaignCalendar(dt.date(2021, 4, 29), dt.date(2021, 5, 4))
    assert [d.day for d in calendar.open_days] == [29, 2, 4]
    open_all = CampaignCalendar(dt.date(2021, 4, 29), dt.date(2021, 5, 4), open_holidays=True)
    assert len(open_all.open_days) == 6


def test_calendar_refuses_a_deadline_before_the_start():
    with pytest.raises(ValueError):
        CampaignCalendar(dt.date(2021, 5, 2), dt.date(2021, 5, 1))
