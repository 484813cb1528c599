"""Sessions: a team with its equipment sets at a site on a day, cut into time slots.

Capacity. A session serves ``sets × open minutes ÷ service minutes`` citizens
(`session_capacity`). The service time is the session's own when given; else the measured
median intake time at the stations of the session's unit over the last 30 days, when at
least 30 intakes were completed there (fewer say little about a pace); else the campaign's
figure (6 minutes by default). See `service_minutes_default`.

Shift patterns. A session may be planned from a shift pattern (`pattern_id`): the pattern's
shifts (with their staff) become the session's shifts and its opening hours run from the
first shift's start to the last shift's end. A day the pattern does not run on (its
weekdays, or a public holiday when it does not work holidays) is refused.

Slots. The open time (the shifts, or start→end) is cut into ``slot_minutes`` windows. A
slot's ``capacity`` is its *invitation* capacity: the citizens the team can serve in it
divided by the show-up rate, because some of those invited do not come (`slots_plan`).
Both are worked out on the running total of minutes and rounded down there, so the slots
always add up to exactly the session's figure however the minutes divide. Sessions at a
school or a home visit are planned at a show-up rate of 100 %: everyone is there.

Changes. When a session's times or sets change, its slots are recomputed; the citizens
who no longer fit are cancelled and re-invited (a new invitation and code) into the
nearest free time of the same session, else the team's or the unit's next sessions, and
get a new notice and message (`session_change`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability
from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.calendar import official_holiday
from cancuoc.campaigns.models import (
    Campaign,
    CampaignStatus,
    EquipmentSet,
    EquipmentState,
    Invitation,
    InvitationStatus,
    Session,
    SessionStatus,
    ShiftPattern,
    SiteKind,
    Slot,
    Team,
)
from cancuoc.campaigns.services import invitations as inv
from cancuoc.campaigns.services._common import SessionError, require, unit_in_campaign
from cancuoc.campaigns.services.resources import ResourceError, shifts_parse, time_parse
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.events import event_append
from cancuoc.core.scoping import (
    path_in_scope,
    prefix_q,
    scope_prefixes,
    scope_queryset,
    unit_in_scope,
)
from cancuoc.core.text import fold
from cancuoc.core.workdays import VN_TZ
from cancuoc.registry.cohort import cohort_list
from cancuoc.units.models import Unit

__all__ = [
    "ChangeResult",
    "Move",
    "ServiceMinutes",
    "SlotSpec",
    "home_visits_plan",
    "pattern_day_check",
    "school_session_plan",
    "service_minutes_default",
    "service_minutes_measured",
    "session_capacity",
    "session_change",
    "session_create",
    "session_status_set",
    "sessions_visible",
    "slots_plan",
]

#: Sites where everyone invited is there: planned at a show-up rate of 100 %.
FULL_SHOW_UP_SITES = (SiteKind.SCHOOL, SiteKind.HOME)
HOME_VISIT_MINUTES = 30  # travel and intake at one home
_MINUTES_PER_DAY = 24 * 60


# --- Pure maths -------------------------------------------------------------------------


def session_capacity(*, sets: int, minutes_open: int, service_minutes: Any) -> int:
    """Citizens a session can serve: sets × open minutes ÷ service minutes, rounded down."""
    service = Fraction(str(service_minutes))
    if sets < 0 or minutes_open < 0 or service <= 0:
        raise ValueError("sets and minutes must not be negative; service minutes must be > 0")
    return int(Fraction(sets * minutes_open) / service)


@dataclass(frozen=True, slots=True)
class SlotSpec:
    start: dt.time
    end: dt.time
    capacity: int  # invitation capacity (module doc)
    serves: int  # what the team can serve in it


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def slots_plan(
    *,
    windows: list[tuple[dt.time, dt.time]],
    slot_minutes: int,
    sets: int,
    service_minutes: Any,
    show_up_rate: int = 100,
) -> list[SlotSpec]:
    """The slots of the open ``windows``, with capacities that add up exactly (module doc).

    Rounding happens on the running totals, so a slot may serve one citizen more than its
    neighbour; a window's tail shorter than a slot is a short slot; slots with no capacity
    at all are left out (their minutes count towards the next one)."""
    if slot_minutes <= 0:
        raise ValueError("slot_minutes must be positive")
    service = Fraction(str(service_minutes))
    rate = Fraction(max(1, min(int(show_up_rate), 100)), 100)
    specs: list[SlotSpec] = []
    total = 0
    served_before = invited_before = 0
    for start, end in windows:
        at, stop = _minutes(start), _minutes(end)
        while at < stop:
            nxt = min(at + slot_minutes, stop)
            total += nxt - at
            served = int(sets * total / service)
            invited = int(sets * total / service / rate)
            if invited > invited_before:
                specs.append(
                    SlotSpec(
                        _time(at),
                        _time(nxt),
                        invited - invited_before,
                        served - served_before,
                    )
                )
                served_before, invited_before = served, invited
            at = nxt
    if specs and served_before < int(sets * total / service):
        # Served places of a tail too short for one more invitation go to the last slot.
        last = specs[-1]
        extra = int(sets * total / service) - served_before
        specs[-1] = SlotSpec(last.start, last.end, last.capacity, last.serves + extra)
    return specs


# --- Service minutes: measured or the campaign's ------------------------------------------

#: The measured median is used only over at least this many completed intakes.
MEASURED_MIN_INTAKES = 30
#: The period the median is measured over, ending today.
MEASURED_DAYS = 30
#: At most this many of the latest intakes are read: a median needs no more, and a
#: province-wide unit must not read a month of every station's timings.
MEASURED_SAMPLE = 5000
#: A median outside this range is a clock fault, not a pace: the campaign's figure is used.
MEASURED_RANGE = (Decimal("1.0"), Decimal("120.0"))
#: Statuses of an intake whose steps all ran (refusal and conflicts come after the intake).
_FINISHED = ("completed", "approved", "delivered", "refused", "conflict")


@dataclass(frozen=True)
class ServiceMinutes:
    """The service time proposed for a session and where it comes from."""

    minutes: Decimal
    measured: bool  # True: the stations' median; False: the campaign's figure
    intakes: int  # completed intakes found at the unit's stations over the period
    unit_name: str
    days: int = MEASURED_DAYS

    @property
    def source(self) -> str:
        return "measured" if self.measured else "campaign"

    def describe(self) -> str:
        values = {
            "count": self.intakes,
            "unit": self.unit_name,
            "days": self.days,
            "min": MEASURED_MIN_INTAKES,
            "minutes": f"{self.minutes:g}",
        }
        if self.measured:
            return (
                _(
                    "Measured: %(minutes)s minutes is the median of %(count)s intakes at the "
                    "stations of %(unit)s over the last %(days)s days."
                )
                % values
            )
        if self.intakes >= MEASURED_MIN_INTAKES:
            return (
                _(
                    "The campaign's figure: the median of %(count)s intakes at the stations of "
                    "%(unit)s is not a plausible intake time."
                )
                % values
            )
        return (
            _(
                "The campaign's figure: only %(count)s intakes were completed at the stations "
                "of %(unit)s over the last %(days)s days (%(min)s are needed to measure it)."
            )
            % values
        )


def _local_today() -> dt.date:
    return timezone.now().astimezone(VN_TZ).date()


def service_minutes_measured(
    *, unit: Unit, days: int = MEASURED_DAYS, today: dt.date | None = None
) -> tuple[Decimal | None, int]:
    """The median intake time (minutes, one decimal) at the stations of ``unit`` and below
    over the last ``days`` days, and the number of completed intakes it was taken over.

    An intake lasts from the start of its first step to the end of its last (as the timing
    statistics count it, enrolment/selectors.py). One grouped query on the step timings;
    the median is None below `MEASURED_MIN_INTAKES` intakes."""
    from cancuoc.enrolment.models import StepTiming

    today = today or _local_today()
    since = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(), tzinfo=VN_TZ)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=VN_TZ)
    spans = (
        StepTiming.objects.filter(
            prefix_q("application__station__unit_path", unit.path),
            application__started_at__gte=since,
            application__started_at__lt=until,
            application__status__in=_FINISHED,
        )
        .values("application_id")
        .annotate(
            first=Min("started_at"),
            last=Max("ended_at"),
            signed=Count("id", filter=Q(step="sign", ended_at__isnull=False)),
        )
        .filter(signed__gt=0)
        .order_by("-first")
        .values_list("first", "last")[:MEASURED_SAMPLE]
    )
    minutes = [(last - first).total_seconds() / 60 for first, last in spans]
    if len(minutes) < MEASURED_MIN_INTAKES:
        return None, len(minutes)
    median = Decimal(str(statistics.median(minutes))).quantize(Decimal("0.1"), "ROUND_HALF_UP")
    return median, len(minutes)


def service_minutes_default(
    *, user: Any, campaign: Campaign, unit: Unit, today: dt.date | None = None
) -> ServiceMinutes:
    """The service time a new session at ``unit`` gets unless given its own (module doc)."""
    if not unit_in_scope(user, unit):
        raise OutOfScope()
    median, intakes = service_minutes_measured(unit=unit, today=today)
    low, high = MEASURED_RANGE
    if median is not None and low <= median <= high:
        return ServiceMinutes(minutes=median, measured=True, intakes=intakes, unit_name=unit.name)
    return ServiceMinutes(
        minutes=Decimal(campaign.service_minutes),
        measured=False,
        intakes=intakes,
        unit_name=unit.name,
    )


# --- Checks -----------------------------------------------------------------------------


def _windows(
    start: dt.time, end: dt.time, shifts: list[dict[str, Any]] | None
) -> tuple[list[tuple[dt.time, dt.time]], list[dict[str, Any]]]:
    """The open windows (the shifts, else start→end) and the shifts as stored."""
    if end <= start:
        raise SessionError(_("The session must end after it starts."))
    if not shifts:
        return [(start, end)], []
    try:
        parsed = shifts_parse(shifts)
    except ResourceError as exc:
        raise SessionError(exc.message) from None
    if parsed[0].start < start or parsed[-1].end > end:
        raise SessionError(_("The shifts must lie within the session's opening hours."))
    return [(s.start, s.end) for s in parsed], [s.as_dict() for s in parsed]


def _show_up(session_kind: str, campaign: Campaign) -> int:
    return 100 if session_kind in FULL_SHOW_UP_SITES else int(campaign.show_up_rate or 100)


def _overlap_check(
    team: Team, day: dt.date, start: dt.time, end: dt.time, *, exclude: int | None = None
) -> None:
    others = Session.objects.filter(team=team, day=day, start_time__lt=end, end_time__gt=start)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    clash = others.exclude(status=SessionStatus.CANCELLED).order_by("start_time").first()
    if clash is not None:
        raise SessionError(
            _(
                "The team %(team)s already has a session at that time: %(site)s on %(day)s, "
                "%(start)s–%(end)s (session %(id)s)."
            )
            % {
                "team": team.name,
                "site": clash.site_name,
                "day": f"{clash.day:%d/%m/%Y}",
                "start": f"{clash.start_time:%H:%M}",
                "end": f"{clash.end_time:%H:%M}",
                "id": clash.pk,
            }
        )


def _equipment(
    team: Team, ids: tuple[int, ...] | list[int], day: dt.date, start: dt.time, end: dt.time
) -> list[EquipmentSet]:
    if not ids:
        return []
    kits = list(EquipmentSet.objects.filter(pk__in=list(ids), team=team))
    if len(kits) != len(set(ids)):
        raise SessionError(_("Some equipment sets are not with the team %(team)s.") % {
            "team": team.name})  # fmt: skip
    broken = [k.serial for k in kits if k.state in (EquipmentState.REPAIR, EquipmentState.RETIRED)]
    if broken:
        raise SessionError(
            _("These sets cannot be used: %(serials)s.") % {"serials": ", ".join(broken)}
        )
    busy = (
        Session.objects.filter(equipment__in=kits, day=day, start_time__lt=end, end_time__gt=start)
        .exclude(status=SessionStatus.CANCELLED)
        .first()
    )
    if busy is not None:
        raise SessionError(
            _("A set is already used at that time by the session %(site)s (session %(id)s).")
            % {"site": busy.site_name, "id": busy.pk}
        )
    return kits


def _campaign(actor: Any, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_related("unit").filter(pk=campaign_id).first()
    if campaign is None:
        raise OutOfScope()
    # A commune officer plans sessions in their commune for the province's campaign: the
    # campaign needs not be in their scope, the session's unit must (checked by callers).
    if campaign.status == CampaignStatus.CLOSED:
        raise SessionError(_("The campaign is closed."))
    return campaign


def _team_locked(actor: Any, campaign: Campaign, team_id: int) -> Team:
    # Locked: two sessions for one team are checked for overlap one after the other.
    team = Team.objects.select_for_update().filter(pk=team_id).first()
    # The actor's own teams, or a team of a unit above them (the province's mobile team
    # working in a commune); never a sibling commune's team, which they cannot even see.
    if team is None or not (
        path_in_scope(actor, team.unit_path)
        or any(prefix.startswith(team.unit_path) for prefix in scope_prefixes(actor))
    ):
        raise OutOfScope()
    related = team.unit_path.startswith(campaign.unit_path) or campaign.unit_path.startswith(
        team.unit_path
    )
    if not related:
        raise SessionError(_("The team %(team)s does not work for this campaign.") % {
            "team": team.name})  # fmt: skip
    if not team.is_active:
        raise SessionError(_("The team %(team)s is inactive.") % {"team": team.name})
    return team


_WEEKDAY_NAMES = (
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)


def pattern_day_check(pattern: ShiftPattern, day: dt.date) -> None:
    """Refuse a day the shift pattern does not run on: a weekday outside its days, or a
    public holiday (`calendar.official_holiday`) when it does not work holidays."""
    weekdays = sorted({int(d) for d in pattern.weekdays or []})
    values = {
        "pattern": pattern.name,
        "day": f"{day:%d/%m/%Y}",
        "weekday": str(_WEEKDAY_NAMES[day.isoweekday() - 1]),
        "days": ", ".join(str(_WEEKDAY_NAMES[d - 1]) for d in weekdays if 1 <= d <= 7) or "—",
    }
    if day.isoweekday() not in weekdays:
        raise SessionError(
            _(
                "The shift pattern %(pattern)s does not run on %(weekday)s %(day)s; it runs on: "
                "%(days)s. Nothing was created."
            )
            % values
        )
    if not pattern.on_holidays and official_holiday(day):
        raise SessionError(
            _(
                "%(day)s is a public holiday and the shift pattern %(pattern)s does not work on "
                "public holidays. Nothing was created."
            )
            % values
        )


def _pattern_for(actor: Any, pattern_id: int) -> ShiftPattern:
    # As for teams: the actor's own patterns, or one of a unit above them (the province's
    # pattern used by a commune); never a sibling's.
    pattern = ShiftPattern.objects.filter(pk=pattern_id).first()
    if pattern is None or not (
        path_in_scope(actor, pattern.unit_path)
        or any(prefix.startswith(pattern.unit_path) for prefix in scope_prefixes(actor))
    ):
        raise OutOfScope()
    return pattern


def _unit_for(actor: Any, campaign: Campaign, unit_id: int) -> Unit:
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or not unit_in_scope(actor, unit):
        raise OutOfScope()
    if not unit_in_campaign(campaign, unit):
        raise SessionError(
            _("%(unit)s is outside the campaign %(campaign)s.")
            % {"unit": unit.name, "campaign": campaign.name}
        )
    return unit


def _subject(campaign: Campaign) -> str:
    return inv.campaign_subject(campaign)


# --- Create -----------------------------------------------------------------------------


def session_create(
    *,
    actor: Any,
    campaign_id: int,
    unit_id: int,
    team_id: int,
    site_kind: str,
    site_name: str,
    day: dt.date,
    start_time: Any = None,
    end_time: Any = None,
    sets: int = 1,
    shifts: list[dict[str, Any]] | None = None,
    equipment_ids: tuple[int, ...] | list[int] = (),
    slot_minutes: int = 30,
    service_minutes: Any = None,
    mobile: bool | None = None,
    pattern_id: int | None = None,
    _slots: list[SlotSpec] | None = None,
) -> Session:
    """Plan a session and its slots (module doc). Refused: a unit outside the campaign, a
    day outside it, a team busy at that time (the error names the other session), sets
    that are not the team's or are busy, a day the shift pattern does not run on.

    With ``pattern_id`` the pattern's shifts and staff make the session's shifts and its
    opening hours (``start_time``, ``end_time`` and ``shifts`` are then not used). Without
    ``service_minutes`` the session gets `service_minutes_default`."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    if site_kind not in SiteKind.values:
        raise SessionError(_("Unknown kind of site."))
    site_name = " ".join((site_name or "").split())
    if not site_name:
        raise SessionError(_("Name the place of the session."))
    if sets < 1:
        raise SessionError(_("A session needs at least one equipment set."))
    if equipment_ids and len(set(equipment_ids)) != sets:
        raise SessionError(_("Choose as many equipment sets as the session uses."))
    if not 5 <= slot_minutes <= 240:
        raise SessionError(_("A time slot lasts between 5 and 240 minutes."))
    pattern = None
    if pattern_id is not None:
        pattern = _pattern_for(actor, pattern_id)
        pattern_day_check(pattern, day)
        try:
            pattern_shifts = shifts_parse(pattern.shifts)
        except ResourceError as exc:
            raise SessionError(exc.message) from None
        shifts = [s.as_dict() for s in pattern_shifts]
        start_time, end_time = pattern_shifts[0].start, pattern_shifts[-1].end
    elif start_time in (None, "") or end_time in (None, ""):
        raise SessionError(_("Give the session's opening hours, or choose a shift pattern."))
    try:
        start, end = time_parse(start_time), time_parse(end_time)
    except ResourceError as exc:
        raise SessionError(exc.message) from None
    windows, stored_shifts = _windows(start, end, shifts)
    with transaction.atomic():
        campaign = _campaign(actor, campaign_id)
        unit = _unit_for(actor, campaign, unit_id)
        if not campaign.start_date <= day <= campaign.deadline:
            raise SessionError(
                _("The day must lie within the campaign (%(start)s – %(end)s).")
                % {
                    "start": f"{campaign.start_date:%d/%m/%Y}",
                    "end": f"{campaign.deadline:%d/%m/%Y}",
                }
            )
        if pattern is not None and not (
            pattern.unit_path.startswith(campaign.unit_path)
            or campaign.unit_path.startswith(pattern.unit_path)
        ):
            raise SessionError(
                _("The shift pattern %(pattern)s does not work for this campaign.")
                % {"pattern": pattern.name}
            )
        team = _team_locked(actor, campaign, team_id)
        _overlap_check(team, day, start, end)
        kits = _equipment(team, equipment_ids, day, start, end)
        if service_minutes:
            service, service_source = Decimal(str(service_minutes)), "given"
        else:
            proposed = service_minutes_default(user=actor, campaign=campaign, unit=unit)
            service, service_source = proposed.minutes, proposed.source
        if service <= 0:
            raise SessionError(_("The service time must be more than 0 minutes."))
        minutes = sum(_minutes(b) - _minutes(a) for a, b in windows)
        if _slots is None:
            specs = slots_plan(
                windows=windows,
                slot_minutes=slot_minutes,
                sets=sets,
                service_minutes=service,
                show_up_rate=_show_up(site_kind, campaign),
            )
            capacity = session_capacity(sets=sets, minutes_open=minutes, service_minutes=service)
        else:
            specs, capacity = _slots, sum(s.serves for s in _slots)
        if not specs:
            raise SessionError(_("The session is too short to serve anyone."))
        session = Session.objects.create(
            campaign=campaign,
            unit=unit,
            unit_path=unit.path,
            team=team,
            site_kind=site_kind,
            site_name=site_name,
            mobile=team.mobile if mobile is None else mobile,
            day=day,
            start_time=start,
            end_time=end,
            shifts=stored_shifts,
            sets=sets,
            service_minutes=service,
            capacity=capacity,
        )
        if kits:
            session.equipment.set(kits)
        Slot.objects.bulk_create(
            [Slot(session=session, start=s.start, end=s.end, capacity=s.capacity) for s in specs]
        )
        event_append(
            kind="session.planned",
            unit=unit,
            day=day,
            subject=_subject(campaign),
            measures={"sessions": 1, "capacity": capacity},
            obj=session,
            actor=actor,
        )
        audit_record(
            actor=actor,
            action="campaigns.session.create",
            obj=session,
            unit=unit,
            detail={
                "team": team.pk,
                "day": day.isoformat(),
                "from": f"{start:%H:%M}",
                "to": f"{end:%H:%M}",
                "sets": sets,
                "capacity": capacity,
                "slots": len(specs),
                "service_minutes": str(service),
                "service_source": service_source,
                "pattern": pattern.pk if pattern is not None else None,
            },
        )
    return session


