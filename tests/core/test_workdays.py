"""The working-day calendar and the one-stop due date (pure: no database)."""

from __future__ import annotations

import datetime as dt
import re

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cancuoc.core.workdays import (
    VN_TZ,
    Adjustment,
    WorkCalendar,
    default_calendar,
    due_date,
    load_adjustments,
    parse_adjustments,
)

D = dt.date
CAL = default_calendar()


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0, tz: dt.tzinfo = VN_TZ) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(i) for i in range((end - start).days + 1)]


def off_weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    """The Monday–Friday dates in [start, end] that the calendar treats as days off."""
    return [d for d in days(start, end) if d.weekday() < 5 and not CAL.is_working_day(d)]


# --- The official holiday periods (what the package + our table must reproduce) ------------
# Each expectation is the weekday days off of an officially announced period.


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Tết Tân Sửu: 10–16/2/2021, 7 days (hanoimoi.vn, 498925).
        (
            D(2021, 2, 6),
            D(2021, 2, 21),
            [*days(D(2021, 2, 10), D(2021, 2, 12)), D(2021, 2, 15), D(2021, 2, 16)],
        ),
        # Tết Nhâm Dần: 31/1–4/2/2022 + both weekends (Công văn 245/VPCP-KGVX).
        (D(2022, 1, 24), D(2022, 2, 11), days(D(2022, 1, 31), D(2022, 2, 4))),
        # Tết Quý Mão: 20–26/1/2023, 7 days.
        (D(2023, 1, 16), D(2023, 2, 3), [D(2023, 1, 20), *days(D(2023, 1, 23), D(2023, 1, 26))]),
        # Tết Giáp Thìn: 8–14/2/2024 (Công văn 8662/VPCP-KGVX).
        (
            D(2024, 2, 5),
            D(2024, 2, 23),
            [D(2024, 2, 8), D(2024, 2, 9), *days(D(2024, 2, 12), D(2024, 2, 14))],
        ),
        # Tết Ất Tỵ: 25/1–2/2/2025, 5 days 27–31/1, no working Saturday (8726/VPCP-KGVX).
        (D(2025, 1, 20), D(2025, 2, 14), days(D(2025, 1, 27), D(2025, 1, 31))),
        # Tết Bính Ngọ: 14–22/2/2026, 5 days 16–20/2, 9 days in all.
        (D(2026, 2, 9), D(2026, 2, 27), days(D(2026, 2, 16), D(2026, 2, 20))),
    ],
)
def test_tet_periods_match_the_official_announcements(start, end, expected):
    assert off_weekdays(start, end) == expected


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2021, [D(2021, 9, 2), D(2021, 9, 3)]),
        (2022, [D(2022, 9, 1), D(2022, 9, 2)]),
        (2023, [D(2023, 9, 1), D(2023, 9, 4)]),  # 8056/VPCP-KGVX: 1–4/9, 4/9 made up
        (2024, [D(2024, 9, 2), D(2024, 9, 3)]),  # 31/8–3/9
        (2025, [D(2025, 9, 1), D(2025, 9, 2)]),  # 30/8–2/9
        (2026, [D(2026, 8, 31), D(2026, 9, 1), D(2026, 9, 2)]),  # swap with Saturday 22/8
    ],
)
def test_national_day_is_two_days_plus_adjustments(year, expected):
    assert off_weekdays(D(year, 8, 24), D(year, 9, 10)) == expected


@pytest.mark.parametrize(
    ("holiday", "made_up"),
    [
        (D(2021, 5, 1), D(2021, 5, 3)),  # 1/5 on Saturday
        (D(2022, 1, 1), D(2022, 1, 3)),  # 1/1 on Saturday
        (D(2022, 4, 10), D(2022, 4, 11)),  # Hùng Kings on Sunday
        (D(2023, 1, 1), D(2023, 1, 2)),  # 1/1 on Sunday
        (D(2023, 4, 30), D(2023, 5, 3)),  # Hùng Kings Sat 29/4 and 30/4 Sun → 2 and 3/5
        (D(2026, 4, 26), D(2026, 4, 27)),  # Hùng Kings on Sunday (thanhnien.vn)
    ],
)
def test_a_holiday_on_a_weekend_is_made_up_on_the_next_working_day(holiday, made_up):
    assert holiday.weekday() >= 5
    assert not CAL.is_working_day(made_up)
    assert made_up.weekday() < 5


