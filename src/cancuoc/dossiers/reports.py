"""Timeliness reports of the one-stop desk (domain §5), read from the daily rollups.

The period report counts, per child unit of the chosen unit and per procedure:
carried over, received (by channel), resolved early / on time / late, withdrawn,
still open within term / overdue, and the on-time rate. It reads `DailyRollup`
only, never the dossiers, so its cost grows with units × days × procedures and
not with the number of dossiers. The measures are the ones `dossiers.services`
emits (see the contract "Dossier events and rollups"):

* carried over = Σ(received − resolved − withdrawn) on the days before the period;
* open at the end = carried over + received − resolved − withdrawn in the period;
* overdue = Σ due_open over the due days before min(to, today) — exact for a period
  that ends today or later; for an older period it counts the dossiers that are
  still open today (a dossier returned since has already taken its due_open back);
* within term = open − overdue; on-time rate = (early + on time) / resolved.

The late-dossier list is a list of dossiers, so it reads `Dossier` through one scoped
query on the returned-late ones and the still-open overdue ones.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import prefix_q, scope_queryset, unit_in_scope
from cancuoc.core.text import fold
from cancuoc.core.workdays import VN_TZ, WorkCalendar, default_calendar
from cancuoc.dossiers import lifecycle
from cancuoc.dossiers.models import Channel, Dossier, DossierStatus, Procedure, Timeliness
from cancuoc.units.models import Unit

SUBJECT_PREFIX = "proc:"
CHANNELS: tuple[str, ...] = tuple(Channel.values)
RESOLVED_KINDS: tuple[str, ...] = ("early", "on_time", "late")
# Measures summed over the period; "due_open" is summed separately over past due days.
PERIOD_MEASURES: tuple[str, ...] = (
    "received",
    *(f"received_{channel}" for channel in CHANNELS),
    "resolved",
    *(f"resolved_{kind}" for kind in RESOLVED_KINDS),
    "withdrawn",
    "apologised",
    "rejected_intake",
)
# What moves the open count: the days before the period make the carried-over figure.
STOCK_MEASURES: tuple[str, ...] = ("received", "resolved", "withdrawn")
DUE_OPEN = "due_open"
MAX_PERIOD_DAYS = 3 * 366


class ReportPeriodInvalid(DomainError):
    default_message = _("The report period is not valid: the start must not be after the end.")


# --- Pure arithmetic ------------------------------------------------------------------


def on_time_rate(*, early: int, on_time: int, resolved: int) -> Decimal | None:
    """(early + on time) / resolved as a percentage with one decimal, half up; None if 0."""
    if resolved <= 0:
        return None
    rate = Decimal(early + on_time) * 100 / Decimal(resolved)
    return rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class TimelinessRow:
    """One line of the report: a child unit, a procedure, or the total."""

    key: str
    label: str
    carried_over: int = 0
    received: int = 0
    received_by_channel: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    withdrawn: int = 0
    apologised: int = 0
    rejected_intake: int = 0
    overdue: int = 0
    unit_id: int | None = None

    @property
    def open(self) -> int:
        return self.carried_over + self.received - self.resolved - self.withdrawn

    @property
    def within_term(self) -> int:
        return self.open - self.overdue

    @property
    def on_time_rate(self) -> Decimal | None:
        return on_time_rate(early=self.early, on_time=self.on_time, resolved=self.resolved)

    def add(self, *, before: Mapping[str, int], during: Mapping[str, int], overdue: int) -> None:
        """Fold one group of rollup sums into this row."""
        self.carried_over += sum(
            sign * before.get(name, 0)
            for name, sign in (("received", 1), ("resolved", -1), ("withdrawn", -1))
        )
        self.received += during.get("received", 0)
        for channel in CHANNELS:
            count = during.get(f"received_{channel}", 0)
            if count:
                self.received_by_channel[channel] = self.received_by_channel.get(channel, 0) + count
        self.resolved += during.get("resolved", 0)
        self.early += during.get("resolved_early", 0)
        self.on_time += during.get("resolved_on_time", 0)
        self.late += during.get("resolved_late", 0)
        self.withdrawn += during.get("withdrawn", 0)
        self.apologised += during.get("apologised", 0)
        self.rejected_intake += during.get("rejected_intake", 0)
        self.overdue += overdue

    def as_dict(self) -> dict[str, Any]:
        rate = self.on_time_rate
        return {
            "key": self.key,
            "label": self.label,
            "carried_over": self.carried_over,
            "received": self.received,
            "received_by_channel": {c: self.received_by_channel.get(c, 0) for c in CHANNELS},
            "resolved": self.resolved,
            "early": self.early,
            "on_time": self.on_time,
            "late": self.late,
            "withdrawn": self.withdrawn,
            "open": self.open,
            "within_term": self.within_term,
            "overdue": self.overdue,
            "apologised": self.apologised,
            "rejected_intake": self.rejected_intake,
            "on_time_rate": float(rate) if rate is not None else None,
        }


@dataclass
class TimelinessReport:
    unit: Unit
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date
    by_unit: list[TimelinessRow]
    by_procedure: list[TimelinessRow]
    total: TimelinessRow

    @property
    def channels(self) -> list[str]:
        """The channels with any dossier in the period, in the catalogue's order."""
        return [c for c in CHANNELS if self.total.received_by_channel.get(c)]


