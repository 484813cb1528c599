"""`cancuoc deadline --procedure CODE --received DATETIME`: the due date of a dossier.

DATETIME is Vietnam local time unless it carries an offset: ``2025-03-03T16:30``,
``2025-03-03 16:30``, ``03/03/2025 16:30`` or a bare date (taken as the start of the
day). The processing time is the procedure version in force on the receipt date; a
procedure that only has area variants (2014 ID law) needs ``--area`` (the command refuses
rather than guess the longest time); ``--paused`` adds working days the
clock stood still. The calendar is the statutory holidays plus the adjustments in the
database. Prints the due date (ISO) or, with ``--format json``, the whole computation.
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from cancuoc.core.workdays import VN_TZ, due_date
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.models import Area
from cancuoc.dossiers.selectors import procedure_get, procedure_version_in_force

_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")


def parse_received(text: str) -> dt.datetime:
    text = text.strip()
    value = None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        for pattern in _FORMATS:
            try:
                value = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise CommandError(f"--received: cannot read {text!r} (use YYYY-MM-DDTHH:MM)")
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value


class Command(BaseCommand):
    help = "Print the due date of a dossier received at DATETIME for procedure CODE."

    def add_arguments(self, parser):
        parser.add_argument("--procedure", required=True, metavar="CODE")
        parser.add_argument("--received", required=True, metavar="DATETIME")
        parser.add_argument("--area", default="", choices=Area.values, help="area variant")
        parser.add_argument("--paused", type=int, default=0, metavar="DAYS")
        parser.add_argument("--format", default="text", choices=("text", "json"))

    def handle(self, *args, **options):
        received = parse_received(options["received"])
        procedure = procedure_get(code=options["procedure"])
        if procedure is None:
            raise CommandError(f"unknown procedure: {options['procedure']}", returncode=1)
        local_day = received.astimezone(VN_TZ).date()
        version = procedure_version_in_force(
            procedure=procedure, on=local_day, area=options["area"]
        )
        if version is None:
            raise CommandError(
                f"procedure {procedure.code} has no version in force on {local_day}", returncode=1
            )
        if version.area and not options["area"]:
            # Only area rows are in force: the time depends on the area, so do not guess
            # (the longest of the areas would be wrong for most units).
            areas = ", ".join(sorted(a for a in Area.values if a))
            raise CommandError(
                f"procedure {procedure.code} has a different processing time per area on "
                f"{local_day}: give --area ({areas})",
                returncode=1,
            )
        if options["paused"] < 0:
            raise CommandError("--paused must be >= 0", returncode=1)
        due = due_date(
            received,
            version.processing_days,
            paused_working_days=options["paused"],
            calendar=work_calendar(),
        )
        if options["format"] == "json":
            row = {
                "procedure": procedure.code,
                "received": received.astimezone(VN_TZ).isoformat(),
                "area": version.area,
                "processing_days": version.processing_days,
                "paused_working_days": options["paused"],
                "due_date": due.isoformat(),
            }
            self.stdout.write(json.dumps(row, ensure_ascii=False))
        else:
            self.stdout.write(due.isoformat())