def test_shipped_adjustments_are_well_formed_and_sourced():
    rows = load_adjustments()
    assert rows, "the table ships 2021–2026 adjustments"
    for row in rows:
        assert 2021 <= row.date.year <= 2026
        assert row.note, f"{row.date}: every row cites its source"
        if row.kind == "working_day":
            assert row.date.weekday() == 5, f"{row.date}: swaps are worked on Saturdays"
        else:
            assert row.date.weekday() < 5, f"{row.date}: a day off on a weekend changes nothing"
    per_year = {
        y: sum(r.kind == "day_off" for r in rows if r.date.year == y) for y in range(2021, 2027)
    }
    worked = {
        y: sum(r.kind == "working_day" for r in rows if r.date.year == y) for y in range(2021, 2027)
    }
    assert per_year == worked, "each swapped day off has its working Saturday"


def test_every_package_swap_has_its_working_saturday_in_the_table():
    # The package knows some swapped days off but not the Saturday worked for them.
    worked = {r.date for r in load_adjustments() if r.kind == "working_day"}
    for year in range(2021, 2027):
        for name in holidays.country_holidays("VN", years=year, language="en_US").values():
            m = re.search(r"substituted from (\d\d)/(\d\d)/(\d{4})", name)
            if m:
                saturday = D(int(m[3]), int(m[1]), int(m[2]))
                assert saturday in worked, f"{name}: add {saturday} as working_day"


# --- The calendar object ---------------------------------------------------------------


def test_a_working_saturday_counts_and_its_swapped_weekday_does_not():
    assert CAL.is_working_day(D(2024, 5, 4))  # Saturday worked for Monday 29/4/2024
    assert not CAL.is_working_day(D(2024, 4, 29))
    assert CAL.is_working_day(D(2026, 1, 10))  # Saturday worked for Friday 2/1/2026
    assert not CAL.is_working_day(D(2026, 1, 2))
    assert CAL.is_working_day(D(2025, 4, 26))
    assert not CAL.is_working_day(D(2025, 5, 2))
    assert not CAL.is_working_day(D(2024, 5, 11))  # an ordinary Saturday


def test_calendar_from_administrator_rows():
    cal = WorkCalendar(days_off=[D(2026, 3, 20)], working_days=[D(2026, 3, 21), D(2026, 11, 24)])
    assert not cal.is_working_day(D(2026, 3, 20))  # extra day off (Friday)
    assert cal.is_working_day(D(2026, 3, 21))  # Saturday worked
    assert cal.is_working_day(D(2026, 11, 24))  # overrides a package holiday
    assert not WorkCalendar().is_working_day(D(2026, 11, 24))
    assert WorkCalendar(public_holidays=lambda year: ()).is_working_day(D(2026, 9, 2))
    cal2 = WorkCalendar.from_adjustments(
        [Adjustment(D(2026, 3, 20), "day_off"), Adjustment(D(2026, 3, 21), "working_day")]
    )
    assert cal2.days_off == cal.days_off
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(days_off=[D(2026, 3, 20)], working_days=[D(2026, 3, 20)])


def test_spans():
    assert CAL.next_working_day(D(2026, 3, 13)) == D(2026, 3, 16)  # Friday → Monday
    assert CAL.next_working_day(D(2026, 3, 16)) == D(2026, 3, 17)  # strictly after
    assert CAL.working_day_on_or_after(D(2026, 3, 16)) == D(2026, 3, 16)
    assert CAL.working_day_on_or_after(D(2026, 3, 14)) == D(2026, 3, 16)
    assert CAL.add_working_days(D(2026, 3, 14), 0) == D(2026, 3, 14)
    assert CAL.add_working_days(D(2026, 3, 14), 1) == D(2026, 3, 16)
    assert CAL.add_working_days(D(2021, 2, 9), 1) == D(2021, 2, 17)  # over Tết 2021
    assert CAL.working_days_between(D(2021, 2, 9), D(2021, 2, 17)) == 1
    assert CAL.working_days_between(D(2021, 2, 17), D(2021, 2, 9)) == -1
    assert CAL.working_days_between(D(2026, 3, 16), D(2026, 3, 16)) == 0
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2026, 3, 16), -1)
    with pytest.raises(TypeError):
        CAL.is_working_day(at(2026, 3, 16))  # a datetime, not a date