# --- Access -------------------------------------------------------------------------


def report_unit_check(*, user: Any, unit: Unit | None) -> Unit:
    """The unit a report is asked for, if the user may read reports there."""
    if not user_can(user, Capability.VIEW_REPORTS):
        raise PermissionDenied
    if unit is None or not unit_in_scope(user, unit):
        raise OutOfScope
    return unit


def report_unit_by_code(*, user: Any, code: str) -> Unit:
    """A unit by its code, today's edition first ("VN" is the nation)."""
    unit = (
        scope_queryset(Unit.objects.filter(code=code.strip()), user=user)
        .order_by("-edition")
        .first()
    )
    return report_unit_check(user=user, unit=unit)


def report_unit_get(*, user: Any, unit_id: int) -> Unit:
    unit = scope_queryset(Unit.objects.filter(pk=unit_id), user=user).first()
    return report_unit_check(user=user, unit=unit)


def report_units(*, user: Any, unit: Unit) -> list[Unit]:
    """Units offered in the unit picker: the user's unit, its current children, and the
    chosen unit's ancestors and current children within scope (drill-down without listing
    every commune of the nation)."""
    home = user.unit
    wanted = Q(pk=home.pk) | Q(parent=home, valid_to__isnull=True)
    wanted |= Q(pk=unit.pk) | Q(parent=unit, valid_to__isnull=True)
    if unit.parent_id is not None:
        wanted |= Q(pk=unit.parent_id)
    return list(scope_queryset(Unit.objects.filter(wanted), user=user).order_by("path"))


def _period(date_from: dt.date, date_to: dt.date, today: dt.date | None) -> dt.date:
    if date_from > date_to:
        raise ReportPeriodInvalid
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise ReportPeriodInvalid(str(_("A report covers at most three years.")))
    return min(date_to, today or timezone.localdate())


# --- The period report --------------------------------------------------------------


def _procedure_subjects(procedure_code: str | None) -> dict[str, str]:
    """subject → procedure code, for the whole catalogue or one procedure.

    Listing the subjects lets the (subject, unit_path, day) index seek each procedure's
    slice of the chosen subtree instead of scanning every procedure of the nation.
    """
    codes = Procedure.objects.values_list("code", flat=True)
    if procedure_code:
        codes = codes.filter(code=procedure_code)
    return {f"{SUBJECT_PREFIX}{code}": code for code in codes}


DayRange = tuple[dt.date | None, dt.date]  # [lo, hi); lo None = from the beginning


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class MonthSplit:
    """Days [lo, hi) as whole calendar months, plus some days, minus some days."""

    months: DayRange | None  # [first month, end month), both the 1st of a month
    plus: list[DayRange]
    minus: list[DayRange]


def split_by_month(lo: dt.date | None, hi: dt.date) -> MonthSplit:
    """Cover the days [lo, hi) with whole months and as few single days as possible.

    At each end the shorter way wins: add the days before the first whole month (or after
    the last), or take the month the end falls in whole and subtract the days outside.
    So 1 Jan – 30 Dec reads twelve months minus one day. Pure; `lo` None means "since
    the beginning".
    """
    plus: list[DayRange] = []
    minus: list[DayRange] = []
    end = month_start(hi)
    if end < hi:
        if (next_month(end) - hi) < (hi - end):
            minus.append((hi, next_month(end)))
            end = next_month(end)
        else:
            plus.append((end, hi))
    start = None
    if lo is not None:
        start = month_start(lo)
        if start < lo:
            if (lo - start) < (next_month(start) - lo):
                minus.append((start, lo))
            else:
                plus.append((lo, next_month(start)))
                start = next_month(start)
    if start is not None and start >= end:
        return MonthSplit(None, [(lo, hi)], [])
    return MonthSplit((start, end), plus, minus)