# --- Change -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    citizen_id: int
    old_invitation_id: int
    old_start: dt.time
    new_invitation_id: int
    new_session_id: int
    new_day: dt.date
    new_start: dt.time


@dataclass
class ChangeResult:
    session: Session
    capacity_before: int
    capacity_after: int
    #: Citizens cancelled and re-invited elsewhere (new invitation, new notice).
    moved: list[Move] = field(default_factory=list)
    #: Citizens cancelled with nowhere to go (their invitation id).
    unplaced: list[int] = field(default_factory=list)
    notice_job: Any = None


def _targets(session: Session) -> list[Slot]:
    """Where displaced citizens go: free slots of the same session first, then the team's
    or the unit's later sessions of the campaign, in time order."""
    later = (
        Session.objects.filter(campaign_id=session.campaign_id)
        .filter(Q(team_id=session.team_id) | Q(unit_id=session.unit_id))
        .filter(status__in=list(lifecycle.BOOKABLE_SESSION))
        .filter(Q(day__gt=session.day) | Q(day=session.day, start_time__gte=session.end_time))
        .exclude(pk=session.pk)
        .exclude(site_kind=SiteKind.HOME)
        .values_list("pk", flat=True)
    )
    return list(
        Slot.objects.select_related("session__unit", "session__campaign")
        .filter(session_id__in=list(later), capacity__gt=0)
        .order_by("session__day", "session__start_time", "start")
    )