def test_parse_adjustments_rejects_bad_rows():
    good = "# comment\ndate\tkind\tnote\n2026-01-10\tworking_day\tx\n\n"
    assert parse_adjustments(good) == [Adjustment(D(2026, 1, 10), "working_day", "x")]
    with pytest.raises(ValueError, match="bad date"):
        parse_adjustments("date\tkind\tnote\n10/1/2026\tworking_day\tx\n")
    with pytest.raises(ValueError, match="kind"):
        parse_adjustments("date\tkind\tnote\n2026-01-10\tholiday\tx\n")
    with pytest.raises(ValueError, match="twice"):
        parse_adjustments("date\tkind\n2026-01-10\tworking_day\n2026-01-10\tday_off\n")
    with pytest.raises(ValueError, match="missing"):
        parse_adjustments("day\tkind\n2026-01-10\tworking_day\n")


# --- The due date ----------------------------------------------------------------------


def test_received_monday_morning_with_one_day_is_due_tuesday():
    assert due_date(at(2026, 3, 16, 9), 1) == D(2026, 3, 17)
    assert due_date(at(2026, 3, 16, 9), 0) == D(2026, 3, 16)


def test_across_tet_2021():
    # Tuesday 9/2/2021, the day before the break 10–16/2: counting resumes on 17/2.
    assert due_date(at(2021, 2, 9, 10), 5) == D(2021, 2, 23)  # 17, 18, 19, 22, 23
    assert due_date(at(2021, 2, 9, 15, 30), 5) == D(2021, 2, 24)  # day 0 is 17/2
    assert due_date(at(2021, 2, 11, 10), 1) == D(2021, 2, 18)  # filed online during Tết


def test_across_tet_2026():
    # Friday 13/2/2026, the day before the 9-day break 14–22/2.
    assert due_date(at(2026, 2, 13, 10), 3) == D(2026, 2, 25)  # 23, 24, 25
    assert due_date(at(2026, 2, 13, 16), 3) == D(2026, 2, 26)  # day 0 is 23/2
    assert due_date(at(2026, 2, 15, 10), 3) == D(2026, 2, 26)  # received on Sunday in Tết
    # Ten days from Friday 6/2: 9, 10, 11, 12, 13, then 23, 24, 25, 26, 27.
    assert due_date(at(2026, 2, 6, 10), 10) == D(2026, 2, 27)


def test_holiday_on_a_weekend_made_up_delays_the_due_date():
    # Hùng Kings Sat 29/4/2023 and 30/4 Sun, 1/5 Mon, made up Tue 2/5 and Wed 3/5.
    assert due_date(at(2023, 4, 28, 9), 1) == D(2023, 5, 4)
    # 1/1/2022 on Saturday, made up Monday 3/1.
    assert due_date(at(2021, 12, 31, 9), 1) == D(2022, 1, 4)
    # Hùng Kings Sunday 26/4/2026, made up Monday 27/4.
    assert due_date(at(2026, 4, 24, 9), 1) == D(2026, 4, 28)


def test_working_saturday_swap_counts_as_a_working_day():
    assert due_date(at(2024, 5, 3, 9), 1) == D(2024, 5, 4)  # due on the worked Saturday
    assert due_date(at(2024, 4, 26, 9), 1) == D(2024, 5, 2)  # 29/4 swapped off, 30/4, 1/5
    assert due_date(at(2024, 4, 26, 9), 3) == D(2024, 5, 4)  # 2/5, 3/5, Saturday 4/5
    assert due_date(at(2025, 4, 25, 9), 1) == D(2025, 4, 26)
    assert due_date(at(2026, 1, 9, 9), 1) == D(2026, 1, 10)
    # Received on the worked Saturday itself before 15:00: that day is day 0.
    assert due_date(at(2024, 5, 4, 9), 1) == D(2024, 5, 6)


