"""Offline pushes: one whole enrolment made on a station laptop, taken in one go."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cancuoc.accounts.models import User
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import prefix_q
from cancuoc.enrolment import lifecycle
from cancuoc.enrolment.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    BiometricBlob,
    Capture,
    CaptureKind,
    Station,
    StationSession,
    Step,
    StepTiming,
)
from cancuoc.enrolment.services._common import (
    EnrolmentError,
    as_uuid,
    audit,
    law_on,
    local_day,
    moment,
    operates,
    required_for,
    supervises,
)
from cancuoc.enrolment.services.intake import (
    EXCEPTION_REASONS,
    complete,
    missing_requirements,
    open_application_of,
)
from cancuoc.registry.models import BirthPrecision, Citizen, LifeStatus


@dataclass(frozen=True)
class IngestResult:
    status: str  # "created" | "duplicate" | "conflict"
    application_id: uuid.UUID


def _when(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise EnrolmentError(
                _("The record's %(field)s is not a date and time.") % {"field": field}
            ) from None
    return moment(parsed)


def _user(username: Any) -> User | None:
    if not username:
        return None
    return User.objects.filter(username=str(username)).select_related("unit").first()


def _citizen(station: Station, record: dict[str, Any]) -> Citizen:
    # Only the station's own area: that is the registry slice it pulled (offline/pull.py),
    # and a signed batch must not enrol (and so reveal) a citizen of another commune. An
    # out-of-area citizen gets the same answer as an unknown one.
    id_number = str(record.get("id_number") or "")
    area = Citizen.objects.filter(prefix_q("unit_path", station.unit_path))
    citizen = area.filter(id_number=id_number).first() if id_number else None
    if citizen is None and record.get("citizen_id") is not None:
        citizen = area.filter(pk=record["citizen_id"]).first()
    if citizen is None:
        raise EnrolmentError(
            _("Citizen %(number)s is not in the registry.") % {"number": id_number or "?"}
        )
    return citizen


def _captures(application: Application, rows: list[dict[str, Any]]) -> list[Capture]:
    digests = {str(r["digest"]) for r in rows if r.get("digest")}
    stored = set(BiometricBlob.objects.filter(pk__in=digests).values_list("pk", flat=True))
    missing = sorted(digests - stored)
    if missing:
        raise EnrolmentError(
            _("Image %(digest)s has not been uploaded yet; send the images first.")
            % {"digest": missing[0][:12]}
        )
    captures = []
    for row in rows:
        kind = str(row["kind"])
        exception = str(row.get("exception") or "")
        if kind not in CaptureKind.values or (
            exception and exception not in EXCEPTION_REASONS.get(kind, ())
        ):
            raise EnrolmentError(_("A capture of the record is not valid."))
        signer = _user(row.get("exception_signed_by"))
        if exception and signer is None:
            raise EnrolmentError(_("An exception of the record has no known signer."))
        if exception and signer is not None and not supervises(signer, application.station):
            # The same rule as online (finger_exception_sign): a supervisor of the station.
            raise EnrolmentError(
                _("%(name)s may not sign exceptions at this station.")
                % {"name": signer.get_username()}
            )
        captures.append(
            Capture(
                application=application,
                kind=kind,
                position=str(row.get("position") or "")[:4],
                attempt=int(row["attempt"]),
                quality=None if row.get("quality") is None else int(row["quality"]),
                accepted=bool(row.get("accepted")),
                blob_id=row.get("digest") or None,
                exception=exception,
                exception_signed_by=signer,
                device=str(row.get("device") or "")[:80],
                captured_at=_when(row.get("captured_at") or application.started_at, "captured_at"),
            )
        )
    return captures


def _steps(application: Application, rows: list[dict[str, Any]]) -> list[StepTiming]:
    steps = []
    for row in rows:
        if row.get("step") not in Step.values:
            raise EnrolmentError(_("A step of the record is not valid."))
        steps.append(
            StepTiming(
                application=application,
                step=row["step"],
                started_at=_when(row["started_at"], "started_at"),
                ended_at=_when(row["ended_at"], "ended_at") if row.get("ended_at") else None,
                server_ms=max(0, int(row.get("server_ms") or 0)),
                retries=max(0, int(row.get("retries") or 0)),
                exceptions=max(0, int(row.get("exceptions") or 0)),
            )
        )
    return steps


def _record_problems(application: Application) -> list[str]:
    """What the online intake would have refused: a deceased citizen, an inexact birth
    date, a missing guardian, or a step whose captures are incomplete."""
    citizen = application.citizen
    problems: list[str] = []
    if citizen.life_status != LifeStatus.ALIVE:
        problems.append(_("The registry records this citizen as deceased."))
    if citizen.birth_date is None or citizen.birth_precision != BirthPrecision.DAY:
        problems.append(_("The citizen's birth date is not exact to the day."))
        return problems
    if required_for(application).guardian and not application.guardian_name:
        problems.append(_("A guardian must be present under 14; the record names none."))
    captures = list(Capture.objects.filter(application=application).order_by("attempt"))
    for step in (Step.FINGERPRINTS, Step.FACE, Step.SIGN):
        missing = missing_requirements(application, step, captures=captures)
        if missing:
            problems.append(
                _("Step %(step)s is incomplete: %(missing)s.")
                % {"step": Step(step).label, "missing": ", ".join(missing)}
            )
    return problems


@transaction.atomic
def application_ingest(
    *, station: Station, record: dict[str, Any], at: dt.datetime | None = None
) -> IngestResult:
    """Take one enrolment completed offline (see ``offline/outbox.py`` for the record).

    The same UUID again is a "duplicate" and changes nothing. A citizen who meanwhile got
    an open application elsewhere makes the record a "conflict": stored whole, outside
    the open set, for a supervisor (``application_resolve_conflict``). A record that
    cannot be completed for another reason (its dossier is refused by the desk rules) is
    stored as a conflict too, with the reason in its note: nothing is ever dropped.
    Images must have been uploaded first (by digest).
    """
    at = moment(at)
    app_id = as_uuid(record.get("id"))
    existing = Application.objects.filter(pk=app_id).first()
    if existing is not None:
        if existing.station_id != station.pk:
            raise EnrolmentError(_("This application identifier belongs to another station."))
        return IngestResult("duplicate", app_id)
    citizen = _citizen(station, record)
    operator = _user(record.get("operator"))
    if operator is None or not operates(operator, station):
        raise EnrolmentError(
            _("%(name)s is not an operator of station %(code)s.")
            % {"name": record.get("operator") or "?", "code": station.code}
        )
    started_at = _when(record.get("started_at"), "started_at")
    completed_at = _when(record.get("completed_at") or at, "completed_at")
    law = str(record.get("law") or law_on(local_day(started_at)))
    kind = str(record.get("kind") or ApplicationKind.FIRST)
    if law not in ("2014", "2023") or kind not in ApplicationKind.values:
        raise EnrolmentError(_("The record's law or kind is not valid."))
    session = None
    if record.get("session_id") is not None:
        session = StationSession.objects.filter(pk=record["session_id"], station=station).first()
    other = open_application_of(citizen.pk)
    application = Application(
        id=app_id,
        citizen=citizen,
        province_code=station.province_code,
        unit=station.unit,
        unit_path=station.unit_path,
        station=station,
        session=session,
        operator=operator,
        kind=kind,
        law=law,
        status=ApplicationStatus.CONFLICT if other else ApplicationStatus.IN_PROGRESS,
        step=Step.SIGN,
        guardian_name=str(record.get("guardian_name") or "")[:200],
        guardian_id_number=str(record.get("guardian_id_number") or "")[:12],
        confirmed_data=dict(record.get("confirmed_data") or {}),
        started_at=started_at,
        completed_at=completed_at,
        offline=True,
        conflict_with=other,
        note=str(record.get("note") or ""),
    )
    try:
        with transaction.atomic():
            application.save(force_insert=True)
    except IntegrityError:
        if Application.objects.filter(pk=app_id).exists():
            return IngestResult("duplicate", app_id)
        # The citizen's open application arrived between the check and the insert.
        application.status = ApplicationStatus.CONFLICT
        application.conflict_with = open_application_of(citizen.pk)
        application.save(force_insert=True)
    StepTiming.objects.bulk_create(_steps(application, list(record.get("steps") or [])))
    Capture.objects.bulk_create(_captures(application, list(record.get("captures") or [])))
    if application.status == ApplicationStatus.CONFLICT:
        audit(
            operator,
            "ingest",
            application,
            result="conflict",
            conflict_with=str(application.conflict_with_id or ""),
        )
        return IngestResult("conflict", app_id)
    problems = _record_problems(application)
    if problems:
        # The laptop's checks are trusted for nothing: a record the online wizard would not
        # have completed waits for a supervisor, whole, with the reasons in its note.
        reason = "; ".join(problems)
        application.status = ApplicationStatus.CONFLICT
        application.note = (application.note + "\n" if application.note else "") + reason
        application.save(update_fields=["status", "note"])
        audit(operator, "ingest", application, result="conflict", reason=reason[:300])
        return IngestResult("conflict", app_id)
    try:
        with transaction.atomic():
            complete(application, actor=operator, at=completed_at, action=lifecycle.COMPLETE)
    except (DomainError, IntegrityError) as exc:
        application.refresh_from_db()
        reason = exc.message if isinstance(exc, DomainError) else _("another open application")
        application.status = ApplicationStatus.CONFLICT
        application.conflict_with = open_application_of(citizen.pk, exclude=app_id)
        application.note = (application.note + "\n" if application.note else "") + str(reason)
        application.save(update_fields=["status", "conflict_with", "note"])
        audit(operator, "ingest", application, result="conflict", reason=str(reason)[:300])
        return IngestResult("conflict", app_id)
    audit(operator, "ingest", application, result="created")
    return IngestResult("created", app_id)
