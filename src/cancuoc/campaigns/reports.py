"""The campaign's daily quota report, forecast, ranking and dashboard, read from rollups.

Every figure comes from `DailyRollup` (subject "enrolment", measure "enrolled", appended
by each completed enrolment) and from the campaign's small tables (allocations, quota
overrides, manual counts, calendar days) — never from the enrolment or application
tables, so the cost grows with units × days and not with the number of enrolments.

Manual counts are read from `ManualCount` (one row per campaign, unit and day), not
from their rollup measure: the rollup is per unit and day and would mix two campaigns
that cover the same unit.

Manual and automatic counts never add up. A manual figure stands for a unit and day only
while the system has counted nothing there; once enrolments are counted for that unit and
day (e.g. an offline station pushes the day's intakes the next morning), the automatic
count supersedes the manual figure, which is kept but no longer counted: the row shows it
as "manual superseded" so the officer sees that the figure typed in was replaced. Entering
a manual figure after automatic counts is refused outright (`manual_count_enter`); this
rule covers the other order.

The daily quota of a unit is, unless set by hand (`QuotaOverride`, which always wins):
    ceil((unit target − received before the day) ÷ open campaign days from the day to the
    deadline), and 0 on a closed day.
Percentages have one decimal, rounded half up. The text lines read exactly as the police
publish them: "Công an huyện Thạch Hà (thu nhận 718/600 hồ sơ, đạt 119,7%)".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cancuoc.campaigns import forecast as pace
from cancuoc.campaigns import quotas
from cancuoc.campaigns import ranking as emulation
from cancuoc.campaigns.calendar import ONE_DAY, CampaignCalendar
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignDay,
    ManualCount,
    QuotaOverride,
)
from cancuoc.campaigns.selectors import campaign_get
from cancuoc.campaigns.services._common import EVENT_SUBJECT, MEASURE_AUTO, CampaignError
from cancuoc.campaigns.services.campaigns import reporting_units
from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import path_in_scope, prefix_q, scope_queryset
from cancuoc.units.models import Unit

#: Up to this many units, the rollups of a campaign's subtree are matched path by path
#: (one index seek per path, bounded by the days asked for) rather than by prefix.
EXACT_PATHS_LIMIT = 2000


class ReportDayInvalid(CampaignError):
    default_message = _("The day is outside the campaign.")


# --- Labels and lines (a publication format, fixed per language) -------------------------

_TYPE_WORDS = (
    "Tỉnh ",
    "Thành phố ",
    "Thị xã ",
    "Huyện ",
    "Quận ",
    "Xã ",
    "Phường ",
    "Thị trấn ",
    "Đặc khu ",
)

# The lines are the police's own publication format, so (like the printed forms) their
# wording is fixed here per language rather than left to the interface translation; the
# numbers follow the language's conventions (quotas.format_int / format_percent).
_LINES = {
    "vi": {
        "police": "Công an {unit}",
        "line": "{label} (thu nhận {received}/{quota} hồ sơ, đạt {pct})",
        "line_no_quota": "{label} (thu nhận {received} hồ sơ)",
        "total": "Toàn {unit}",
        # The user sees only some of the campaign's units: the total is theirs, not the
        # province's, and must not read as "Toàn tỉnh".
        "total_partial": "Tổng các đơn vị được xem",
    },
    "en": {
        "police": "{unit} police",
        "line": "{label} (received {received}/{quota} dossiers, {pct})",
        "line_no_quota": "{label} (received {received} dossiers)",
        "total": "All of {unit}",
        "total_partial": "Total of the units shown",
    },
}


def report_language(language: str | None = None) -> str:
    code = (language or translation.get_language() or "vi").lower()
    return "vi" if code.startswith("vi") else "en"


def _lower_type(name: str) -> str:
    """ "Huyện Thạch Hà" → "huyện Thạch Hà" (only a leading unit type is lowered)."""
    for word in _TYPE_WORDS:
        if name.startswith(word):
            return word.lower() + name[len(word) :]
    return name


def police_label(unit_name: str, language: str = "vi") -> str:
    lang = report_language(language)
    unit = _lower_type(unit_name) if lang == "vi" else unit_name
    return _LINES[lang]["police"].format(unit=unit)


def total_label(unit_name: str, language: str = "vi", *, partial: bool = False) -> str:
    lang = report_language(language)
    if partial:
        return _LINES[lang]["total_partial"]
    unit = _lower_type(unit_name) if lang == "vi" else unit_name
    return _LINES[lang]["total"].format(unit=unit)


def report_line(*, label: str, received: int, quota: int, language: str = "vi") -> str:
    lang = report_language(language)
    if quota <= 0:
        return _LINES[lang]["line_no_quota"].format(
            label=label, received=quotas.format_int(received, lang)
        )
    return _LINES[lang]["line"].format(
        label=label,
        received=quotas.format_int(received, lang),
        quota=quotas.format_int(quota, lang),
        pct=quotas.format_percent(quotas.percent(received, quota), lang),
    )


# --- Loading the figures ----------------------------------------------------------------


@dataclass
class UnitFigures:
    """One reporting unit's target, quotas set by hand and daily results."""

    unit: Unit
    own: bool  # the campaign's own unit (e.g. the provincial police's own intake)
    target: int
    auto: dict[dt.date, int] = field(default_factory=dict)
    manual: dict[dt.date, int] = field(default_factory=dict)
    overrides: dict[dt.date, int] = field(default_factory=dict)

    def received(self, day: dt.date) -> int:
        """The day's count: automatic counts supersede a manual figure (module doc)."""
        return self.auto.get(day, 0) or self.manual.get(day, 0)

    def manual_counted(self, day: dt.date) -> int:
        """The manual figure that counts on the day (0 once superseded)."""
        return 0 if self.auto.get(day, 0) else self.manual.get(day, 0)

    def manual_superseded(self, day: dt.date) -> int:
        """The manual figure that automatic counts replaced on the day (0 if none)."""
        return self.manual.get(day, 0) if self.auto.get(day, 0) else 0


