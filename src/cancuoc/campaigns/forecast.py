"""Will the deadline be met? Finish dates at the recent pace, and the pace needed.

Pure Python (no Django). The recent pace is the average of the last 7 open days of the
campaign up to the day asked about (fewer at the start); its range is the slowest and the
fastest of those days. The finish date counts open days of the campaign calendar after
that day (past the deadline the same rules go on), so a campaign closed on Sundays does
not "finish" on a Sunday.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cancuoc.campaigns.calendar import CampaignCalendar
from cancuoc.campaigns.quotas import required_pace

#: The recent pace is measured over this many open days.
PACE_WINDOW = 7
#: A projection further than this many open days away is "not in sight" (None).
HORIZON_DAYS = 3660


@dataclass(frozen=True)
class PaceForecast:
    target: int
    cumulative: int
    pace_days: int  # open days the pace was measured over (≤ 7)
    pace_avg: Decimal  # dossiers per open day, one decimal
    pace_min: int
    pace_max: int
    finish: dt.date | None  # at the average pace; None: never at this pace
    finish_early: dt.date | None  # at the fastest day's pace
    finish_late: dt.date | None  # at the slowest day's pace
    required_pace: int | None  # per open day left until the deadline; None: no day left
    open_days_left: int
    deadline: dt.date

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.cumulative)

    @property
    def done(self) -> bool:
        return self.cumulative >= self.target

    @property
    def at_risk(self) -> bool:
        """The target will not be met by the deadline at the recent average pace."""
        if self.done:
            return False
        return self.finish is None or self.finish > self.deadline

    @property
    def days_late(self) -> int | None:
        """Calendar days after the deadline at the average pace (None: never)."""
        if self.finish is None:
            return None if not self.done else 0
        return max(0, (self.finish - self.deadline).days)


def finish_date(
    calendar: CampaignCalendar, *, on: dt.date, remaining: int, pace: Decimal | int
) -> dt.date | None:
    """The open day on which `remaining` is reached at `pace` a day, counting from the day
    after `on`; `on` itself when nothing remains; None when the pace is zero or the finish
    lies beyond the horizon."""
    if remaining <= 0:
        return on
    if pace <= 0:
        return None
    needed = math.ceil(Decimal(remaining) / Decimal(pace))
    if needed > HORIZON_DAYS:
        return None
    # A calendar with (almost) no open days left stops at twice the horizon.
    return calendar.nth_open_after(on, needed, limit=on + dt.timedelta(days=HORIZON_DAYS * 2))


def forecast_pace(
    calendar: CampaignCalendar,
    *,
    on: dt.date,
    daily: Mapping[dt.date, int],
    target: int,
    cumulative: int,
    window: int = PACE_WINDOW,
) -> PaceForecast:
    """The forecast for one unit (or the whole campaign) as of the evening of `on`."""
    days = calendar.last_open_days(on, window)
    counts = [int(daily.get(day, 0)) for day in days]
    if counts:
        avg = (Decimal(sum(counts)) / len(counts)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        low, high = min(counts), max(counts)
    else:
        avg, low, high = Decimal("0.0"), 0, 0
    remaining = max(0, target - cumulative)
    exact_avg = Decimal(sum(counts)) / len(counts) if counts else Decimal(0)
    left = calendar.open_days_after(on) if on < calendar.deadline else 0
    return PaceForecast(
        target=target,
        cumulative=cumulative,
        pace_days=len(counts),
        pace_avg=avg,
        pace_min=low,
        pace_max=high,
        finish=finish_date(calendar, on=on, remaining=remaining, pace=exact_avg),
        finish_early=finish_date(calendar, on=on, remaining=remaining, pace=high),
        finish_late=finish_date(calendar, on=on, remaining=remaining, pace=low),
        required_pace=required_pace(remaining=remaining, days=left),
        open_days_left=left,
        deadline=calendar.deadline,
    )
