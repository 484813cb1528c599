"""The station laptop's side, as functions the ``cancuoc station`` command calls.

Where a station keeps what: the enrolments, the pulled slice, the Station row with its
``last_pull_at``/``last_push_at`` and the push log (``outbox``) live in the station's own
database (``DATABASE_URL``, SQLite); the biometric images in its biometric store. Only
the connection settings (server URL, station code, raw token) live beside the database
in a small JSON file readable by the owner alone (``config_path``), because the token
must never reach a database that gets copied around.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command

from cancuoc.enrolment.models import Application, ApplicationStatus, Station
from cancuoc.enrolment.offline import pull
from cancuoc.enrolment.offline.outbox import StationOutbox
from cancuoc.enrolment.offline.push import PushReport, push_run
from cancuoc.enrolment.offline.transport import Transport

CONFIG_ENV = "CANCUOC_STATION_CONFIG"


class StationNotConfigured(Exception):
    pass


@dataclass
class StationConfig:
    server: str
    token: str
    station: str = ""


def config_path() -> Path:
    """``$CANCUOC_STATION_CONFIG``, else ``<database file>.station.json``."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    name = str(settings.DATABASES["default"]["NAME"])
    return Path(name + ".station.json")


def config_read() -> StationConfig | None:
    path = config_path()
    if not path.exists():
        return None
    data = json.loads(path.read_text("utf-8"))
    return StationConfig(**{k: data.get(k, "") for k in ("server", "token", "station")})


def config_write(config: StationConfig) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created owner-only, then moved into place: the token is never world-readable.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(config), out, indent=2)
    os.replace(tmp, path)
    return path


def config_resolve(*, server: str | None, token: str | None) -> StationConfig:
    """Flags win over the saved file; both missing is an error naming what to pass."""
    saved = config_read()
    config = StationConfig(
        server=server or (saved.server if saved else ""),
        token=token or (saved.token if saved else ""),
        station=saved.station if saved else "",
    )
    if not config.server or not config.token:
        raise StationNotConfigured(
            "no server or token: run `cancuoc station pull --server URL --token T` first"
        )
    return config


def local_station(config: StationConfig) -> Station:
    station = Station.objects.filter(code=config.station).first() if config.station else None
    if station is None:
        raise StationNotConfigured("this database holds no pulled station: run `station pull`")
    return station


# --- pull ---------------------------------------------------------------------------------


class ServerRefused(Exception):
    pass


def _get_json(transport: Transport, path: str) -> Any:
    answer = transport.request("GET", path)
    if answer.status != 200:
        raise ServerRefused(f"{path}: {answer.status} {answer.detail()}")
    return answer.json()


def pull_run(
    *,
    config: StationConfig,
    transport: Transport,
    session_id: int | None = None,
    id_numbers: list[str] | None = None,
    migrate: bool = True,
) -> pull.SliceLoaded:
    """Prepare the local database, ask the server which station the token is, pull its
    slice and load it; the settings are saved for ``push``."""
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    me = _get_json(transport, "/stations/me")
    config.station = me["code"]
    query = []
    if session_id is not None:
        query.append(f"session={session_id}")
    if id_numbers:
        query.append("ids=" + ",".join(id_numbers))
    path = f"/stations/{config.station}/pull" + ("?" + "&".join(query) if query else "")
    data = _get_json(transport, path)
    loaded = pull.slice_load(data=data)
    config_write(config)
    return loaded


# --- push and status ----------------------------------------------------------------------


def push_station(*, config: StationConfig, transport: Transport, batch_size: int) -> PushReport:
    station = local_station(config)
    return push_run(
        outbox=StationOutbox(station),
        transport=transport,
        station_code=station.code,
        token=config.token,
        batch_size=batch_size,
    )


