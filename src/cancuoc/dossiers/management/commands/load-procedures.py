"""`cancuoc load-procedures [FILE]`: load the procedure catalogue (idempotent).

Without FILE the starter catalogue shipped in ``dossiers/data/procedures.json`` is
loaded. Prints a JSON summary of what was created and updated; a malformed file changes
nothing and exits with status 1.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from cancuoc.dossiers.catalogue import CatalogueError, catalogue_load, catalogue_read


class Command(BaseCommand):
    help = "Load the one-stop procedure catalogue (starter set, or a JSON file); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", default=None, help="catalogue JSON (default: the starter set)"
        )

    def handle(self, *args, **options):
        try:
            counts = catalogue_load(catalogue_read(options["file"]))
        except CatalogueError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        self.stdout.write(json.dumps(counts, sort_keys=True))
