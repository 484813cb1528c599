"""`cancuoc import-citizens FILE`: import citizens from a CSV or XLSX file.

Progress goes to stderr; a JSON summary to stdout:
``{"job", "status", "file", "format", "encoding", "rows", "inserted", "updated",
"unchanged", "rejected", "error", "elapsed_seconds", "rows_per_second", "peak_memory_mb",
"bulk_load"}``.
``--errors PATH`` writes the rejected rows (CSV, or XLSX when PATH ends in .xlsx).
Exit status: 0 all rows applied; 2 done but some rows rejected; 1 the file was refused.
"""

import json
import resource
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from cancuoc.accounts.models import User
from cancuoc.core.errors import DomainError
from cancuoc.registry.importing.messages import file_error_text
from cancuoc.registry.importing.reports import error_report_csv, error_report_xlsx
from cancuoc.registry.importing.services import (
    ENCODING_CHOICES,
    import_run,
    import_start_from_path,
)
from cancuoc.registry.models import ImportJob, ImportRowError
from cancuoc.units.models import Unit


class Command(BaseCommand):
    help = "Import citizens from a CSV or XLSX file (JSON summary on stdout)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", help="run as this officer (their unit limits the rows)")
        parser.add_argument("--unit", help="without --user: limit to this unit path")
        parser.add_argument("--encoding", default="auto", choices=ENCODING_CHOICES)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADING=KEY",
            help="map a heading of the file to a column key (repeatable)",
        )
        parser.add_argument("--errors", help="write the rejected rows to this file")
        parser.add_argument("--language", default="vi", choices=["vi", "en"])
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")

    def handle(self, *args, **options):
        translation.activate(options["language"])
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"no user {options['user']!r}")
        unit = Unit.objects.filter(path=options["unit"]).first() if options["unit"] else None
        mapping = dict(item.split("=", 1) for item in options["map"])
        try:
            job = import_start_from_path(
                actor=actor,
                path=options["file"],
                encoding=options["encoding"],
                mapping=mapping,
                unit=unit,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        started = time.perf_counter()
        job = import_run(job_id=job.pk, progress=None if options["quiet"] else self._progress)
        elapsed = time.perf_counter() - started
        if not options["quiet"]:
            sys.stderr.write("\n")
        if options["errors"]:
            self._write_errors(job, options["errors"])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = {
            "job": str(job.pk),
            "status": job.status,
            "file": job.original_name,
            "format": job.file_format,
            "encoding": job.encoding,
            "rows": job.processed_rows,
            "inserted": job.inserted,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
            "error": file_error_text(job.error_message),
            "elapsed_seconds": round(elapsed, 2),
            "rows_per_second": round(job.processed_rows / elapsed) if elapsed else 0,
            "peak_memory_mb": round(peak, 1),
            # PostgreSQL bulk-load mode: {"indexes": n, "rebuild_seconds": s}, or null.
            "bulk_load": (job.mapping or {}).get("bulk_load"),
        }
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
        if job.status == ImportJob.Status.FAILED:
            sys.exit(1)
        if job.rejected:
            sys.exit(2)

    def _progress(self, job):
        total = max(job.total_rows, job.processed_rows, 1)
        percent = min(100, job.processed_rows * 100 // total)
        sys.stderr.write(
            f"\r{percent:3d}%  {job.processed_rows:,}/{total:,} rows  rejected {job.rejected:,}"
        )
        sys.stderr.flush()

    def _write_errors(self, job, path):
        errors = ImportRowError.objects.filter(job=job).order_by("row_number", "id")
        if path.endswith(".xlsx"):
            with open(path, "wb") as out:
                out.write(error_report_xlsx(errors).read())
        else:
            with open(path, "w", encoding="utf-8", newline="") as out:
                for line in error_report_csv(errors):
                    out.write(line)
