"""Dossier codes: ``<unit identifier>-YYMMDD-NNNN`` by default, per receiving unit and day.

The pattern and the identifier are per-unit data (``DeskSettings``); a unit without
settings uses its own code as identifier and the default pattern. Placeholders are those
of ``DeskSettings.code_pattern``: ``{identifier}``, ``{yymmdd}``, ``{yyyymmdd}``,
``{seq}`` (with any format spec, e.g. ``{seq:04d}``), plus ``{unit_code}`` and
``{province_code}``.

Concurrency: the next number comes from one ``UPDATE ... SET last = last + 1 ... RETURNING
last`` on the (unit, day) row of ``DossierSequence`` (PostgreSQL, and SQLite since 3.35).
The UPDATE takes the row lock first (PostgreSQL makes concurrent receipts wait for each
other's commit and then see the new value; SQLite's IMMEDIATE transactions serialise
writers anyway), so no two receipts ever read the same number, in one round trip where a
SELECT FOR UPDATE then UPDATE would take two. The first receipt of a day creates the row
inside a savepoint; a concurrent creator loses on the unique constraint and simply
increments the row the winner made. The number is consumed by the receipt's transaction:
if the receipt fails and rolls back, so does the number, so codes stay consecutive.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import unit_in_scope
from cancuoc.dossiers.models import Area, DeskSettings, DossierSequence
from cancuoc.units.models import Level, Unit

DEFAULT_PATTERN = "{identifier}-{yymmdd}-{seq:04d}"
_IDENTIFIER = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]*")
# Quoted names read the same on PostgreSQL and SQLite; the table is DossierSequence's.
_INCREMENT = (
    'UPDATE "dossiers_dossiersequence" SET "last" = "last" + 1 '
    'WHERE "unit_id" = %s AND "day" = %s RETURNING "last"'
)
PLACEHOLDERS = frozenset({"identifier", "yymmdd", "yyyymmdd", "seq", "unit_code", "province_code"})


class CodePatternError(DomainError):
    pass


def pattern_check(pattern: str) -> None:
    """Refuse a pattern with unknown placeholders or without the sequence number."""
    try:
        fields = [name for _text, name, _spec, _conv in string.Formatter().parse(pattern) if name]
    except ValueError as exc:
        raise CodePatternError(
            _("The code pattern is malformed: %(error)s") % {"error": exc}
        ) from exc
    unknown = sorted(set(fields) - PLACEHOLDERS)
    if unknown:
        raise CodePatternError(
            _("Unknown placeholder(s) in the code pattern: %(names)s")
            % {"names": ", ".join(unknown)}
        )
    if "seq" not in fields:
        raise CodePatternError(_("The code pattern must contain {seq}."))
    if not ({"yymmdd", "yyyymmdd"} & set(fields)):
        # The sequence restarts every day, so the code must carry the day to stay unique.
        raise CodePatternError(_("The code pattern must contain {yymmdd} or {yyyymmdd}."))


def code_format(*, pattern: str, identifier: str, unit: Unit, day: dt.date, seq: int) -> str:
    return pattern.format(
        identifier=identifier,
        yymmdd=day.strftime("%y%m%d"),
        yyyymmdd=day.strftime("%Y%m%d"),
        seq=seq,
        unit_code=unit.code,
        province_code=unit.province_code,
    )


def desk_settings(unit: Unit) -> DeskSettings:
    """The unit's desk settings, or unsaved defaults (identifier = the unit's code)."""
    found = DeskSettings.objects.filter(unit=unit).first()
    if found is not None:
        return found
    return DeskSettings(unit=unit, identifier=unit.code, code_pattern=DEFAULT_PATTERN, area="")


def sequence_next(*, unit: Unit, day: dt.date) -> int:
    """The next number of (unit, day); call inside the receipt's transaction."""
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(_INCREMENT, [unit.pk, connection.ops.adapt_datefield_value(day)])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        try:
            with transaction.atomic():
                DossierSequence.objects.create(unit=unit, day=day, last=1)
            return 1
        except IntegrityError:
            continue  # another receipt created the row first: increment it
    raise RuntimeError(f"could not allocate a dossier number for unit {unit.pk} on {day}")


