"""`cancuoc report <name> ...`: the reports the pages offer, for operators and cron.

    cancuoc report timeliness --unit 42 --from 2026-01-01 --to 2026-12-31 [--format json|csv]
    cancuoc report late --unit 42 --from 2026-01-01 --to 2026-03-31 --format csv
    cancuoc report daily --campaign ha-tinh-2021 --date 2021-03-16 [--format json|csv]

Machine-readable output goes to stdout; the exit status is non-zero on error. Each
report is one subcommand (argparse subparsers), so `report daily` (campaigns) can join.

Who is asking: by default the operator, who runs the command on the server and so
already holds the whole database, sees the nation; `--user NAME` runs the report with
that account's role and unit scope instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from cancuoc.accounts.console import console_user
from cancuoc.core.errors import DomainError
from cancuoc.core.spreadsheets import csv_row
from cancuoc.dossiers import reports
from cancuoc.dossiers.api.reports import timeliness_payload

FORMATS = ("table", "json", "csv")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from None


class Command(BaseCommand):
    help = "Reports: timeliness of the one-stop desk, late dossiers, a campaign's daily quotas."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="report", required=True, metavar="REPORT")
        for name, help_text in (
            ("timeliness", "carried over, received, resolved early/on time/late, open, rate"),
            ("late", "dossiers returned late, then open dossiers past their due date"),
        ):
            one = sub.add_parser(name, help=help_text)
            one.add_argument("--unit", required=True, metavar="CODE", help="e.g. 42, 18073, VN")
            one.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
            one.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
            one.add_argument("--procedure", default="", metavar="CODE")
            one.add_argument("--format", choices=FORMATS, default="table")
            one.add_argument("--user", default="", metavar="USERNAME", help="run in this scope")
        daily = sub.add_parser("daily", help="a campaign's daily quota report, as published")
        daily.add_argument("--campaign", required=True, metavar="SLUG", help="or its id")
        daily.add_argument("--date", type=_date, metavar="DATE", help="default today")
        daily.add_argument("--format", choices=FORMATS, default="table")
        daily.add_argument("--lang", choices=("vi", "en"), default="vi")
        daily.add_argument("--user", default="", metavar="USERNAME", help="run in this scope")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate("vi")
        user = console_user(options["user"])
        if options["report"] == "daily":
            self._daily(user, options)
            return
        today = timezone.localdate()
        date_from = options["date_from"] or dt.date(today.year, 1, 1)
        date_to = options["date_to"] or today
        try:
            unit = reports.report_unit_by_code(user=user, code=options["unit"])
            if options["report"] == "timeliness":
                self._timeliness(user, unit, date_from, date_to, options)
            else:
                self._late(user, unit, date_from, date_to, options)
        except DomainError as exc:
            raise CommandError(f"{options['unit']}: {exc.message}", returncode=1) from exc

    # --- timeliness ---------------------------------------------------------------------

    def _timeliness(
        self, user: Any, unit: Any, date_from: dt.date, date_to: dt.date, options: dict
    ) -> None:
        report = reports.timeliness_report(
            user=user,
            unit=unit,
            date_from=date_from,
            date_to=date_to,
            procedure_code=options["procedure"] or None,
        )
        payload = timeliness_payload(report)
        if options["format"] == "json":
            self.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=1))
            return
        lines = [("unit", row) for row in payload["by_unit"]] + [
            ("procedure", row) for row in payload["by_procedure"]
        ]
        lines.append(("total", payload["total"]))
        if options["format"] == "csv":
            self._timeliness_csv(lines)
        else:
            self._timeliness_table(report, lines)

    def _timeliness_csv(self, lines: list[tuple[str, dict]]) -> None:
        channels = list(reports.CHANNELS)
        fields = [
            "carried_over",
            "received",
            "resolved",
            "early",
            "on_time",
            "late",
            "withdrawn",
            "open",
            "within_term",
            "overdue",
            "apologised",
            "rejected_intake",
            "on_time_rate",
        ]
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["group", "key", "label", *fields, *(f"received_{c}" for c in channels)])
        for group, row in lines:
            rate = row["on_time_rate"]
            values = [row[f] for f in fields[:-1]] + ["" if rate is None else f"{rate:.1f}"]
            by_channel = [row["received_by_channel"][c] for c in channels]
            writer.writerow([group, row["key"], row["label"], *values, *by_channel])

    def _timeliness_table(self, report: Any, lines: list[tuple[str, dict]]) -> None:
        self.stdout.write(
            f"{report.unit.name} ({report.unit.code}), {report.date_from:%d/%m/%Y}–"
            f"{report.date_to:%d/%m/%Y}; open counted as of {report.as_of:%d/%m/%Y}"
        )
        header = ("", "carried", "received", "early", "on time", "late", "open", "overdue", "rate")
        self.stdout.write(f"{header[0]:<40}" + "".join(f"{h:>10}" for h in header[1:]))
        previous = ""
        for group, row in lines:
            if group != previous:
                self.stdout.write("")
                previous = group
            rate = "—" if row["on_time_rate"] is None else f"{row['on_time_rate']:.1f}%"
            cells = (
                row["carried_over"],
                row["received"],
                row["early"],
                row["on_time"],
                row["late"],
                row["open"],
                row["overdue"],
                rate,
            )
            label = f"{row['key']} {row['label']}".strip()[:39]
            self.stdout.write(f"{label:<40}" + "".join(f"{c:>10}" for c in cells))

    # --- late ---------------------------------------------------------------------------

    def _late(
        self, user: Any, unit: Any, date_from: dt.date, date_to: dt.date, options: dict
    ) -> None:
        items = reports.late_dossiers(
            user=user,
            unit=unit,
            date_from=date_from,
            date_to=date_to,
            procedure_code=options["procedure"] or None,
        )
        rows = [reports.late_dossier_dict(item) for item in items]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        columns = [
            "code",
            "state",
            "procedure_code",
            "unit",
            "applicant",
            "received_on",
            "due_date",
            "returned_on",
            "apology_due_date",
            "days_late",
            "officer",
        ]
        if options["format"] == "csv":
            writer = csv.DictWriter(
                self.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows(rows)
            return
        for row in rows:
            self.stdout.write(
                f"{row['code']:<32} {row['state']:<8} {row['due_date']} "
                f"{row['returned_on'] or '—':<10} {row['days_late']:>4}  {row['officer']}"
            )
        self.stdout.write(f"{len(rows)} dossier(s)")

    # --- daily (campaigns) --------------------------------------------------------------

    def _daily(self, user: Any, options: dict) -> None:
        from cancuoc.campaigns.reports import daily_report

        day = options["date"] or timezone.localdate()
        try:
            report = daily_report(
                user=user, campaign_id=options["campaign"], day=day, language=options["lang"]
            )
        except DomainError as exc:
            raise CommandError(f"{options['campaign']}: {exc.message}", returncode=1) from exc
        payload = report.as_dict()
        if options["format"] == "json":
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1))
            return
        columns = [
            "rank",
            "code",
            "label",
            "received",
            "manual",
            "quota",
            "pct",
            "cumulative",
            "target",
            "pct_of_target",
            "text",
        ]
        if options["format"] == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(columns)
            for row in [*payload["rows"], {**payload["total"], "rank": ""}]:
                writer.writerow(csv_row("" if row[c] is None else row[c] for c in columns))
            return
        campaign = report.campaign
        self.stdout.write(f"{campaign.name} ({campaign.slug}), {report.day:%d/%m/%Y}")
        if report.partial:
            self.stdout.write("(only the units within the scope of --user)")
        for line in report.lines:
            self.stdout.write(line)