@dataclass
class UnitDay:
    day: dt.date
    received: int
    quota: int
    quota_set: bool  # set by hand
    cumulative: int  # up to and including the day
    is_open: bool

    @property
    def pct(self) -> Decimal | None:
        return quotas.percent(self.received, self.quota)


@dataclass
class Figures:
    campaign: Campaign
    calendar: CampaignCalendar
    on: dt.date
    units: list[UnitFigures]
    partial: bool  # some of the campaign's units are outside the user's scope

    @property
    def target(self) -> int:
        if self.partial:
            return sum(u.target for u in self.units)
        return self.campaign.target

    def __post_init__(self) -> None:
        # The calendar's answers per day (open?, open days left) are the same for every
        # unit: work them out once, not units × days times.
        self._days: list[tuple[dt.date, bool, int]] = []
        day = self.campaign.start_date
        while day <= self.on:
            self._days.append((day, self.calendar.is_open(day), self.calendar.open_days_from(day)))
            day += ONE_DAY
        self._unit_days: dict[int, list[UnitDay]] = {}

    def unit_days(self, figures: UnitFigures) -> list[UnitDay]:
        """The unit's days from the start to `on`, with the quota each day had."""
        cached = self._unit_days.get(figures.unit.pk)
        if cached is not None:
            return cached
        result = []
        cumulative = 0
        auto, manual, overrides = figures.auto, figures.manual, figures.overrides
        for day, is_open, days_left in self._days:
            # Never auto + manual: automatic counts supersede the manual figure.
            received = auto.get(day, 0) or manual.get(day, 0)
            if day in overrides:
                quota, by_hand = overrides[day], True
            elif is_open:
                quota = quotas.daily_quota(
                    remaining_target=figures.target - cumulative, remaining_days=days_left
                )
                by_hand = False
            else:
                quota, by_hand = 0, False
            cumulative += received
            result.append(UnitDay(day, received, quota, by_hand, cumulative, is_open))
        self._unit_days[figures.unit.pk] = result
        return result