def test_the_15_00_cutoff():
    assert due_date(at(2026, 3, 16, 14, 59), 1) == D(2026, 3, 17)
    assert due_date(at(2026, 3, 16, 15, 0), 1) == D(2026, 3, 17)  # not *after* 15:00
    assert due_date(at(2026, 3, 16, 15, 1), 1) == D(2026, 3, 18)
    # The same instants given in UTC (Vietnam is UTC+7).
    assert due_date(at(2026, 3, 16, 7, 59, tz=dt.UTC), 1) == D(2026, 3, 17)
    assert due_date(at(2026, 3, 16, 8, 1, tz=dt.UTC), 1) == D(2026, 3, 18)
    # Sunday 18:00 UTC is Monday 01:00 in Vietnam: day 0 is that Monday.
    assert due_date(at(2026, 3, 15, 18, 0, tz=dt.UTC), 1) == D(2026, 3, 17)
    # A custom cutoff.
    assert due_date(at(2026, 3, 16, 16, 30), 1, cutoff=dt.time(17)) == D(2026, 3, 17)


def test_a_paused_supplement_request_adds_its_days():
    assert due_date(at(2026, 3, 16, 9), 5) == D(2026, 3, 23)
    assert due_date(at(2026, 3, 16, 9), 5, paused_working_days=3) == D(2026, 3, 26)
    # A pause that runs into the 30/4–1/5/2026 holidays (Thu, Fri).
    assert due_date(at(2026, 4, 20, 9), 5, paused_working_days=2) == D(2026, 5, 4)


def test_due_date_refuses_bad_input():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_date(dt.datetime(2026, 3, 16, 9), 1)
    with pytest.raises(ValueError):
        due_date(at(2026, 3, 16), -1)
    with pytest.raises(ValueError):
        due_date(at(2026, 3, 16), 1, paused_working_days=-1)
    with pytest.raises(ValueError, match="cutoff"):
        due_date(at(2026, 3, 16), 1, cutoff=dt.time(15, tzinfo=VN_TZ))


def test_due_date_uses_the_given_calendar():
    bare = WorkCalendar(public_holidays=lambda year: ())
    assert due_date(at(2026, 9, 1, 9), 1, calendar=bare) == D(2026, 9, 2)
    # 1/9/2026 is a holiday: day 0 is Thursday 3/9, due Friday 4/9.
    assert due_date(at(2026, 9, 1, 9), 1) == D(2026, 9, 4)


# --- Properties ------------------------------------------------------------------------

received_st = st.datetimes(
    min_value=dt.datetime(2021, 1, 1),
    max_value=dt.datetime(2026, 12, 31, 23, 59),
    timezones=st.sampled_from([VN_TZ, dt.UTC]),
)
dates_st = st.dates(min_value=D(2021, 1, 1), max_value=D(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(received=received_st, n=st.integers(0, 60), paused=st.integers(0, 20))
def test_due_date_is_a_working_day_not_before_receipt(received, n, paused):
    due = due_date(received, n, paused_working_days=paused)
    assert CAL.is_working_day(due)
    assert due >= received.astimezone(VN_TZ).date()
    assert due == due_date(received, n + paused)


@settings(max_examples=200, deadline=None)
@given(received=received_st, n=st.integers(0, 40), more=st.integers(1, 20))
def test_due_date_is_monotonic_in_n(received, n, more):
    assert due_date(received, n) < due_date(received, n + more)


@settings(max_examples=300, deadline=None)
@given(start=dates_st, n=st.integers(0, 60))
def test_add_working_days_spans_exactly_n_working_days(start, n):
    result = CAL.add_working_days(start, n)
    assert result >= start
    counted = sum(CAL.is_working_day(d) for d in days(start + dt.timedelta(1), result))
    assert counted == n
    assert CAL.working_days_between(start, result) == n
    if n:
        assert CAL.is_working_day(result)
