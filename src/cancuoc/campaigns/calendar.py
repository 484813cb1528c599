"""A campaign's own calendar: which days between its start and its deadline are open.

Pure Python (no Django). The articles' campaigns worked weekends and sometimes holidays
(Hà Tĩnh "không nghỉ cả ngày thứ bảy, chủ nhật"; Nam Định "kể cả thứ bảy, chủ nhật và
ngày lễ"), so a campaign says whether weekends and public holidays are open, and single
days can be opened or closed by decision (`CampaignDay` rows), which always win.

Public holidays are those of `core.workdays` (the `holidays` package plus the official
days off loaded as data), so a campaign and the one-stop desk agree on what a holiday is.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from cancuoc.core.workdays import default_calendar

ONE_DAY = dt.timedelta(days=1)


def official_holiday(day: dt.date) -> bool:
    """A public holiday or an official extra day off (a swapped weekday)."""
    calendar = default_calendar()
    return calendar.is_public_holiday(day) or day in calendar.days_off


@dataclass(frozen=True)
class CampaignCalendar:
    start: dt.date
    deadline: dt.date
    open_weekends: bool = True
    open_holidays: bool = False
    #: day → open? (decisions that override the rules above)
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    is_holiday: Callable[[dt.date], bool] = official_holiday
    _open: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    #: Open days after the deadline (the rules go on), worked out on demand and kept.
    _after: list[dt.date] = field(init=False, repr=False, compare=False)
    _after_end: dt.date = field(init=False, repr=False, compare=False)  # last day looked at

    def __post_init__(self) -> None:
        if self.deadline < self.start:
            raise ValueError("the deadline is before the start")
        days = []
        day = self.start
        while day <= self.deadline:
            if self._rule_open(day):
                days.append(day)
            day += ONE_DAY
        # Frozen dataclass: the sorted open days are computed once, for bisecting.
        object.__setattr__(self, "_open", tuple(days))
        object.__setattr__(self, "_after", [])
        object.__setattr__(self, "_after_end", self.deadline)

    def _rule_open(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if not self.open_weekends and day.weekday() >= 5:
            return False
        return self.open_holidays or not self.is_holiday(day)

    # --- questions ---------------------------------------------------------------------

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.deadline

    def is_open(self, day: dt.date) -> bool:
        """Open for intake: inside the campaign and open by rule or decision."""
        return self.contains(day) and self._rule_open(day)

    @property
    def open_days(self) -> tuple[dt.date, ...]:
        return self._open

    def open_days_between(self, lo: dt.date, hi: dt.date) -> int:
        """Open days in [lo, hi] (both inclusive)."""
        if hi < lo:
            return 0
        return bisect.bisect_right(self._open, hi) - bisect.bisect_left(self._open, lo)

    def open_days_from(self, day: dt.date) -> int:
        """Open days from `day` (inclusive) to the deadline (inclusive)."""
        return self.open_days_between(day, self.deadline)

    def open_days_after(self, day: dt.date) -> int:
        """Open days strictly after `day` up to the deadline."""
        return self.open_days_between(day + ONE_DAY, self.deadline)

    def last_open_days(self, on: dt.date, n: int) -> list[dt.date]:
        """The last `n` open days up to and including `on` (fewer at the campaign's start)."""
        end = bisect.bisect_right(self._open, on)
        return list(self._open[max(0, end - n) : end])

    def nth_open_after(self, day: dt.date, n: int, *, limit: dt.date) -> dt.date | None:
        """The `n`-th open day strictly after `day` (n ≥ 1), past the deadline too, or None
        if it falls after `limit`. Same days as `iter_open_after`, but by index: the days
        past the deadline are worked out once per calendar, so the forecasts of a
        province's hundred units (three finish dates each) share them."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if day < self.start:
            for count, found in enumerate(self.iter_open_after(day), start=1):
                if found > limit:
                    return None
                if count == n:
                    return found
        inside = len(self._open) - bisect.bisect_right(self._open, day)
        if n <= inside:
            found = self._open[len(self._open) - inside + n - 1]
            return found if found <= limit else None
        # Past the deadline: index into the kept days, extending them up to `limit`.
        after, n = self._after, n - inside
        cursor = self._after_end
        while cursor < min(day, limit):  # first every kept day up to `day` itself
            cursor += ONE_DAY
            if self._rule_open(cursor):
                after.append(cursor)
        skip = bisect.bisect_right(after, day)
        while len(after) < skip + n and cursor < limit:
            cursor += ONE_DAY
            if self._rule_open(cursor):
                after.append(cursor)
        object.__setattr__(self, "_after_end", cursor)
        if len(after) < skip + n:
            return None
        found = after[skip + n - 1]
        return found if found <= limit else None

    def iter_open_after(self, day: dt.date) -> Iterator[dt.date]:
        """Open days strictly after `day`, past the deadline too (the rules continue), for
        projecting a finish date that falls after the deadline."""
        day += ONE_DAY
        while True:
            if self._rule_open(day):
                yield day
            day += ONE_DAY