def campaign_calendar(campaign: Campaign) -> CampaignCalendar:
    overrides = dict(CampaignDay.objects.filter(campaign=campaign).values_list("day", "is_open"))
    return CampaignCalendar(
        start=campaign.start_date,
        deadline=campaign.deadline,
        open_weekends=campaign.open_weekends,
        open_holidays=campaign.open_holidays,
        overrides=overrides,
    )


def _rollup_rows(user: Any, campaign: Campaign, units: list[UnitFigures]) -> Any:
    """The rollups below the visible reporting units, in the form the index serves best
    (exact paths for a province's few hundred units; a scoped prefix beyond that)."""
    subtree = scope_queryset(
        Unit.objects.filter(prefix_q("path", campaign.unit_path)), user=user
    ).values_list("path", flat=True)
    paths = list(subtree[: EXACT_PATHS_LIMIT + 1])
    base = DailyRollup.objects.filter(subject=EVENT_SUBJECT, measure=MEASURE_AUTO)
    if len(paths) > EXACT_PATHS_LIMIT:
        return scope_queryset(base, user=user).filter(prefix_q("unit_path", campaign.unit_path))
    return base.filter(unit_path__in=paths)


class _PathMapper:
    """Maps a rollup's unit path to the reporting unit it counts for (or None)."""

    def __init__(self, campaign: Campaign, units: Iterable[UnitFigures]) -> None:
        self.own = None
        self.children: dict[str, UnitFigures] = {}
        for figures in units:
            if figures.own:
                self.own = figures
            else:
                self.children[figures.unit.path] = figures
        self.root = campaign.unit_path
        self.depth = len([p for p in self.root.split("/") if p])
        self.cache: dict[str, UnitFigures | None] = {}

    def __call__(self, path: str) -> UnitFigures | None:
        if path in self.cache:
            return self.cache[path]
        found: UnitFigures | None
        if path == self.root:
            found = self.own
        else:
            # Walk down from the campaign unit: the first prefix that is a child wins (the
            # nation's children sit two segments down, under their edition).
            found = None
            parts = [p for p in path.split("/") if p]
            for depth in range(self.depth + 1, len(parts) + 1):
                child = self.children.get("/" + "/".join(parts[:depth]) + "/")
                if child is not None:
                    found = child
                    break
        self.cache[path] = found
        return found