def session_change(
    *,
    actor: Any,
    session_id: int,
    start_time: Any = None,
    end_time: Any = None,
    sets: int | None = None,
    shifts: list[dict[str, Any]] | None = None,
) -> ChangeResult:
    """Change a session's hours, shifts or sets; recompute its slots and move whoever no
    longer fits (module doc). Who stays in a slot: those who attended, then the earliest
    invited. Refused when citizens who already attended would lose their time."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    with transaction.atomic():
        session = (
            Session.objects.select_for_update()
            .select_related("campaign", "unit", "team")
            .filter(pk=session_id)
            .first()
        )
        if session is None or not path_in_scope(actor, session.unit_path):
            raise OutOfScope()
        if session.status not in lifecycle.BOOKABLE_SESSION:
            raise SessionError(_("A closed or cancelled session cannot be changed."))
        if session.site_kind == SiteKind.HOME:
            raise SessionError(_("Plan home visits again instead of changing their times."))
        try:
            start = time_parse(start_time) if start_time is not None else session.start_time
            end = time_parse(end_time) if end_time is not None else session.end_time
        except ResourceError as exc:
            raise SessionError(exc.message) from None
        new_sets = session.sets if sets is None else int(sets)
        if new_sets < 1:
            raise SessionError(_("A session needs at least one equipment set."))
        if shifts is None:
            # Keep the shifts that still fit; a shift outside the new hours is cut to them.
            opens, closes = f"{start:%H:%M}", f"{end:%H:%M}"
            shifts = [
                {**s, "start": max(s["start"], opens), "end": min(s["end"], closes)}
                for s in session.shifts
                if s["start"] < closes and s["end"] > opens
            ] or None
        windows, stored_shifts = _windows(start, end, shifts)
        team = Team.objects.select_for_update().get(pk=session.team_id)
        _overlap_check(team, session.day, start, end, exclude=session.pk)
        slot_minutes = _slot_minutes(session)
        specs = slots_plan(
            windows=windows,
            slot_minutes=slot_minutes,
            sets=new_sets,
            service_minutes=session.service_minutes,
            show_up_rate=_show_up(session.site_kind, session.campaign),
        )
        minutes = sum(_minutes(b) - _minutes(a) for a, b in windows)
        capacity = session_capacity(
            sets=new_sets, minutes_open=minutes, service_minutes=session.service_minutes
        )
        rows = {s.start: s for s in Slot.objects.select_for_update().filter(session=session)}
        holders = list(
            Invitation.objects.select_for_update()
            .filter(session=session, status__in=list(lifecycle.HOLDING))
            .order_by("created_at", "pk")
        )
        by_slot: dict[int, list[Invitation]] = {}
        for invitation in holders:
            by_slot.setdefault(invitation.slot_id, []).append(invitation)
        spec_at = {s.start: s for s in specs}
        stay: dict[dt.time, list[Invitation]] = {}
        leaving: list[tuple[Invitation, dt.time]] = []
        for start_at, row in sorted(rows.items()):
            people = by_slot.get(row.pk, [])
            people.sort(key=lambda i: (i.status != InvitationStatus.ATTENDED, i.created_at, i.pk))
            spec = spec_at.get(start_at)
            room = spec.capacity if spec else 0
            attended = sum(1 for i in people if i.status == InvitationStatus.ATTENDED)
            if attended > room:
                raise SessionError(
                    _("%(n)d citizens have already attended at %(time)s; that time must stay.")
                    % {"n": attended, "time": f"{start_at:%H:%M}"}
                )
            stay[start_at] = people[:room]
            leaving.extend((i, start_at) for i in people[room:])
        # Slots: update in place (by start), create new ones; a slot that is gone keeps its
        # row at capacity 0 so that the invitations it had still say which time they had.
        for start_at, row in rows.items():
            spec = spec_at.get(start_at)
            row.end = spec.end if spec else row.end
            row.capacity = spec.capacity if spec else 0
            row.booked = len(stay.get(start_at, []))
            row.save(update_fields=["end", "capacity", "booked"])
        new_rows = Slot.objects.bulk_create(
            [
                Slot(session=session, start=s.start, end=s.end, capacity=s.capacity)
                for s in specs
                if s.start not in rows
            ]
        )
        capacity_before = session.capacity
        session.start_time, session.end_time = start, end
        session.sets, session.shifts, session.capacity = new_sets, stored_shifts, capacity
        session.save(update_fields=["start_time", "end_time", "sets", "shifts", "capacity"])
        result = ChangeResult(session, capacity_before, capacity)
        made = _move(actor, session, leaving, [*rows.values(), *new_rows], result)
        if capacity != capacity_before:
            event_append(
                kind="session.changed",
                unit=session.unit,
                day=session.day,
                subject=_subject(session.campaign),
                measures={"capacity": capacity - capacity_before},
                obj=session,
                actor=actor,
            )
        if made:
            from cancuoc.campaigns.notices import invitation_messages_send, notices_start

            result.notice_job = notices_start(
                actor=actor,
                campaign_id=session.campaign_id,
                invitation_ids=[i.pk for i in made],
                per_page=1,
            )
            invitation_messages_send(invitations=made, kind="changed")
        audit_record(
            actor=actor,
            action="campaigns.session.change",
            obj=session,
            unit=session.unit,
            detail={
                "from": f"{start:%H:%M}",
                "to": f"{end:%H:%M}",
                "sets": new_sets,
                "capacity": [capacity_before, capacity],
                "moved": len(result.moved),
                "unplaced": len(result.unplaced),
            },
        )
    return result


def _slot_minutes(session: Session) -> int:
    """The slot length the session was planned with (its longest slot)."""
    longest = 0
    for start, end in Slot.objects.filter(session=session).values_list("start", "end"):
        longest = max(longest, _minutes(end) - _minutes(start))
    return longest or 30


def _move(
    actor: Any,
    session: Session,
    leaving: list[tuple[Invitation, dt.time]],
    own_slots: list[Slot],
    result: ChangeResult,
) -> list[Invitation]:
    """Cancel the invitations that no longer fit and re-invite each citizen into the nearest
    free time of this session, else the next sessions (`_targets`)."""
    if not leaving:
        return []
    now = timezone.now()
    cancelled_ids = [i.pk for i, _ in leaving]
    Invitation.objects.filter(pk__in=cancelled_ids).update(
        status=InvitationStatus.CANCELLED, status_changed_at=now
    )
    own = sorted((s for s in own_slots if s.capacity > 0), key=lambda s: s.start)
    free = {s.pk: s.capacity - s.booked for s in own}
    others: list[Slot] | None = None
    made: list[Invitation] = []
    for invitation, old_start in leaving:
        target: Slot | None = None
        near = sorted(
            (s for s in own if free[s.pk] > 0),
            key=lambda s: abs(_minutes(s.start) - _minutes(old_start)),
        )
        if near:
            target = near[0]
            free[target.pk] -= 1
            inv.slot_take(target.pk)  # the rows are locked: it succeeds
            target_session = session
        else:
            if others is None:
                others = _targets(session)
            for slot in others:
                if inv.slot_take(slot.pk):
                    target = slot
                    break
            target_session = target.session if target is not None else session
        if target is None:
            result.unplaced.append(invitation.pk)
            continue
        new = inv.invitation_build(
            session=target_session,
            slot=target,
            citizen_id=invitation.citizen_id,
            unit_path=invitation.unit_path,
            priority=invitation.priority,
        )
        made.append(new)
    if made:
        made = Invitation.objects.bulk_create(made)
    by_citizen = {i.citizen_id: i for i in made}
    for invitation, old_start in leaving:
        new_invitation = by_citizen.get(invitation.citizen_id)
        if new_invitation is not None:
            target_session = new_invitation.session
            result.moved.append(
                Move(
                    citizen_id=invitation.citizen_id,
                    old_invitation_id=invitation.pk,
                    old_start=old_start,
                    new_invitation_id=new_invitation.pk,
                    new_session_id=target_session.pk,
                    new_day=target_session.day,
                    new_start=new_invitation.slot.start,
                )
            )
    # The counts of expected citizens per session day follow the moves.
    inv.invited_event(session=session, delta=-len(leaving), actor=actor, kind="invitation.moved")
    per_session: dict[int, tuple[Session, int]] = {}
    for new_invitation in made:
        s = new_invitation.session
        per_session[s.pk] = (s, per_session.get(s.pk, (s, 0))[1] + 1)
    for s, count in per_session.values():
        inv.invited_event(session=s, delta=count, actor=actor, kind="invitation.moved")
    if result.unplaced:
        event_append(
            kind="invitation.cancelled",
            unit=session.unit,
            day=session.day,
            subject=_subject(session.campaign),
            measures={"cancelled": len(result.unplaced)},
            obj=session,
            actor=actor,
        )
    return made


# --- Status -----------------------------------------------------------------------------


def session_status_set(*, actor: Any, session_id: int, status: str) -> Session:
    """Open, close or cancel a session (table in `lifecycle`). Closing marks whoever is still
    expected as did-not-come; cancelling cancels every invitation still expected."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    with transaction.atomic():
        session = (
            Session.objects.select_for_update()
            .select_related("campaign", "unit")
            .filter(pk=session_id)
            .first()
        )
        if session is None or not path_in_scope(actor, session.unit_path):
            raise OutOfScope()
        try:
            lifecycle.session_next(session.status, status)
        except lifecycle.TransitionRefused:
            raise SessionError(
                _("A session that is %(current)s cannot become %(target)s.")
                % {
                    "current": SessionStatus(session.status).label.lower(),
                    "target": SessionStatus(status).label.lower()
                    if status in SessionStatus.values
                    else status,
                }
            ) from None
        before = session.status
        follow = {
            SessionStatus.CLOSED: InvitationStatus.NO_SHOW,
            SessionStatus.CANCELLED: InvitationStatus.CANCELLED,
        }.get(SessionStatus(status))
        if follow is not None:
            expected = (
                Invitation.objects.select_for_update()
                .select_related("session__unit", "session__campaign", "slot", "campaign")
                .filter(session=session, status__in=list(lifecycle.EXPECTED))
            )
            for invitation in expected:
                inv.status_apply(invitation, follow, actor=actor, detail={"session": status})
        session.status = status
        session.save(update_fields=["status"])
        if status == SessionStatus.CANCELLED:
            event_append(
                kind="session.cancelled",
                unit=session.unit,
                day=session.day,
                subject=_subject(session.campaign),
                measures={"sessions": -1, "capacity": -session.capacity},
                obj=session,
                actor=actor,
            )
        audit_record(
            actor=actor,
            action=f"campaigns.session.{status}",
            obj=session,
            unit=session.unit,
            detail={"from": before},
        )
    return session


