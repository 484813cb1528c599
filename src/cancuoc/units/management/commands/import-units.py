"""`cancuoc import-units --set 2025|2021`: load an administrative-unit set.

Idempotent; prints a JSON summary of what was created, updated or left
unchanged on stdout. Exits non-zero on any error.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from cancuoc.units.importers import EDITIONS, UnitImportError, units_import


class Command(BaseCommand):
    help = "Import the 2025 (two-level) or 2021 (three-level) set of administrative units."

    def add_arguments(self, parser):
        parser.add_argument(
            "--set",
            dest="edition",
            required=True,
            choices=EDITIONS,
            help="which set to import: 2025 (from 1 July 2025) or 2021 (until 30 June 2025)",
        )

    def handle(self, *args, **options):
        try:
            summary = units_import(edition=options["edition"])
        except UnitImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True))
