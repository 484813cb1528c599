"""cancuoc quality --unit CODE --user USERNAME: recompute the data-quality findings now.

The page queues the same work for the task worker; this command runs it in the
foreground for cron and operators. A recomputation is a write, so it runs as a named
account (its scope and permissions apply, and the audit log names it). Counts per rule
go to stdout as JSON; a non-zero exit status means an error.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cancuoc.accounts.models import User
from cancuoc.core.errors import DomainError
from cancuoc.registry.quality import quality_run_compute, quality_run_start
from cancuoc.units.models import Unit


class Command(BaseCommand):
    help = "Recompute the registry's data-quality findings for a unit subtree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, e.g. 42 or 18073")
        parser.add_argument("--edition", default="2025", help="unit edition (2025 or 2021)")
        parser.add_argument("--user", required=True, help="the account the run is made as")

    def handle(self, *args: object, **options: str) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active account {options['user']!r}")
        unit = Unit.objects.filter(edition=options["edition"], code=options["unit"]).first()
        if unit is None:
            raise CommandError(f"no unit {options['unit']!r} in edition {options['edition']}")
        started = time.monotonic()
        try:
            run = quality_run_start(actor=user, unit_id=unit.pk)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        # The queued task finds the run done and returns at once (quality_run_compute is
        # idempotent), so running it here never counts twice.
        counts = quality_run_compute(run_id=run.pk)
        self.stderr.write(f"quality: {unit.name} in {time.monotonic() - started:.1f} s")
        self.stdout.write(json.dumps({"unit": unit.code, "run": run.pk, "counts": counts}))
