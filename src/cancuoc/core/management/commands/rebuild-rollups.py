import json

from django.core.management.base import BaseCommand

from cancuoc.core.events import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute every daily rollup from the event stream (safe to run at any time)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(rollups_rebuild()))
