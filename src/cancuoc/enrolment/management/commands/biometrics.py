"""`cancuoc biometrics purge`: apply the retention policy to the biometric store.

    cancuoc biometrics purge --before 2015-01-01 [--dry-run]
    cancuoc biometrics purge --retention-years 10 [--dry-run]

Deletes the encrypted files of images stored before the date (or more than N years
ago), past any retain-until date, and not used by an application still open or
awaiting a supervisor; their rows stay, marked purged, because captures reference them.
Prints {"before": ..., "purged": N} (or "purgeable" with --dry-run) as JSON. Meant for
cron; the purge is audited ("biometric.purge"), as the named --user or as the system.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from cancuoc.enrolment.biostore import blobs_purge


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from None


def years_before(day: dt.date, years: int) -> dt.date:
    """``day`` moved back ``years`` years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class Command(BaseCommand):
    help = "Biometric store maintenance: purge images past the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        purge = sub.add_parser("purge", help="delete images stored before a date")
        when = purge.add_mutually_exclusive_group(required=True)
        when.add_argument("--before", type=_date, metavar="DATE", help="YYYY-MM-DD")
        when.add_argument("--retention-years", type=int, metavar="N")
        purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        purge.add_argument("--user", default="", metavar="USERNAME", help="audit as")

    def handle(self, *args: Any, **options: Any) -> None:
        before = options["before"]
        if before is None:
            years = options["retention_years"]
            if years < 1:
                raise CommandError("--retention-years must be at least 1")
            before = years_before(timezone.localdate(), years)
        actor = None
        if options["user"]:
            from cancuoc.accounts.models import User

            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active account {options['user']!r}")
        count = blobs_purge(before=before, actor=actor, dry_run=options["dry_run"])
        key = "purgeable" if options["dry_run"] else "purged"
        self.stdout.write(json.dumps({"before": before.isoformat(), key: count}))
