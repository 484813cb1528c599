"""The working-day calendar of Vietnamese state offices, and the one-stop deadline rule.

Pure Python: no Django import, so it runs anywhere (views, reports, tests, scripts).

A day is a **working day** when it is

* listed as an extra working day (a Saturday worked in a government swap), or else
* a Monday–Friday that is neither an extra day off nor a public holiday.

Public holidays come from ``holidays.country_holidays("VN")``. Checked against the
official announcements for 2021–2026 (see ``tests/core/test_workdays.py``), the package
already gives: 1/1; Tết as the 5 statutory days, with a Tết day that falls on a Saturday
made up on the previous working day and one on a Sunday on the next (2021: 10–16/2,
2023: 20–26/1, 2024: 8–14/2, 2025: 27–31/1, 2026: 16–20/2); Hùng Kings (10/3 lunar);
30/4; 1/5; 2/9 plus the adjacent day chosen by the government (from 2021); the make-up
day (nghỉ bù) on the next working day when a holiday falls on a weekend (e.g. 3/5/2021,
3/1/2022, 11/4/2022, 2–3/5/2023, 4/9/2023, 27/4/2026); from 2026, 24/11 (Vietnam
Culture Day); and some weekday-off halves of government swaps (29/4/2024, 2/5/2025,
31/8/2026). So the weekend make-up rule needs no code here.

What the package cannot know is the yearly swaps decided by the government (the day off
*and* the Saturday worked in exchange) and any extra day off. Those are data:
``data/workday_adjustments.tsv`` (``date``, ``kind`` = ``day_off`` | ``working_day``,
``note``), loaded by :func:`default_calendar`. A :class:`WorkCalendar` can equally be
built from rows an administrator keeps in the database.

Counting convention used throughout: ``add_working_days(d, n)`` is the date on which the
n-th working day strictly after ``d`` falls, and ``working_days_between(a, b)`` counts
the working days in the half-open interval ``(a, b]``; so
``working_days_between(d, add_working_days(d, n)) == n``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import importlib.resources
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_CUTOFF",
    "VN_TZ",
    "Adjustment",
    "WorkCalendar",
    "default_calendar",
    "due_date",
    "load_adjustments",
    "parse_adjustments",
    "vn_public_holidays",
]

VN_TZ: Final = ZoneInfo("Asia/Ho_Chi_Minh")
#: A dossier received after this local time counts from the next working day. The
#: one-stop rules (Decree 61/2018/NĐ-CP, now 118/2025/NĐ-CP; domain §5) move a dossier
#: received after 15:00 to the next working day; the project applies it to the deadline.
DEFAULT_CUTOFF: Final = dt.time(15, 0)

DAY_OFF: Final = "day_off"
WORKING_DAY: Final = "working_day"
AdjustmentKind = Literal["day_off", "working_day"]

_ADJUSTMENTS_FILE: Final = "workday_adjustments.tsv"
#: No real calendar has a year without a working day; past this, the data is wrong.
_MAX_SEARCH_DAYS: Final = 366


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One row of the adjustments table: an extra day off or an extra working day."""

    date: dt.date
    kind: AdjustmentKind
    note: str = ""


@functools.cache
def vn_public_holidays(year: int) -> frozenset[dt.date]:
    """The Vietnamese public holidays (with make-up days) of ``year``, per the package."""
    return frozenset(holidays.country_holidays("VN", years=year, observed=True).keys())


