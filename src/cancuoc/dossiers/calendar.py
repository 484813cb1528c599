"""The working-day calendar in force: statutory holidays plus the adjustments in the database.

``core.workdays`` holds the pure rules and the shipped table of official swaps; migration
``0003_seed_workday_adjustments`` copies that table into ``WorkdayAdjustment`` rows, which
an administrator then keeps up to date (a new year's swaps, an extra day off) through the
services below (the calendar page calls them; the admin site only shows the rows).

Caching: :func:`work_calendar` reads the adjustment rows (a few dozen tiny rows, one
query) on every call and reuses the built :class:`WorkCalendar` for as long as those rows
are unchanged. The rows themselves are the cache key, so an edit is seen at once by every
process and every request, a rolled-back edit is forgotten, and no invalidation message
has to travel between web workers.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, PermissionDenied
from cancuoc.core.workdays import Adjustment, WorkCalendar
from cancuoc.dossiers.models import WorkdayAdjustment

_Key = tuple[tuple[dt.date, bool], ...]
_lock = threading.Lock()
_cached: dict[str, tuple[_Key, WorkCalendar]] = {}


def work_calendar() -> WorkCalendar:
    """The calendar every deadline uses: package holidays + the database adjustments."""
    key: _Key = tuple(
        WorkdayAdjustment.objects.order_by("day").values_list("day", "is_working_day")
    )
    with _lock:
        hit = _cached.get("calendar")
        if hit is not None and hit[0] == key:
            return hit[1]
    calendar = WorkCalendar.from_adjustments(
        Adjustment(day, "working_day" if working else "day_off") for day, working in key
    )
    with _lock:
        _cached["calendar"] = (key, calendar)
    return calendar


def work_calendar_clear() -> None:
    """Forget the built calendar (tests; the row check already keeps it fresh)."""
    with _lock:
        _cached.clear()


class CalendarError(DomainError):
    default_message = gettext_lazy("The working-day calendar was not changed.")


def _require_manager(actor: Any) -> None:
    if not user_can(actor, Capability.MANAGE_CATALOGUE):
        raise PermissionDenied(
            _("Only a catalogue administrator may edit the working-day calendar.")
        )


def workday_adjustment_set(
    *,
    actor: Any,
    day: dt.date,
    is_working_day: bool,
    note: str = "",
    source: str = "",
) -> WorkdayAdjustment:
    """Add or change the official adjustment of one day (a swap or an extra day off).

    The adjustment is national data: it applies to every unit, so only a catalogue
    administrator may change it. Deadlines already computed keep their date (a dossier's
    due date is fixed at receipt); new receipts use the new calendar.
    """
    _require_manager(actor)
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise CalendarError(_("Give the day as a date."))
    note = (note or "").strip()
    source = (source or "").strip()
    if not note:
        raise CalendarError(_("Say what the adjustment is (for example the swap it belongs to)."))
    with transaction.atomic():
        before = WorkdayAdjustment.objects.filter(day=day).first()
        row, created = WorkdayAdjustment.objects.update_or_create(
            day=day,
            defaults={
                "is_working_day": bool(is_working_day),
                "note": note[:255],
                "source": source[:255],
            },
        )
        audit_record(
            actor=actor,
            action="calendar.adjustment_set",
            obj=row,
            detail={
                "day": day.isoformat(),
                "is_working_day": bool(is_working_day),
                "note": row.note,
                "source": row.source,
                "created": created,
                "before": None
                if before is None
                else {"is_working_day": before.is_working_day, "note": before.note},
            },
        )
    return row


def workday_adjustment_delete(*, actor: Any, day: dt.date) -> None:
    """Remove the adjustment of one day: it falls back to the statutory rule."""
    _require_manager(actor)
    with transaction.atomic():
        row = WorkdayAdjustment.objects.select_for_update().filter(day=day).first()
        if row is None:
            raise CalendarError(
                _("There is no adjustment on %(day)s.") % {"day": day.strftime("%d/%m/%Y")}
            )
        detail = {"day": day.isoformat(), "is_working_day": row.is_working_day, "note": row.note}
        audit_record(actor=actor, action="calendar.adjustment_delete", obj=row, detail=detail)
        row.delete()
