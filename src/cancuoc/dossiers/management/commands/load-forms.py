"""`cancuoc load-forms`: create the default printed-form versions (Mẫu 01–06).

Idempotent: existing rows, including ones an administrator edited, are left as they
are. Prints a JSON summary on stdout.
"""

import json

from django.core.management.base import BaseCommand

from cancuoc.dossiers.models import FormVersion
from cancuoc.dossiers.printing import form_versions_ensure


class Command(BaseCommand):
    help = "Create the default form versions (templates of Mẫu 01–06) that are missing."

    def handle(self, *args, **options):
        created = form_versions_ensure()
        summary = {"created": created, "total": FormVersion.objects.count()}
        self.stdout.write(json.dumps(summary, sort_keys=True))