def _range_q(lo: dt.date | None, hi: dt.date) -> Q:
    return Q(day__lt=hi) & (Q(day__gte=lo) if lo is not None else Q())


def _month_prefix() -> str | None:
    """The subject prefix of month rollups, when the rollup layer keeps them.

    `core.events` may keep each rollup twice: per day, and per calendar month under
    `MONTH_SUBJECT_PREFIX + subject` dated the 1st. Whole months are then read from the
    month rows (about twenty times fewer) and only the edges of the period from the days.
    """
    from cancuoc.core import events

    return getattr(events, "MONTH_SUBJECT_PREFIX", None)


# What each sum of the report covers: the days and the measures it needs.
def _windows(
    date_from: dt.date, date_to: dt.date, as_of: dt.date
) -> dict[str, tuple[DayRange, tuple[str, ...]]]:
    return {
        "before": ((None, date_from), STOCK_MEASURES),
        "during": ((date_from, date_to + dt.timedelta(days=1)), PERIOD_MEASURES),
        "past_due": ((None, as_of), (DUE_OPEN,)),
    }


SumRow = tuple[
    str, str, str, int, int, int
]  # unit path, subject, measure, before, during, past due
WINDOWS = ("before", "during", "past_due")


# A window of the report: the days it adds, the days it takes away, its measures.
Window = tuple[list[DayRange], list[DayRange], tuple[str, ...]]


def _grouped_sums(rows: Any, windows: dict[str, Window]) -> list[SumRow]:
    """One GROUP BY (unit path, subject, measure) with filtered sums per window.

    The rows are fetched with a plain cursor: the ORM's per-row conversion would cost
    more than the query on a nation-wide report.
    """
    sums: dict[str, Any] = {}
    anywhere = Q(pk__in=[])
    spans = [span for plus, minus, _m in windows.values() for span in (*plus, *minus)]
    if not spans:
        return []
    # The overall span as plain bounds too, so the index can stop at them.
    starts = [lo for lo, _hi in spans]
    first = None if None in starts else min(s for s in starts if s is not None)
    rows = rows.filter(_range_q(first, max(hi for _lo, hi in spans)))
    for name, (plus, minus, measures) in windows.items():
        for sign, ranges in (("plus", plus), ("minus", minus)):
            if not ranges:
                continue
            days = Q(pk__in=[])
            for lo, hi in ranges:
                days |= _range_q(lo, hi)
            condition = days & Q(measure__in=measures)
            sums[f"{name}_{sign}"] = Sum("value", filter=condition)
            anywhere |= condition
    grouped = (
        rows.filter(anywhere).values("unit_path", "subject", "measure").annotate(**sums).order_by()
    )
    try:
        sql, params = grouped.query.sql_with_params()
    except EmptyResultSet:
        # Nothing can match (e.g. no procedure in the catalogue yet): no query to run.
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The plan is cheap but its estimated cost passes jit_above_cost, and compiling
            # it would take longer than running it.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    at = {name: 3 + i for i, name in enumerate(sums)}

    def total(row: tuple[Any, ...], name: str) -> int:
        plus, minus = at.get(f"{name}_plus"), at.get(f"{name}_minus")
        value = int(row[plus] or 0) if plus is not None else 0
        return value - (int(row[minus] or 0) if minus is not None else 0)

    return [
        (row[0], row[1], row[2], total(row, "before"), total(row, "during"), total(row, "past_due"))
        for row in fetched
    ]


# Up to this many units, a subtree is matched path by path rather than by prefix.
EXACT_PATHS_LIMIT = 2000


def _subtree_rollups(*, user: Any, unit: Unit) -> Any:
    """The rollups of `unit` and the units below it within the user's scope, in the form
    the index serves best.

    The rollup index is (subject, unit_path, day). With a path prefix (a range) the day
    cannot narrow the scan, so every day of the subtree is read; with the subtree's exact
    paths (a province has ~100 units) each (subject, path) is one seek bounded by the days
    asked for. The paths come from a scoped query on the units, so the scope holds; a
    national report falls back to the scoped prefix.
    """
    units = scope_queryset(Unit.objects.filter(prefix_q("path", unit.path)), user=user)
    paths = list(units.values_list("path", flat=True)[: EXACT_PATHS_LIMIT + 1])
    if len(paths) > EXACT_PATHS_LIMIT:
        return scope_queryset(DailyRollup.objects.all(), user=user).filter(
            prefix_q("unit_path", unit.path)
        )
    return DailyRollup.objects.filter(unit_path__in=paths)


