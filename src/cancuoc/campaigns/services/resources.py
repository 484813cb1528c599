"""Resources of a campaign: teams, equipment sets and shift patterns.

Teams and sets belong to a unit (usually the district or province police that lends them
out); a manager sees and edits those of their subtree. Shift times are validated here once,
for shift patterns and for a session's own shifts alike (`shifts_parse`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Capability
from cancuoc.campaigns.models import EquipmentSet, EquipmentState, ShiftPattern, Team
from cancuoc.campaigns.services._common import CampaignError, require, require_unit
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import path_in_scope, scope_queryset
from cancuoc.units.models import Unit

__all__ = [
    "ResourceError",
    "Shift",
    "equipment_assign",
    "equipment_set_create",
    "equipment_state_set",
    "equipment_visible",
    "shift_pattern_create",
    "shift_patterns_visible",
    "shifts_parse",
    "team_create",
    "teams_visible",
]


class ResourceError(CampaignError):
    default_message = gettext_lazy("The resource was not changed.")


# --- Times (pure) -----------------------------------------------------------------------

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Shift:
    start: dt.time
    end: dt.time
    staff: int

    def as_dict(self) -> dict[str, Any]:
        return {"start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}", "staff": self.staff}


def time_parse(value: Any) -> dt.time:
    """A "HH:MM" text (or a time) as a time; anything else is a ResourceError."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    match = _HHMM.match(str(value).strip())
    if match is None:
        raise ResourceError(
            _("%(value)s is not a time of day; write it as HH:MM, e.g. 07:30.") % {"value": value}
        )
    return dt.time(int(match.group(1)), int(match.group(2)))


