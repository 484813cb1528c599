"""Dossier codes: ``<unit identifier>-YYMMDD-NNNN`` by default, per receiving unit and day.

The pattern and the identifier are per-unit data (``DeskSettings``); a unit without
settings uses its own code as identifier and the default pattern. Placeholders are those
of ``DeskSettings.code_pattern``: ``{identifier}``, ``{yymmdd}``, ``{yyyymmdd}``,
``{seq}`` (with any format spec, e.g. ``{seq:04d}``), plus ``{unit_code}`` and
``{province_code}``.

Concurrency: the next number comes from one ``UPDATE ... SET last = last + 1`` on the
(unit, day) row of ``DossierSequence``, read back in the same transaction. The UPDATE
takes the row lock first (PostgreSQL makes concurrent receipts wait for each other's
commit and then see the new value; SQLite's IMMEDIATE transactions serialise writers
anyway), so no two receipts ever read the same number, which a SELECT FOR UPDATE then
UPDATE would also achieve but with an extra round trip. The first receipt of a day
creates the row inside a savepoint; a concurrent creator loses on the unique constraint
and simply increments the row the winner made. The number is consumed by the receipt's
transaction: if the receipt fails and rolls back, so does the number, so codes stay
consecutive.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cancuoc.core.errors import DomainError
from cancuoc.dossiers.models import DeskSettings, DossierSequence
from cancuoc.units.models import Unit

DEFAULT_PATTERN = "{identifier}-{yymmdd}-{seq:04d}"
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
        updated = DossierSequence.objects.filter(unit=unit, day=day).update(last=F("last") + 1)
        if updated:
            return DossierSequence.objects.filter(unit=unit, day=day).values_list(
                "last", flat=True
            )[0]
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