def _fetch(queryset: Any) -> list[tuple[Any, ...]]:
    """Run a grouped rollup query with a plain cursor (the ORM's per-row conversion costs
    more than the query on a province's units × days)."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def campaign_figures(*, user: Any, campaign: Campaign, on: dt.date) -> Figures:
    """Everything the reports need up to the evening of `on`, in a handful of queries."""
    targets = dict(Allocation.objects.filter(campaign=campaign).values_list("unit_id", "target"))
    units = []
    partial = False
    for unit in reporting_units(campaign):
        if not path_in_scope(user, unit.path):
            partial = True
            continue
        units.append(
            UnitFigures(unit=unit, own=unit.pk == campaign.unit_id, target=targets.get(unit.pk, 0))
        )
    by_id = {u.unit.pk: u for u in units}
    for unit_id, day, quota in QuotaOverride.objects.filter(
        campaign=campaign, unit_id__in=list(by_id), day__lte=on
    ).values_list("unit_id", "day", "quota"):
        by_id[unit_id].overrides[day] = quota
    for unit_id, day, received in ManualCount.objects.filter(
        campaign=campaign, unit_id__in=list(by_id), day__lte=on
    ).values_list("unit_id", "day", "received"):
        by_id[unit_id].manual[day] = received
    if units:
        mapper = _PathMapper(campaign, units)
        # No GROUP BY: a rollup row is already one unit's day (unique on unit, day, subject,
        # measure), and sorting ~15,000 rows by path cost more than the whole index scan.
        # The sum happens here anyway (several paths map to one reporting unit).
        rows = (
            _rollup_rows(user, campaign, units)
            .filter(day__gte=campaign.start_date, day__lte=on)
            .values_list("unit_path", "day", "value")
            .order_by()
        )
        for path, day, value in _fetch(rows):
            target = mapper(path)
            if target is not None and value:
                key = _as_date(day)
                target.auto[key] = target.auto.get(key, 0) + int(value)
    return Figures(
        campaign=campaign,
        calendar=campaign_calendar(campaign),
        on=on,
        units=units,
        partial=partial,
    )


def _campaign_day_check(campaign: Campaign, day: dt.date) -> None:
    if not campaign.start_date <= day <= campaign.deadline:
        raise ReportDayInvalid(
            str(
                _("%(day)s is outside the campaign (%(start)s – %(end)s).")
                % {
                    "day": f"{day:%d/%m/%Y}",
                    "start": f"{campaign.start_date:%d/%m/%Y}",
                    "end": f"{campaign.deadline:%d/%m/%Y}",
                }
            )
        )


# --- The daily report -------------------------------------------------------------------


@dataclass
class DailyRow:
    unit_id: int | None
    code: str
    name: str
    label: str  # "Công an huyện Thạch Hà"
    received: int
    manual: int  # of which entered by hand
    quota: int
    quota_set: bool
    cumulative: int
    target: int
    is_open: bool = True
    rank: int | None = None
    language: str = "vi"
    # A manual figure that automatic counts for the same day replaced: shown, not counted.
    manual_superseded: int = 0

    @property
    def is_manual(self) -> bool:
        return self.manual > 0

    @property
    def is_manual_superseded(self) -> bool:
        return self.manual_superseded > 0

    @property
    def pct(self) -> Decimal | None:
        return quotas.percent(self.received, self.quota)

    @property
    def pct_of_target(self) -> Decimal | None:
        return quotas.percent(self.cumulative, self.target)

    @property
    def text(self) -> str:
        return report_line(
            label=self.label, received=self.received, quota=self.quota, language=self.language
        )

    def as_dict(self) -> dict[str, Any]:
        pct, of_target = self.pct, self.pct_of_target
        return {
            "unit_id": self.unit_id,
            "code": self.code,
            "name": self.name,
            "label": self.label,
            "received": self.received,
            "manual": self.manual,
            "is_manual": self.is_manual,
            "manual_superseded": self.manual_superseded,
            "quota": self.quota,
            "quota_set": self.quota_set,
            "pct": str(pct) if pct is not None else None,
            "cumulative": self.cumulative,
            "target": self.target,
            "pct_of_target": str(of_target) if of_target is not None else None,
            "rank": self.rank,
            "text": self.text,
        }


@dataclass
class DailyReport:
    campaign: Campaign
    day: dt.date
    rows: list[DailyRow]  # best first, as the police publish them
    total: DailyRow
    language: str
    partial: bool
    is_open: bool

    @property
    def lines(self) -> list[str]:
        return [row.text for row in self.rows] + [self.total.text]

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": {
                "id": self.campaign.pk,
                "slug": self.campaign.slug,
                "name": self.campaign.name,
                "target": self.campaign.target,
                "deadline": self.campaign.deadline.isoformat(),
            },
            "day": self.day.isoformat(),
            "is_open": self.is_open,
            "partial": self.partial,
            "rows": [row.as_dict() for row in self.rows],
            "total": self.total.as_dict(),
            "lines": self.lines,
        }


def _rank_rows(rows: list[DailyRow]) -> list[DailyRow]:
    """Best percentage first; equal percentages share a rank; no quota: unranked, last."""
    ordered = sorted(
        rows,
        key=lambda r: (r.pct is None, -(r.pct or 0), -r.received, r.name),
    )
    previous: Decimal | None = None
    position = 0
    for index, row in enumerate(ordered, start=1):
        if row.pct is None:
            continue
        if row.pct != previous:
            position, previous = index, row.pct
        row.rank = position
    return ordered


def daily_report_from(figures: Figures, *, language: str | None = None) -> DailyReport:
    lang = report_language(language)
    day = figures.on
    rows = []
    for unit in figures.units:
        days = figures.unit_days(unit)
        today = days[-1]
        rows.append(
            DailyRow(
                unit_id=unit.unit.pk,
                code=unit.unit.code,
                name=unit.unit.name,
                label=police_label(unit.unit.name, lang),
                received=today.received,
                manual=unit.manual_counted(day),
                manual_superseded=unit.manual_superseded(day),
                quota=today.quota,
                quota_set=today.quota_set,
                cumulative=today.cumulative,
                target=unit.target,
                is_open=today.is_open,
                language=lang,
            )
        )
    campaign = figures.campaign
    total = DailyRow(
        unit_id=campaign.unit_id,
        code=campaign.unit.code,
        name=campaign.unit.name,
        label=total_label(campaign.unit.name, lang, partial=figures.partial),
        received=sum(r.received for r in rows),
        manual=sum(r.manual for r in rows),
        manual_superseded=sum(r.manual_superseded for r in rows),
        quota=sum(r.quota for r in rows),
        quota_set=any(r.quota_set for r in rows),
        cumulative=sum(r.cumulative for r in rows),
        target=figures.target,
        is_open=figures.calendar.is_open(day),
        language=lang,
    )
    return DailyReport(
        campaign=campaign,
        day=day,
        rows=_rank_rows(rows),
        total=total,
        language=lang,
        partial=figures.partial,
        is_open=figures.calendar.is_open(day),
    )


def daily_report(
    *, user: Any, campaign_id: int | str, day: dt.date, language: str | None = None
) -> DailyReport:
    """Per reporting unit: received (automatic, else manual, flagged; a manual figure
    superseded by automatic counts is shown but not counted), quota, % of the quota,
    cumulative, target, % of the target and rank; plus the total row (labelled as the
    sum of the units shown when the user sees only part of the campaign)."""
    campaign = campaign_get(user, campaign_id)
    _campaign_day_check(campaign, day)
    return daily_report_from(
        campaign_figures(user=user, campaign=campaign, on=day), language=language
    )


# --- Forecast ---------------------------------------------------------------------------


@dataclass
class ForecastRow:
    unit_id: int | None
    name: str
    label: str
    forecast: pace.PaceForecast


@dataclass
class CampaignForecast:
    campaign: Campaign
    on: dt.date
    overall: pace.PaceForecast
    units: list[ForecastRow]

    @property
    def at_risk(self) -> list[ForecastRow]:
        """Units that will miss their target at the recent pace, the furthest behind first."""
        risky = [row for row in self.units if row.forecast.at_risk]
        return sorted(
            risky,
            key=lambda r: (r.forecast.finish is not None, -(r.forecast.days_late or 0), r.name),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.slug,
            "on": self.on.isoformat(),
            "overall": forecast_dict(self.overall),
            "units": [
                {"unit_id": r.unit_id, "name": r.name, **forecast_dict(r.forecast)}
                for r in self.units
            ],
            "at_risk": [r.unit_id for r in self.at_risk],
        }


def forecast_dict(f: pace.PaceForecast) -> dict[str, Any]:
    def iso(day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    return {
        "target": f.target,
        "cumulative": f.cumulative,
        "remaining": f.remaining,
        "pace_days": f.pace_days,
        "pace_avg": str(f.pace_avg),
        "pace_min": f.pace_min,
        "pace_max": f.pace_max,
        "finish": iso(f.finish),
        "finish_early": iso(f.finish_early),
        "finish_late": iso(f.finish_late),
        "required_pace": f.required_pace,
        "open_days_left": f.open_days_left,
        "at_risk": f.at_risk,
    }


def forecast_from(figures: Figures, *, language: str | None = None) -> CampaignForecast:
    lang = report_language(language)
    rows = []
    overall_daily: dict[dt.date, int] = defaultdict(int)
    overall_cumulative = 0
    for unit in figures.units:
        daily = {d: unit.received(d) for d in set(unit.auto) | set(unit.manual)}
        cumulative = sum(daily.values())
        for d, n in daily.items():
            overall_daily[d] += n
        overall_cumulative += cumulative
        rows.append(
            ForecastRow(
                unit_id=unit.unit.pk,
                name=unit.unit.name,
                label=police_label(unit.unit.name, lang),
                forecast=pace.forecast_pace(
                    figures.calendar,
                    on=figures.on,
                    daily=daily,
                    target=unit.target,
                    cumulative=cumulative,
                ),
            )
        )
    overall = pace.forecast_pace(
        figures.calendar,
        on=figures.on,
        daily=overall_daily,
        target=figures.target,
        cumulative=overall_cumulative,
    )
    return CampaignForecast(campaign=figures.campaign, on=figures.on, overall=overall, units=rows)


def forecast(
    *, user: Any, campaign_id: int | str, on: dt.date, language: str | None = None
) -> CampaignForecast:
    """Per unit and overall: the finish date at the 7-day average pace (with the range of
    the slowest and fastest day), the pace needed to meet the deadline, the units at risk."""
    campaign = campaign_get(user, campaign_id)
    _campaign_day_check(campaign, on)
    return forecast_from(campaign_figures(user=user, campaign=campaign, on=on), language=language)


# --- Ranking ----------------------------------------------------------------------------

RANKING_MEASURES = (
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "rating_very_satisfied",
    "rating_satisfied",
    "rating_not_satisfied",
)


def _desk_sums(user: Any, figures: Figures) -> dict[int, dict[str, int]]:
    """One-stop desk returns and portal ratings per reporting unit over the campaign."""
    from cancuoc.dossiers.models import Procedure

    subjects = [f"proc:{code}" for code in Procedure.objects.values_list("code", flat=True)]
    if not subjects or not figures.units:
        return {}
    mapper = _PathMapper(figures.campaign, figures.units)
    subtree = scope_queryset(
        Unit.objects.filter(prefix_q("path", figures.campaign.unit_path)), user=user
    ).values_list("path", flat=True)
    paths = list(subtree[: EXACT_PATHS_LIMIT + 1])
    rows = DailyRollup.objects.filter(
        subject__in=subjects,
        measure__in=RANKING_MEASURES,
        day__gte=figures.campaign.start_date,
        day__lte=figures.on,
    )
    if len(paths) > EXACT_PATHS_LIMIT:
        rows = scope_queryset(rows, user=user).filter(
            prefix_q("unit_path", figures.campaign.unit_path)
        )
    else:
        rows = rows.filter(unit_path__in=paths)
    grouped = rows.values("unit_path", "measure").annotate(total=Sum("value")).order_by()
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, measure, total in _fetch(grouped):
        target = mapper(path)
        if target is not None:
            sums[target.unit.pk][measure] += int(total or 0)
    return sums


@dataclass
class RankingResult:
    campaign: Campaign
    on: dt.date
    weights: emulation.Weights
    rows: list[emulation.RankRow]

    def as_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return str(value) if value is not None else None

        return {
            "campaign": self.campaign.slug,
            "on": self.on.isoformat(),
            "weights": {
                "quota": str(self.weights.quota),
                "on_time": str(self.weights.on_time),
                "satisfaction": str(self.weights.satisfaction),
                "quota_cap": str(self.weights.quota_cap),
            },
            "rows": [
                {
                    "unit_id": row.key,
                    "label": row.label,
                    "score": text(row.score),
                    "rank": row.rank,
                    "components": {k: text(v) for k, v in row.components.items()},
                }
                for row in self.rows
            ],
        }


def ranking_from(figures: Figures, *, user: Any, language: str | None = None) -> RankingResult:
    lang = report_language(language)
    try:
        weights = emulation.weights_parse(figures.campaign.ranking_weights)
    except emulation.WeightsInvalid as exc:
        raise CampaignError(str(exc)) from exc
    desk = _desk_sums(user, figures)
    items = []
    for unit in figures.units:
        days = figures.unit_days(unit)
        quota_total = sum(d.quota for d in days)
        received = days[-1].cumulative if days else 0
        sums = desk.get(unit.unit.pk, {})
        resolved = sums.get("resolved", 0)
        ratings = sum(sums.get(m, 0) for m in RANKING_MEASURES if m.startswith("rating_"))
        items.append(
            emulation.RankInput(
                key=unit.unit.pk,
                label=police_label(unit.unit.name, lang),
                quota_pct=quotas.percent(received, quota_total),
                on_time_pct=quotas.percent(
                    sums.get("resolved_early", 0) + sums.get("resolved_on_time", 0), resolved
                ),
                satisfaction_pct=quotas.percent(
                    sums.get("rating_very_satisfied", 0) + sums.get("rating_satisfied", 0),
                    ratings,
                ),
            )
        )
    return RankingResult(
        campaign=figures.campaign,
        on=figures.on,
        weights=weights,
        rows=emulation.rank(items, weights),
    )


def ranking_result(
    *, user: Any, campaign_id: int | str, on: dt.date, language: str | None = None
) -> RankingResult:
    """The ranking with the weights it used (for the page and the API)."""
    campaign = campaign_get(user, campaign_id)
    _campaign_day_check(campaign, on)
    figures = campaign_figures(user=user, campaign=campaign, on=on)
    return ranking_from(figures, user=user, language=language)


def ranking(
    *, user: Any, campaign_id: int | str, on: dt.date, language: str | None = None
) -> list[emulation.RankRow]:
    """The thi đua ranking as of `on`: quota attainment over the campaign so far, on-time
    returns and satisfaction, weighted by `campaign.ranking_weights`."""
    return ranking_result(user=user, campaign_id=campaign_id, on=on, language=language).rows


# --- Dashboard --------------------------------------------------------------------------


@dataclass
class Dashboard:
    campaign: Campaign
    on: dt.date
    report: DailyReport
    forecast: CampaignForecast
    days: list[dt.date]  # start … on
    received: list[int]  # all units, per day
    cumulative: list[int]
    heat_days: list[dt.date]  # the last days shown in the heat table
    heat: list[tuple[str, list[Decimal | None]]]  # (unit label, % of quota per heat day)

    @property
    def target(self) -> int:
        return self.report.total.target


def dashboard(
    *,
    user: Any,
    campaign_id: int | str,
    on: dt.date,
    heat_days: int = 31,
    language: str | None = None,
) -> Dashboard:
    """The figures behind the campaign dashboard: the day's report, the forecast, the
    cumulative series and a day × unit table of % of quota. One load of the figures."""
    campaign = campaign_get(user, campaign_id)
    _campaign_day_check(campaign, on)
    figures = campaign_figures(user=user, campaign=campaign, on=on)
    lang = report_language(language)
    report = daily_report_from(figures, language=lang)
    outlook = forecast_from(figures, language=lang)
    days = []
    day = campaign.start_date
    while day <= on:
        days.append(day)
        day += ONE_DAY
    received = [0] * len(days)
    heat = []
    shown = days[-heat_days:] if heat_days > 0 else []
    first_shown = len(days) - len(shown)
    for unit in figures.units:
        unit_days = figures.unit_days(unit)
        for i, one in enumerate(unit_days):
            received[i] += one.received
        heat.append(
            (
                unit.unit.name,
                [d.pct if d.is_open or d.quota else None for d in unit_days[first_shown:]],
            )
        )
    cumulative = []
    running = 0
    for count in received:
        running += count
        cumulative.append(running)
    return Dashboard(
        campaign=campaign,
        on=on,
        report=report,
        forecast=outlook,
        days=days,
        received=received,
        cumulative=cumulative,
        heat_days=shown,
        heat=heat,
    )