def shifts_parse(raw: Any) -> list[Shift]:
    """Shifts as given (list of {"start", "end", "staff"}), checked and sorted.

    Each ends after it starts (no shift crosses midnight: a night shift is two shifts),
    has at least one staff member, and none overlaps another."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ResourceError(_("Give at least one shift."))
    shifts: list[Shift] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ResourceError(_("Each shift needs a start, an end and a number of staff."))
        start, end = time_parse(item.get("start")), time_parse(item.get("end"))
        try:
            staff = int(item.get("staff", 1))
        except (TypeError, ValueError):
            staff = 0
        if end <= start:
            raise ResourceError(
                _("The shift %(start)s–%(end)s ends before it starts.")
                % {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
            )
        if staff < 1:
            raise ResourceError(_("Each shift needs at least one staff member."))
        shifts.append(Shift(start, end, staff))
    shifts.sort(key=lambda s: s.start)
    for before, after in itertools.pairwise(shifts):
        if after.start < before.end:
            raise ResourceError(
                _("The shifts %(a)s and %(b)s overlap.")
                % {
                    "a": f"{before.start:%H:%M}–{before.end:%H:%M}",
                    "b": f"{after.start:%H:%M}–{after.end:%H:%M}",
                }
            )
    return shifts


def weekdays_parse(raw: Any) -> list[int]:
    try:
        days = sorted({int(day) for day in raw})
    except (TypeError, ValueError):
        days = []
    if not days or days[0] < 1 or days[-1] > 7:
        raise ResourceError(_("Choose the days of the week (1 = Monday … 7 = Sunday)."))
    return days


# --- Loading ----------------------------------------------------------------------------


def _unit(actor: Any, unit_id: int) -> Unit:
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise OutOfScope()
    require_unit(actor, unit)
    return unit


def _team(actor: Any, team_id: int, *, lock: bool = False) -> Team:
    rows = Team.objects.select_related("unit")
    if lock:
        rows = rows.select_for_update()
    team = rows.filter(pk=team_id).first()
    if team is None or not path_in_scope(actor, team.unit_path):
        raise OutOfScope()
    return team


# --- Teams ------------------------------------------------------------------------------


def team_create(
    *,
    actor: Any,
    name: str,
    unit_id: int,
    mobile: bool = False,
    member_ids: tuple[int, ...] | list[int] = (),
) -> Team:
    require(actor, Capability.MANAGE_CAMPAIGNS)
    name = " ".join(name.split())
    if not name:
        raise ResourceError(_("Give the team a name."))
    with transaction.atomic():
        unit = _unit(actor, unit_id)
        members = list(scope_queryset(User.objects.filter(pk__in=list(member_ids)), user=actor))
        if len(members) != len(set(member_ids)):
            raise ResourceError(_("Some members are not officers of your units."))
        team = Team.objects.create(name=name, unit=unit, unit_path=unit.path, mobile=mobile)
        team.members.set(members)
        audit_record(
            actor=actor,
            action="campaigns.team.create",
            obj=team,
            unit=unit,
            detail={"members": sorted(m.pk for m in members), "mobile": mobile},
        )
    return team


def teams_visible(*, user: Any) -> QuerySet[Team]:
    return scope_queryset(Team.objects.select_related("unit"), user=user, lookup="unit_path")


# --- Equipment --------------------------------------------------------------------------


def equipment_set_create(
    *, actor: Any, serial: str, unit_id: int, state: str = EquipmentState.READY
) -> EquipmentSet:
    require(actor, Capability.MANAGE_CAMPAIGNS)
    serial = serial.strip().upper()
    if not serial:
        raise ResourceError(_("Give the serial number of the set."))
    if state not in EquipmentState.values:
        raise ResourceError(_("Unknown equipment state."))
    try:
        with transaction.atomic():
            unit = _unit(actor, unit_id)
            kit = EquipmentSet.objects.create(
                serial=serial, unit=unit, unit_path=unit.path, state=state
            )
            audit_record(actor=actor, action="campaigns.equipment.create", obj=kit, unit=unit)
    except IntegrityError:
        raise ResourceError(
            _("An equipment set with the serial %(serial)s already exists.") % {"serial": serial}
        ) from None
    return kit


def _equipment(actor: Any, equipment_id: int) -> EquipmentSet:
    kit = (
        EquipmentSet.objects.select_for_update()
        .select_related("unit")
        .filter(pk=equipment_id)
        .first()
    )
    if kit is None or not path_in_scope(actor, kit.unit_path):
        raise OutOfScope()
    return kit


def equipment_assign(*, actor: Any, equipment_id: int, team_id: int | None) -> EquipmentSet:
    """Hand a set to a team (``team_id`` None: back to the store). A set under repair or
    retired cannot go out."""
    require(actor, Capability.MANAGE_CAMPAIGNS)
    with transaction.atomic():
        kit = _equipment(actor, equipment_id)
        team = _team(actor, team_id) if team_id is not None else None
        if team is not None and kit.state in (EquipmentState.REPAIR, EquipmentState.RETIRED):
            raise ResourceError(
                _("The set %(serial)s is %(state)s and cannot be given to a team.")
                % {"serial": kit.serial, "state": kit.get_state_display().lower()}
            )
        before = kit.team_id
        kit.team = team
        kit.save(update_fields=["team"])
        audit_record(
            actor=actor,
            action="campaigns.equipment.assign",
            obj=kit,
            unit=kit.unit,
            detail={"from_team": before, "to_team": team.pk if team else None},
        )
    return kit


def equipment_state_set(*, actor: Any, equipment_id: int, state: str) -> EquipmentSet:
    """Change a set's state; a set sent for repair or retired leaves its team."""
    require(actor, Capability.MANAGE_CAMPAIGNS)
    if state not in EquipmentState.values:
        raise ResourceError(_("Unknown equipment state."))
    with transaction.atomic():
        kit = _equipment(actor, equipment_id)
        before = kit.state
        kit.state = state
        if state in (EquipmentState.REPAIR, EquipmentState.RETIRED):
            kit.team = None
        kit.save(update_fields=["state", "team"])
        audit_record(
            actor=actor,
            action="campaigns.equipment.state",
            obj=kit,
            unit=kit.unit,
            detail={"from": before, "to": state},
        )
    return kit


def equipment_visible(*, user: Any) -> QuerySet[EquipmentSet]:
    return scope_queryset(
        EquipmentSet.objects.select_related("unit", "team"), user=user, lookup="unit_path"
    )


# --- Shift patterns ---------------------------------------------------------------------


def shift_pattern_create(
    *,
    actor: Any,
    name: str,
    unit_id: int,
    shifts: list[dict[str, Any]],
    weekdays: list[int] | tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7),
    on_holidays: bool = False,
) -> ShiftPattern:
    """e.g. 3 shifts × 6 staff, or 4 shifts from 06:00; times are checked (`shifts_parse`)."""
    require(actor, Capability.MANAGE_CAMPAIGNS)
    name = " ".join(name.split())
    if not name:
        raise ResourceError(_("Give the shift pattern a name."))
    parsed = shifts_parse(shifts)
    days = weekdays_parse(weekdays)
    with transaction.atomic():
        unit = _unit(actor, unit_id)
        pattern = ShiftPattern.objects.create(
            name=name,
            unit=unit,
            unit_path=unit.path,
            shifts=[s.as_dict() for s in parsed],
            weekdays=days,
            on_holidays=on_holidays,
        )
        audit_record(
            actor=actor,
            action="campaigns.shift_pattern.create",
            obj=pattern,
            unit=unit,
            detail={"shifts": pattern.shifts, "weekdays": days, "on_holidays": on_holidays},
        )
    return pattern


def shift_patterns_visible(*, user: Any) -> QuerySet[ShiftPattern]:
    return scope_queryset(ShiftPattern.objects.all(), user=user, lookup="unit_path")