# --- Home visits and school sessions ----------------------------------------------------


def home_visits_plan(
    *,
    actor: Any,
    campaign_id: int,
    unit_id: int,
    day: dt.date,
    team_id: int,
    start_time: Any = "08:00",
    end_time: Any = "17:00",
    visit_minutes: int = HOME_VISIT_MINUTES,
    limit: int | None = None,
) -> Session:
    """A home-visit session for the citizens of the cohort's home-visit group (80 or older,
    disability, serious illness, living alone, war merit) who must get a card and are not
    yet invited: one slot of ``visit_minutes`` per visit, in address order (hamlet by
    hamlet), as many as the day holds."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    if not 10 <= visit_minutes <= 240:
        raise SessionError(_("A home visit lasts between 10 and 240 minutes."))
    with transaction.atomic():
        campaign = _campaign(actor, campaign_id)
        unit = _unit_for(actor, campaign, unit_id)
        rows = list(
            cohort_list(
                user=actor,
                unit=unit,
                on=day,
                bucket="must",
                group="home_visit",
                audit_action="campaigns.home_visits.plan",
            )
        )
        live = inv._live_in_campaign(campaign.pk, [r.citizen_id for r in rows])
        rows = [r for r in rows if r.citizen_id not in live]
        from cancuoc.registry.models import Citizen

        addresses = dict(
            Citizen.objects.filter(pk__in=[r.citizen_id for r in rows]).values_list(
                "pk", "current_address"
            )
        )
        rows.sort(key=lambda r: (fold(addresses.get(r.citizen_id) or ""), r.unit_path))
        start, end = time_parse(start_time), time_parse(end_time)
        room = max(0, (_minutes(end) - _minutes(start)) // visit_minutes)
        rows = rows[: min(room, limit) if limit is not None else room]
        if not rows:
            raise SessionError(
                _("Nobody in %(unit)s needs a home visit that is not already invited.")
                % {"unit": unit.name}
            )
        specs = [
            SlotSpec(
                _time(_minutes(start) + i * visit_minutes),
                _time(_minutes(start) + (i + 1) * visit_minutes),
                1,
                1,
            )
            for i in range(len(rows))
        ]
        session = session_create(
            actor=actor,
            campaign_id=campaign.pk,
            unit_id=unit.pk,
            team_id=team_id,
            site_kind=SiteKind.HOME,
            site_name=_("Home visits, %(unit)s") % {"unit": unit.name},
            day=day,
            start_time=start,
            end_time=specs[-1].end,
            sets=1,
            mobile=True,
            _slots=specs,
        )
        slots = list(session.slots.order_by("start"))
        made = [
            inv.invitation_build(
                session=session,
                slot=slot,
                citizen_id=row.citizen_id,
                unit_path=row.unit_path,
                priority="home_visit",
            )
            for slot, row in zip(slots, rows, strict=True)
        ]
        for slot in slots:
            inv.slot_take(slot.pk)
        inv._insert(made)
        inv.invited_event(session=session, delta=len(made), actor=actor)
    return session


def school_session_plan(
    *,
    actor: Any,
    campaign_id: int,
    unit_id: int,
    school: str,
    day: dt.date,
    team_id: int,
    start_time: Any = "07:30",
    end_time: Any = "11:00",
    sets: int = 1,
    slot_minutes: int = 30,
    site_name: str | None = None,
    equipment_ids: tuple[int, ...] | list[int] = (),
) -> Session:
    """A session at a school for its students of the cohort (the school group, those who
    must get a card), invited class by class in the cohort's order."""
    school = " ".join((school or "").split())
    if not school:
        raise SessionError(_("Name the school."))
    with transaction.atomic():
        session = session_create(
            actor=actor,
            campaign_id=campaign_id,
            unit_id=unit_id,
            team_id=team_id,
            site_kind=SiteKind.SCHOOL,
            site_name=site_name or school,
            day=day,
            start_time=start_time,
            end_time=end_time,
            sets=sets,
            slot_minutes=slot_minutes,
            equipment_ids=equipment_ids,
        )
        result = inv.invitations_create(
            actor=actor, session_id=session.pk, school=school, priority="school"
        )
        if not result.invited and not result.skipped:
            raise SessionError(
                _("No student of %(school)s must get a card on that day.") % {"school": school}
            )
    return session


# --- Reads ------------------------------------------------------------------------------


def sessions_visible(
    *,
    user: Any,
    campaign_id: int | None = None,
    team_id: int | None = None,
    unit_id: int | None = None,
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
) -> QuerySet[Session]:
    """Sessions in the user's scope, for the calendars per team and per unit."""
    rows = scope_queryset(
        Session.objects.select_related("unit", "team", "campaign"), user=user, lookup="unit_path"
    )
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    if unit_id is not None:
        rows = rows.filter(unit_id=unit_id)
    if day_from is not None:
        rows = rows.filter(day__gte=day_from)
    if day_to is not None:
        rows = rows.filter(day__lte=day_to)
    return rows.order_by("day", "start_time", "pk")


def session_get(*, user: Any, session_id: int) -> Session:
    session = sessions_visible(user=user).filter(pk=session_id).first()
    if session is None:
        raise OutOfScope()
    return session