def dossier_code_next(*, unit: Unit, day: dt.date, settings: Any = None) -> str:
    """Allocate the next code of the receiving ``unit`` on the local date ``day``."""
    desk = settings if settings is not None else desk_settings(unit)
    seq = sequence_next(unit=unit, day=day)
    return code_format(
        pattern=desk.code_pattern or DEFAULT_PATTERN,
        identifier=desk.identifier or unit.code,
        unit=unit,
        day=day,
        seq=seq,
    )


def _path_and_ancestors(path: str) -> list[str]:
    """``/2025/42/18073/`` → ``/``, ``/2025/``, ``/2025/42/``, ``/2025/42/18073/``."""
    parts = [part for part in path.split("/") if part]
    return ["/"] + ["/" + "/".join(parts[: n + 1]) + "/" for n in range(len(parts))]


def desk_settings_and_area(unit: Unit) -> tuple[DeskSettings, str]:
    """``desk_settings(unit)`` and ``desk_area(unit)`` in one query (a receipt needs both).

    The unit's and its ancestors' settings come together by the unit's materialised path
    (which follows the parent chain ``desk_area`` walks), so a commune without an own
    area finds its province's in the same read.
    """
    rows = list(
        DeskSettings.objects.filter(unit__path__in=_path_and_ancestors(unit.path)).values_list(
            "unit_id", "unit__level", "identifier", "code_pattern", "area", "pk"
        )
    )
    own = next((row for row in rows if row[0] == unit.pk), None)
    if own is None:
        desk = DeskSettings(unit=unit, identifier=unit.code, code_pattern=DEFAULT_PATTERN, area="")
    else:
        desk = DeskSettings(
            pk=own[5], unit=unit, identifier=own[2], code_pattern=own[3], area=own[4]
        )
    if desk.area or unit.level == Level.PROVINCE:
        return desk, desk.area
    province = next((row for row in rows if row[1] == Level.PROVINCE), None)
    return desk, province[4] if province is not None else ""


def desk_area(unit: Unit) -> str:
    """The area variant that sets a unit's processing times under the 2014 ID law.

    A unit's own setting wins; a unit without one inherits its province's (most of a
    province shares one variant, so an administrator sets it once on the province and
    only overrides the exceptions, e.g. the mountain or island communes). ``""`` when
    neither is set: intake then refuses procedures that exist only per area.
    """
    return desk_settings_and_area(unit)[1]


class DeskSettingsError(DomainError):
    default_message = gettext_lazy("The desk settings were not changed.")


def desk_settings_set(
    *, actor: Any, unit_id: int, identifier: str, code_pattern: str, area: str
) -> DeskSettings:
    """Set a unit's code identifier, code pattern and area (catalogue administrators).

    Dossiers already received keep their code and due date; the new values apply to the
    next receipt.
    """
    if not user_can(actor, Capability.MANAGE_CATALOGUE):
        raise PermissionDenied(_("Only a catalogue administrator may change desk settings."))
    with transaction.atomic():
        unit = Unit.objects.filter(pk=unit_id).first()
        if unit is None or not unit_in_scope(actor, unit):
            raise OutOfScope(_("Unit not found."))
        identifier = (identifier or "").strip()
        if not identifier or len(identifier) > 40 or not _IDENTIFIER.fullmatch(identifier):
            raise DeskSettingsError(
                _("The unit identifier must be 1 to 40 letters, digits, dots or dashes.")
            )
        pattern = (code_pattern or "").strip() or DEFAULT_PATTERN
        if len(pattern) > 80:
            raise DeskSettingsError(_("The code pattern is too long (80 characters at most)."))
        pattern_check(pattern)
        if area not in Area.values:
            raise DeskSettingsError(_("Unknown area: %(area)s.") % {"area": area})
        before = DeskSettings.objects.select_for_update().filter(unit=unit).first()
        row, created = DeskSettings.objects.update_or_create(
            unit=unit, defaults={"identifier": identifier, "code_pattern": pattern, "area": area}
        )
        audit_record(
            actor=actor,
            action="desk.settings_set",
            obj=row,
            unit=unit,
            detail={
                "identifier": identifier,
                "code_pattern": pattern,
                "area": area,
                "created": created,
                "before": None
                if before is None
                else {
                    "identifier": before.identifier,
                    "code_pattern": before.code_pattern,
                    "area": before.area,
                },
            },
        )
    return row