class WorkCalendar:
    """Monday–Friday, minus public holidays and extra days off, plus extra working days.

    ``days_off`` and ``working_days`` are the official adjustments (swaps, bridge days).
    An extra working day wins over everything (a Saturday worked, or a package holiday
    an administrator overrides); an extra day off wins over a plain weekday. A date in
    both lists is refused. ``public_holidays`` maps a year to its holidays; the default is
    the ``holidays`` package (pass ``lambda year: ()`` for a bare Monday–Friday calendar).
    """

    def __init__(
        self,
        days_off: Iterable[dt.date] = (),
        working_days: Iterable[dt.date] = (),
        *,
        public_holidays: Callable[[int], Collection[dt.date]] = vn_public_holidays,
    ) -> None:
        self.days_off: frozenset[dt.date] = frozenset(days_off)
        self.working_days: frozenset[dt.date] = frozenset(working_days)
        both = self.days_off & self.working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates listed both as day off and as working day: {listed}")
        self._public_holidays = public_holidays

    @classmethod
    def from_adjustments(
        cls,
        adjustments: Iterable[Adjustment],
        *,
        public_holidays: Callable[[int], Collection[dt.date]] = vn_public_holidays,
    ) -> WorkCalendar:
        rows = list(adjustments)
        return cls(
            days_off=[a.date for a in rows if a.kind == DAY_OFF],
            working_days=[a.date for a in rows if a.kind == WORKING_DAY],
            public_holidays=public_holidays,
        )

    def __repr__(self) -> str:
        return f"WorkCalendar(days_off={len(self.days_off)}, working_days={len(self.working_days)})"

    # --- single days -------------------------------------------------------------------

    def is_public_holiday(self, day: dt.date) -> bool:
        return day in self._public_holidays(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        day = _as_date(day)
        if day in self.working_days:
            return True
        if day in self.days_off or day.weekday() >= 5:
            return False
        return not self.is_public_holiday(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day = _as_date(day)
        for _ in range(_MAX_SEARCH_DAYS):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days after {day}")

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a working day, otherwise the next working day."""
        day = _as_date(day)
        return day if self.is_working_day(day) else self.next_working_day(day)

    # --- spans -------------------------------------------------------------------------

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The date of the ``n``-th working day strictly after ``start``.

        ``n == 0`` returns ``start`` unchanged (working day or not); for ``n >= 1`` the
        result is always a working day, and ``(start, result]`` holds exactly ``n``
        working days. Negative ``n`` is refused.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = _as_date(start)
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """The number of working days in ``(a, b]``; negative when ``b`` is before ``a``.

        ``working_days_between(d, add_working_days(d, n)) == n`` and
        ``working_days_between(a, a) == 0``.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        return sum(
            1
            for offset in range(1, (b - a).days + 1)
            if self.is_working_day(a + dt.timedelta(offset))
        )


# --- The adjustments table ------------------------------------------------------------


def parse_adjustments(text: str, *, source: str = "<text>") -> list[Adjustment]:
    """Parse an adjustments TSV: ``#`` comment lines, a header, then one row per date."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    missing = {"date", "kind"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{source}: missing column(s) {sorted(missing)}")
    rows: list[Adjustment] = []
    seen: set[dt.date] = set()
    for line_no, row in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat((row["date"] or "").strip())
        except ValueError as exc:
            raise ValueError(f"{source} row {line_no}: bad date {row['date']!r}") from exc
        kind = (row["kind"] or "").strip()
        if kind == DAY_OFF:
            checked: AdjustmentKind = "day_off"
        elif kind == WORKING_DAY:
            checked = "working_day"
        else:
            raise ValueError(f"{source} row {line_no}: kind must be day_off or working_day")
        if day in seen:
            raise ValueError(f"{source} row {line_no}: {day} is listed twice")
        seen.add(day)
        rows.append(Adjustment(day, checked, (row.get("note") or "").strip()))
    return rows


def load_adjustments() -> list[Adjustment]:
    """The shipped official adjustments, ``data/workday_adjustments.tsv``."""
    text = (
        importlib.resources.files(__package__ or "cancuoc.core")
        .joinpath("data", _ADJUSTMENTS_FILE)
        .read_text("utf-8")
    )
    return parse_adjustments(text, source=f"data/{_ADJUSTMENTS_FILE}")


@functools.cache
def default_calendar() -> WorkCalendar:
    """The package holidays plus the shipped adjustments (built once, then shared)."""
    return WorkCalendar.from_adjustments(load_adjustments())


# --- The one-stop deadline -----------------------------------------------------------


def due_date(
    received: dt.datetime,
    n_working_days: int,
    *,
    paused_working_days: int = 0,
    cutoff: dt.time = DEFAULT_CUTOFF,
    calendar: WorkCalendar | None = None,
) -> dt.date:
    """The date a dossier's result is due (ngày hẹn trả kết quả).

    Interpretation (domain §5, Decree 61/2018 and 118/2025, "standard practice" [M]):

    1. ``received`` must be timezone-aware; it is converted to Vietnam time
       (Asia/Ho_Chi_Minh) before its date and time are read. A naive datetime is a
       ``ValueError``: guessing its zone would silently move deadlines.
    2. **Day 0** is the receipt date when that date is a working day and the local
       time is not after ``cutoff`` (15:00; 15:00:00 exactly still counts as the same
       day, 15:00:01 does not). A receipt after the cutoff, or on a weekend, holiday or
       other day off, has day 0 = the next working day.
    3. The due date is day 0 plus ``n_working_days + paused_working_days`` working days,
       counted strictly after day 0: received Monday 09:00 with N = 1 is due Tuesday;
       received Monday 16:00 with N = 1 is due Wednesday. ``paused_working_days`` are
       the working days the clock stood still while the citizen supplied missing papers
       (request for more documents, Mẫu 02); e.g. ``calendar.working_days_between(
       asked_on, supplied_on)``.
    4. A due date on a day off moves to the next working day (domain §7). Counting only
       working days already guarantees it (N = 0 gives day 0, itself a working day); the
       final roll-forward states the rule explicitly.

    Returns a local (Vietnam) date.
    """
    if received.tzinfo is None or received.utcoffset() is None:
        raise ValueError("received must be a timezone-aware datetime (Asia/Ho_Chi_Minh)")
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff is a local wall-clock time; give it without tzinfo")
    if n_working_days < 0:
        raise ValueError(f"n_working_days must be >= 0, got {n_working_days}")
    if paused_working_days < 0:
        raise ValueError(f"paused_working_days must be >= 0, got {paused_working_days}")
    cal = calendar if calendar is not None else default_calendar()

    local = received.astimezone(VN_TZ)
    day = local.date()
    if cal.is_working_day(day) and local.time() <= cutoff:
        day_zero = day
    else:
        day_zero = cal.next_working_day(day)
    due = cal.add_working_days(day_zero, n_working_days + paused_working_days)
    return cal.working_day_on_or_after(due)


def _as_date(value: dt.date) -> dt.date:
    """Accept a date; refuse a datetime, whose ``.date()`` would ignore its time zone."""
    if isinstance(value, dt.datetime):
        raise TypeError("pass a date, not a datetime (convert to Vietnam time first)")
    return value