def _rollup_sums(
    *,
    user: Any,
    unit: Unit,
    subjects: Iterable[str],
    date_from: dt.date,
    date_to: dt.date,
    as_of: dt.date,
) -> list[SumRow]:
    """Sums per (unit path, subject, measure) before the period, in it, and of due_open
    over the due days already past; from month rows where whole months allow it."""
    subjects = list(subjects)
    scoped = _subtree_rollups(user=user, unit=unit)
    windows = _windows(date_from, date_to, as_of)
    prefix = _month_prefix()
    if prefix is None:
        everything: dict[str, Window] = {
            name: ([days], [], measures) for name, (days, measures) in windows.items()
        }
        return _grouped_sums(scoped.filter(subject__in=subjects), everything)

    month_windows: dict[str, Window] = {}
    day_windows: dict[str, Window] = {}
    for name, ((lo, hi), measures) in windows.items():
        split = split_by_month(lo, hi)
        month_windows[name] = ([split.months] if split.months else [], [], measures)
        day_windows[name] = (split.plus, split.minus, measures)
    rows = _grouped_sums(scoped.filter(subject__in=subjects), day_windows)
    by_month = _grouped_sums(
        scoped.filter(subject__in=[prefix + subject for subject in subjects]), month_windows
    )
    cut = len(prefix)
    return rows + [(p, subject[cut:], m, b, d, o) for p, subject, m, b, d, o in by_month]


class _ChildFinder:
    """Maps a rollup's unit path to the child of the chosen unit it lies under."""

    def __init__(self, unit: Unit, children: Iterable[Unit]) -> None:
        self.unit = unit
        self.by_path = {child.path: child for child in children}
        self.cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        found = self.cache.get(path)
        if found is None:
            found = self.unit.path
            segments = path.strip("/").split("/")
            for depth in range(1, len(segments) + 1):
                candidate = "/" + "/".join(segments[:depth]) + "/"
                if candidate in self.by_path:
                    found = candidate
                    break
            self.cache[path] = found
        return found


def timeliness_report(
    *,
    user: Any,
    unit: Unit,
    date_from: dt.date,
    date_to: dt.date,
    procedure_code: str | None = None,
    today: dt.date | None = None,
) -> TimelinessReport:
    """The period report for `unit` (within the user's scope), from rollups only."""
    report_unit_check(user=user, unit=unit)
    as_of = _period(date_from, date_to, today)
    subjects = _procedure_subjects(procedure_code)
    sums = _rollup_sums(
        user=user,
        unit=unit,
        subjects=subjects,
        date_from=date_from,
        date_to=date_to,
        as_of=as_of,
    )
    children = list(
        scope_queryset(unit.children.all(), user=user).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=date_from)
        )
    )
    find_child = _ChildFinder(unit, children)

    # Fold each (unit path, subject, measure) sum into its child's row, its procedure's
    # row and the total, as plain counters first (thousands of sums, a few dozen rows).
    acc: dict[tuple[str, str], tuple[Counter[str], Counter[str], list[int]]] = {}

    def cell(kind: str, key: str) -> tuple[Counter[str], Counter[str], list[int]]:
        found = acc.get((kind, key))
        if found is None:
            found = acc[(kind, key)] = (Counter(), Counter(), [0])
        return found

    for path, subject, measure, before, during, past_due in sums:
        targets = (cell("unit", find_child(path)), cell("proc", subjects[subject]), cell("", ""))
        for before_sums, during_sums, overdue in targets:
            if measure == DUE_OPEN:
                overdue[0] += past_due
            else:
                before_sums[measure] += before
                during_sums[measure] += during

    def row(kind: str, key: str, row: TimelinessRow) -> TimelinessRow:
        if (kind, key) in acc:
            before, during, overdue = acc[(kind, key)]
            row.add(before=before, during=during, overdue=overdue[0])
        return row

    unit_rows = {
        child.path: row("unit", child.path, TimelinessRow(child.code, child.name, unit_id=child.pk))
        for child in sorted(children, key=lambda c: (fold(c.name), c.code))
    }
    # Dossiers resolved by the chosen unit itself (a province department's) get a row of
    # their own; for a commune it is the only row.
    own_label = gettext("%(unit)s (own dossiers)") % {"unit": unit.name} if children else unit.name
    own = row("unit", unit.path, TimelinessRow(unit.code, own_label, unit_id=unit.pk))
    names = dict(Procedure.objects.filter(code__in=subjects.values()).values_list("code", "name"))
    procedure_rows = {
        key: row("proc", key, TimelinessRow(key, names.get(key, key)))
        for kind, key in acc
        if kind == "proc"
    }
    total = row("", "", TimelinessRow("", gettext("Total")))
    by_unit = list(unit_rows.values())
    if not children:
        by_unit = [own]
    elif _has_figures(own):
        by_unit.append(own)
    return TimelinessReport(
        unit=unit,
        date_from=date_from,
        date_to=date_to,
        as_of=as_of,
        by_unit=by_unit,
        by_procedure=sorted(procedure_rows.values(), key=lambda r: r.key),
        total=total,
    )


