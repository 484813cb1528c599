"""cancuoc station pull|push|status|simulate: run this laptop as an offline station.

    cancuoc station pull --server URL --token T [--session ID] [--ids ID,ID,...]
    cancuoc station push [--server URL] [--token T] [--batch-size N]
    cancuoc station status
    cancuoc station simulate --count N [--operator USERNAME]

The laptop runs the same application on its own database (``DATABASE_URL``, usually
SQLite). ``pull`` prepares that database, loads the station's registry slice and saves
the server URL and token beside the database (see ``enrolment/offline/station.py``).
``push`` sends every completed enrolment the server does not hold yet; killed or cut
off at any point, running it again finishes the job without losing or duplicating
anything. Exit status 0 when everything is done, 1 on a refusal or a network failure.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cancuoc.core.errors import DomainError
from cancuoc.enrolment.offline import station as laptop
from cancuoc.enrolment.offline.push import PushError
from cancuoc.enrolment.offline.transport import HttpTransport, TransportError


class Command(BaseCommand):
    help = "Offline station: pull a registry slice, push enrolments, show status, simulate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        pull = sub.add_parser("pull", help="load the station's registry slice")
        pull.add_argument("--server", help="server root URL, e.g. https://cancuoc.example.vn")
        pull.add_argument("--token", help="the station's API token (cc_…)")
        pull.add_argument("--session", type=int, help="a session of this station to take")
        pull.add_argument("--ids", default="", help="comma-separated 12-digit ID numbers")
        push = sub.add_parser("push", help="send unsent enrolments (resumable)")
        push.add_argument("--server")
        push.add_argument("--token")
        push.add_argument("--batch-size", type=int, default=50)
        sub.add_parser("status", help="sync state, unsent count, last pull and push")
        simulate = sub.add_parser("simulate", help="enrol pulled citizens with simulated devices")
        simulate.add_argument("--count", type=int, required=True)
        simulate.add_argument("--operator", default="", help="operator username (default: first)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"_{action}")(options)
        except (laptop.StationNotConfigured, laptop.ServerRefused, PushError) as exc:
            raise CommandError(str(exc)) from exc
        except TransportError as exc:
            raise CommandError(f"network failure, nothing lost; run it again: {exc}") from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _transport(self, config: laptop.StationConfig) -> HttpTransport:
        return HttpTransport(base_url=config.server, token=config.token)

    def _pull(self, options: dict[str, Any]) -> None:
        config = laptop.config_resolve(server=options["server"], token=options["token"])
        ids = [n.strip() for n in options["ids"].split(",") if n.strip()]
        loaded = laptop.pull_run(
            config=config,
            transport=self._transport(config),
            session_id=options["session"],
            id_numbers=ids or None,
        )
        self.stdout.write(
            f"station {loaded.station.code}: {loaded.citizens} citizens "
            f"({loaded.created} rows new, {loaded.updated} refreshed)"
        )

    def _push(self, options: dict[str, Any]) -> None:
        config = laptop.config_resolve(server=options["server"], token=options["token"])
        report = laptop.push_station(
            config=config, transport=self._transport(config), batch_size=options["batch_size"]
        )
        counts = (
            ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing to send"
        )
        self.stdout.write(
            f"pushed {report.batches} batches, {report.blobs_uploaded} images: {counts}"
        )
        if report.rejected:
            for item in report.rejected:
                self.stderr.write(f"refused {item['id']}: {item.get('detail', '')}")
            raise CommandError(f"{len(report.rejected)} enrolments were refused; they stay unsent")

    def _status(self, options: dict[str, Any]) -> None:
        config = laptop.config_read()
        if config is None:
            raise laptop.StationNotConfigured("not a station yet: run `cancuoc station pull`")
        self.stdout.write(
            json.dumps(laptop.status_facts(config=config), indent=2, ensure_ascii=False)
        )

    def _simulate(self, options: dict[str, Any]) -> None:
        config = laptop.config_read()
        if config is None:
            raise laptop.StationNotConfigured("not a station yet: run `cancuoc station pull`")
        report = laptop.simulate_run(
            config=config, count=options["count"], operator=options["operator"]
        )
        self.stdout.write(f"enrolled {len(report.completed)}")
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