def status_facts(*, config: StationConfig) -> dict[str, Any]:
    from cancuoc.enrolment import services

    station = local_station(config)
    outbox = StationOutbox(station)
    sync = services.station_sync_state(station=station)
    by_status: dict[str, int] = {}
    for status in Application.objects.filter(station=station).values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    return {
        "station": station.code,
        "server": config.server,
        "last_pull_at": station.last_pull_at.isoformat() if station.last_pull_at else None,
        "last_push_at": station.last_push_at.isoformat() if station.last_push_at else None,
        "unsent": outbox.unsent_count(),
        "pending_batch": bool(outbox.pending()),
        "applications": by_status,
        "sync": {"level": sync.level, "days_unsynced": sync.days_unsynced, "message": sync.message},
    }


# --- simulate -----------------------------------------------------------------------------


@dataclass
class SimulateReport:
    completed: list[str]
    skipped: list[str]


def _positions(application: Application, step: str) -> list[tuple[str, str]]:
    from cancuoc.enrolment import quality
    from cancuoc.enrolment.services._common import required_for

    required = required_for(application)
    if step == "fingerprints" and required.fingerprints:
        return [("slap", s) for s in quality.SLAPS] + [("rolled", f) for f in quality.FINGERS]
    if step == "face":
        wanted = [("face", "")] if required.face else []
        return wanted + ([("iris", e) for e in quality.EYES] if required.iris else [])
    if step == "sign":
        return [("signature", "")]
    return []


def _enrol_one(
    *, actor: Any, station: Station, citizen_id: int, session_id: int | None
) -> Application:
    from cancuoc.enrolment import services

    application = services.application_start(
        actor=actor,
        station_id=station.pk,
        citizen_id=citizen_id,
        application_id=uuid.uuid4(),
        session_id=session_id,
    )
    application = services.application_confirm(actor=actor, application_id=application.pk)
    tries = station.finger_retries + 1
    while application.status == ApplicationStatus.IN_PROGRESS:
        step = application.step
        for kind, position in _positions(application, step):
            for _attempt in range(tries):
                try:
                    capture = services.capture_from_device(
                        actor=actor, application_id=application.pk, kind=kind, position=position
                    )
                except services.StepError:
                    continue  # a simulated device failure: try again, like an operator
                if capture.accepted or kind == "signature":
                    break
        application = services.step_complete(actor=actor, application_id=application.pk, step=step)
    return application


def simulate_run(*, config: StationConfig, count: int, operator: str = "") -> SimulateReport:
    """Enrol up to ``count`` pulled citizens who hold no application here, with the
    station's simulated devices; a citizen the simulator cannot finish (a worn finger
    needs a supervisor) is cancelled and reported."""
    from cancuoc.core.errors import DomainError
    from cancuoc.enrolment import services
    from cancuoc.registry.models import Citizen

    station = local_station(config)
    operators = station.operators.filter(is_active=True).order_by("username")
    actor = operators.filter(username=operator).first() if operator else operators.first()
    if actor is None:
        raise StationNotConfigured(f"no operator {operator!r} at station {station.code}")
    session = station.sessions.filter(closed_at__isnull=True).order_by("-day").first()
    taken = Application.objects.values_list("citizen_id", flat=True)
    candidates = (
        Citizen.objects.filter(life_status="alive")
        .exclude(pk__in=taken)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    report = SimulateReport(completed=[], skipped=[])
    for citizen_id in candidates:
        if len(report.completed) >= count:
            break
        try:
            application = _enrol_one(
                actor=actor,
                station=station,
                citizen_id=citizen_id,
                session_id=session.pk if session else None,
            )
        except services.StationLocked:
            raise
        except DomainError as exc:
            report.skipped.append(f"{citizen_id}: {exc.message}")
            open_app = Application.objects.filter(
                citizen_id=citizen_id, status=ApplicationStatus.IN_PROGRESS
            ).first()
            if open_app is not None:
                services.application_cancel(
                    actor=actor, application_id=open_app.pk, reason="simulation: " + exc.message
                )
            continue
        report.completed.append(str(application.pk))
    return report