def _has_figures(row: TimelinessRow) -> bool:
    return any(
        (row.carried_over, row.received, row.resolved, row.withdrawn, row.overdue, row.apologised)
    )


# --- The late-dossier list ----------------------------------------------------------


@dataclass(frozen=True)
class LateDossier:
    dossier: Dossier
    state: str  # "late" (returned after its due date) or "overdue" (still open)
    days_late: int  # working days after the due date
    officer: str

    @property
    def state_label(self) -> str:
        return str(_("Returned late") if self.state == "late" else _("Open, overdue"))


def _calendar() -> WorkCalendar:
    """The desk's calendar (with the administrators' adjustments) once it exists."""
    try:
        from cancuoc.dossiers.calendar import work_calendar
    except ImportError:
        return default_calendar()
    return work_calendar()


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(VN_TZ).date()


def _local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=VN_TZ)


def _officer(dossier: Dossier) -> str:
    person = dossier.assigned_to or dossier.received_by
    if person is None:
        return ""
    return getattr(person, "full_name", "") or person.get_username()


def late_dossiers(
    *,
    user: Any,
    unit: Unit,
    date_from: dt.date,
    date_to: dt.date,
    procedure_code: str | None = None,
    today: dt.date | None = None,
    include_overdue: bool = True,
) -> list[LateDossier]:
    """Dossiers returned late in the period, then (for a period reaching today) the open
    ones already past their due date; each with its officer and working days late."""
    report_unit_check(user=user, unit=unit)
    as_of = _period(date_from, date_to, today)
    base = scope_queryset(Dossier.objects.all(), user=user).filter(prefix_q("unit_path", unit.path))
    if procedure_code:
        base = base.filter(procedure__code=procedure_code)
    base = base.select_related("procedure", "unit", "assigned_to", "received_by")
    returned = base.filter(
        status=DossierStatus.RETURNED,
        timeliness=Timeliness.LATE,
        returned_at__gte=_local_day_start(date_from),
        returned_at__lt=_local_day_start(date_to + dt.timedelta(days=1)),
    )
    calendar = _calendar()
    result = [
        LateDossier(
            dossier=d,
            state="late",
            days_late=calendar.working_days_between(
                d.due_date, local_date(d.returned_at or d.received_at)
            ),
            officer=_officer(d),
        )
        for d in returned.order_by("returned_at", "pk")
    ]
    if include_overdue:
        open_overdue = base.filter(status__in=sorted(lifecycle.OPEN), due_date__lt=as_of)
        result += [
            LateDossier(
                dossier=d,
                state="overdue",
                days_late=calendar.working_days_between(d.due_date, as_of),
                officer=_officer(d),
            )
            for d in open_overdue.order_by("due_date", "pk")
        ]
    return result


def late_dossier_dict(item: LateDossier) -> dict[str, Any]:
    d = item.dossier
    return {
        "code": d.code,
        "state": item.state,
        "procedure_code": d.procedure.code,
        "procedure": d.procedure.name,
        "unit": d.unit.name,
        "applicant": d.applicant_name,
        "received_on": local_date(d.received_at).isoformat(),
        "due_date": d.due_date.isoformat(),
        "returned_on": (local_date(d.returned_at).isoformat() if d.returned_at else None),
        "apology_due_date": d.apology_due_date.isoformat() if d.apology_due_date else None,
        "days_late": item.days_late,
        "officer": item.officer,
    }
