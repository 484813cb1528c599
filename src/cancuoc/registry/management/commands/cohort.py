"""cancuoc cohort --unit CODE --on DATE [--format json|csv]: who is due for a card.

JSON (counts) or CSV (the citizens of one bucket) on stdout, progress on stderr, a non-zero
exit status on error. Runs with national scope unless --user names an account.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from cancuoc.accounts.console import console_user
from cancuoc.core.errors import DomainError
from cancuoc.core.spreadsheets import csv_row
from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort import (
    EXPORT_HEADER,
    cohort_counts,
    cohort_list,
    export_values,
    unit_names,
)
from cancuoc.units.models import Unit


class Command(BaseCommand):
    help = "Who is due for an identity card on a date, in a unit subtree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, e.g. 42 or 18073")
        parser.add_argument("--on", required=True, help="reference date, YYYY-MM-DD")
        parser.add_argument("--edition", default="2025", help="unit edition (2025 or 2021)")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--bucket", choices=list(rules.BUCKETS), default="must", help="CSV: which list"
        )
        parser.add_argument("--user", default="", help="run with this account's scope")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate("vi")
        try:
            on = dt.date.fromisoformat(options["on"])
        except ValueError as exc:
            raise CommandError(f"--on must be a date YYYY-MM-DD, not {options['on']!r}") from exc
        unit = Unit.objects.filter(code=options["unit"], edition=options["edition"]).first()
        if unit is None:
            raise CommandError(f"no unit with code {options['unit']} in {options['edition']}")
        user = console_user(options["user"])
        start = time.perf_counter()
        try:
            if options["format"] == "json":
                result = cohort_counts(user=user, unit=unit, on=on)
                # One write: Django's OutputWrapper ends every write() with a newline, so
                # json.dump's many small writes would put each token on its own line.
                self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            else:
                rows = cohort_list(
                    user=user, unit=unit, on=on, bucket=options["bucket"],
                    audit_action="registry.cohort.export",
                )  # fmt: skip
                names = unit_names(unit)
                writer = csv.writer(self.stdout)
                writer.writerow(csv_row([str(h) for h in EXPORT_HEADER]))
                for row in rows:
                    # Names come from uploaded files: a spreadsheet must not run them.
                    writer.writerow(csv_row(export_values(row, names)))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        sys.stderr.write(
            f"cohort: {unit.name} on {on:%d/%m/%Y} in {time.perf_counter() - start:.2f} s\n"
        )
