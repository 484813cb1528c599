"""The five-step intake: start, confirm, captures, exceptions, steps, completion.

Every call is idempotent where a station may send it twice (a double click, a retry
after a cut connection): the same application UUID, the same capture attempt and the
same step completion return what is already there and change nothing.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import PermissionDenied
from cancuoc.core.events import event_append
from cancuoc.core.scoping import path_in_scope, prefix_q
from cancuoc.dossiers.applicant import phone_normalise, phone_valid
from cancuoc.enrolment import lifecycle
from cancuoc.enrolment import quality as rules
from cancuoc.enrolment.models import (
    OPEN_STATUSES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Capture,
    CaptureKind,
    FingerException,
    Station,
    StationSession,
    Step,
    StepTiming,
)
from cancuoc.enrolment.services._common import (
    EVENT_SUBJECT,
    EnrolmentError,
    IllegalAction,
    OpenApplicationExists,
    StationLocked,
    StepError,
    add_server_ms,
    age_on,
    application_locked,
    as_uuid,
    audit,
    law_on,
    local_day,
    moment,
    policy_for,
    require,
    require_operator,
    require_supervisor,
    required_for,
    station_for,
)
from cancuoc.enrolment.services.stations import station_sync_state
from cancuoc.registry import cohort_rules
from cancuoc.registry.idnumber import is_valid as _id_number_ok
from cancuoc.registry.models import (
    BirthPrecision,
    Citizen,
    DocumentKind,
    DocumentStatus,
    IdentityDocument,
    LifeStatus,
)

#: Card kinds whose holder (of any card ever issued) renews rather than gets a first card.
RENEWABLE_KINDS = (DocumentKind.CCCD_BARCODE, DocumentKind.CCCD_CHIP, DocumentKind.CANCUOC)
#: Statuses of a document that was issued to the citizen at some time. "cancelled" counts
#: only with an issue date: an enrolment cancelled before production leaves a cancelled
#: row that never was a card.
ISSUED_STATUSES = (DocumentStatus.VALID, DocumentStatus.EXPIRED, DocumentStatus.LOST)
CMND_KINDS = (DocumentKind.CMND9, DocumentKind.CMND12)
#: The document kind of the card an application produces, by law.
CARD_DOCUMENT_KIND = {"2014": DocumentKind.CCCD_CHIP, "2023": DocumentKind.CANCUOC}
#: The catalogue procedure of each kind of application under each law (dossiers/data).
PROCEDURES: dict[tuple[str, str], str] = {
    ("2014", ApplicationKind.FIRST): "1.001765",
    ("2014", ApplicationKind.RENEW): "1.001773",
    ("2014", ApplicationKind.REISSUE): "1.001780",
    ("2023", ApplicationKind.FIRST): "1.012409",
    ("2023", ApplicationKind.RENEW): "1.012410",
    ("2023", ApplicationKind.REISSUE): "1.012411",
}
#: The registry fields the citizen confirms at step 1 (the card prints these).
CONFIRMED_FIELDS = (
    "id_number",
    "full_name",
    "birth_date",
    "sex",
    "nationality",
    "ethnicity",
    "religion",
    "place_of_origin",
    "birth_registration_place",
    "permanent_address",
    "current_address",
)
_STEP_OF_KIND: dict[str, str] = {
    CaptureKind.SLAP: Step.FINGERPRINTS,
    CaptureKind.ROLLED: Step.FINGERPRINTS,
    CaptureKind.FACE: Step.FACE,
    CaptureKind.IRIS: Step.FACE,
    CaptureKind.SIGNATURE: Step.SIGN,
}
_POSITIONS: dict[str, tuple[str, ...]] = {
    CaptureKind.SLAP: rules.SLAPS,
    CaptureKind.ROLLED: rules.FINGERS,
    CaptureKind.IRIS: rules.EYES,
    CaptureKind.FACE: ("",),
    CaptureKind.SIGNATURE: ("",),
}


# --- Shared pieces --------------------------------------------------------------------


def open_application_error(citizen: Citizen, other: Application | None) -> OpenApplicationExists:
    """The error that names the application (and its dossier) the citizen already holds."""
    if other is None:
        return OpenApplicationExists(
            _("%(name)s already has an open card application.") % {"name": citizen.full_name}
        )
    facts = {
        "name": citizen.full_name,
        "station": f"{other.station.code} {other.station.name}",
        "day": local_day(other.started_at).strftime("%d/%m/%Y"),
        "status": other.get_status_display(),
        "code": other.dossier.code if other.dossier is not None else "",
    }
    if other.dossier_id:
        return OpenApplicationExists(
            _(
                "%(name)s already has an open card application: dossier %(code)s, started at "
                "station %(station)s on %(day)s (%(status)s)."
            )
            % facts
        )
    return OpenApplicationExists(
        _(
            "%(name)s already has an open card application, started at station %(station)s "
            "on %(day)s and not finished yet (%(status)s)."
        )
        % facts
    )


def open_application_of(citizen_id: int, *, exclude: Any = None) -> Application | None:
    others = Application.objects.select_related("station", "dossier").filter(
        citizen_id=citizen_id, status__in=[str(s) for s in OPEN_STATUSES]
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    return others.first()


def _transition(application: Application, action: str) -> None:
    try:
        application.status = lifecycle.application_next(application.status, action)
    except lifecycle.IllegalTransition:
        raise IllegalAction(
            _("This is not possible while the application is “%(status)s”.")
            % {"status": application.get_status_display()}
        ) from None


def _require_in_progress(application: Application) -> None:
    if application.status != ApplicationStatus.IN_PROGRESS:
        raise IllegalAction(
            _("The intake is over: the application is “%(status)s”.")
            % {"status": application.get_status_display()}
        )


def latest_card(citizen: Citizen) -> IdentityDocument | None:
    """The newest CCCD or căn cước card ever issued to the citizen, whatever its status
    now (valid, expired, lost, or cancelled after issue), or None."""
    return (
        IdentityDocument.objects.filter(citizen=citizen, kind__in=RENEWABLE_KINDS)
        .filter(
            Q(status__in=ISSUED_STATUSES)
            | Q(status=DocumentStatus.CANCELLED, issue_date__isnull=False)
        )
        .order_by(F("issue_date").desc(nulls_last=True), "-id")
        .first()
    )


def _auto_kind(citizen: Citizen, day: dt.date) -> str:
    """The kind of application when the operator does not choose one.

    A citizen who ever held a CCCD or căn cước card renews (đổi, 50,000 unless a
    milestone makes it free): the card expired, is expiring at a milestone, or must be
    changed. An expired card is never a "first card". Re-issue (cấp lại, 70,000) is for a
    lost card and is chosen by the operator, who hears why the citizen comes: the
    registry's "lost" flag alone may be stale. Everyone else gets a first card (free), or
    converts an old CMND (30,000: the procedure's fee, no exemption).
    """
    return ApplicationKind.RENEW if latest_card(citizen) is not None else ApplicationKind.FIRST


def confirmed_snapshot(citizen: Citizen) -> dict[str, str]:
    data: dict[str, str] = {}
    for field in CONFIRMED_FIELDS:
        value = getattr(citizen, field)
        data[field] = value.isoformat() if isinstance(value, dt.date) else str(value or "")
    old = (
        IdentityDocument.objects.filter(citizen=citizen, kind=DocumentKind.CMND9)
        .order_by("-issue_date", "-id")
        .values_list("number", flat=True)
        .first()
    )
    data["old_cmnd"] = old or ""
    return data


def _start_timing(application: Application, step: str, at: dt.datetime) -> None:
    # INSERT … ON CONFLICT DO NOTHING on (application, step): a step already started
    # (a resumed intake) keeps its start, in one query instead of a get_or_create's four.
    StepTiming.objects.bulk_create(
        [StepTiming(application=application, step=step, started_at=at)], ignore_conflicts=True
    )


def _next_step(application: Application, step: str) -> str | None:
    """The step after ``step``, skipping the biometric steps the citizen gives nothing at."""
    required = required_for(application)
    nxt = lifecycle.next_step(step)
    while nxt is not None:
        skip = (nxt == Step.FINGERPRINTS and not required.fingerprints) or (
            nxt == Step.FACE and not (required.face or required.iris)
        )
        if not skip:
            break
        nxt = lifecycle.next_step(nxt)
    return nxt


def _advance(application: Application, step: str, at: dt.datetime) -> None:
    """End ``step``'s timing and start the next one's (or stay on "sign" at the end)."""
    StepTiming.objects.filter(application=application, step=step, ended_at__isnull=True).update(
        ended_at=at
    )
    nxt = _next_step(application, step)
    if nxt is not None:
        application.step = nxt
        application.save(update_fields=["step"])
        _start_timing(application, nxt, at)


# --- Start ----------------------------------------------------------------------------


def _session(station: Station, session_id: Any, day: dt.date) -> StationSession | None:
    if session_id in (None, ""):
        return (
            StationSession.objects.filter(station=station, day=day, closed_at__isnull=True)
            .order_by("-opened_at")
            .first()
        )
    session = StationSession.objects.filter(pk=session_id, station=station).first()
    if session is None or session.closed_at is not None:
        raise EnrolmentError(_("The session is not an open session of this station."))
    return session


def start_or_resume(
    *,
    actor: Any,
    station_id: int,
    citizen_id: int,
    application_id: uuid.UUID | str | None = None,
    kind: str | None = None,
    session_id: int | None = None,
    guardian_name: str = "",
    guardian_id_number: str = "",
    at: dt.datetime | None = None,
) -> tuple[Application, bool]:
    """Start a card application for a citizen at a station (step 1, confirm, begins).

    The same ``application_id`` again returns the existing application unchanged. A
    citizen who already holds an open application gets ``OpenApplicationExists`` naming
    it, and nothing is created; the database constraint decides when two stations race.
    Returns the application and whether this call created it; call it inside a
    transaction (``application_start`` is the service).
    """
    started = time.perf_counter()
    at = moment(at)
    day = local_day(at)
    # The intake's operator receives the dossier at completion: they need the desk's
    # capabilities too, which station operators have and supervisors do not.
    require(actor, Capability.ENROL)
    app_id = as_uuid(application_id) if application_id not in (None, "") else uuid.uuid4()
    existing = Application.objects.filter(pk=app_id).first()
    if existing is not None:
        return _same_start(actor, existing, citizen_id), False
    station = station_for(actor, station_id)
    require_operator(actor, station)
    if not station.is_active:
        raise EnrolmentError(_("Station %(code)s is not active.") % {"code": station.code})
    sync = station_sync_state(station=station, now=at)
    if sync.level == "refuse":
        raise StationLocked(sync.message)
    citizen = (
        Citizen.objects.filter(pk=citizen_id)
        .filter(prefix_q("unit_path", station.unit_path))
        .first()
    )
    if citizen is None or not path_in_scope(actor, citizen.unit_path):
        raise EnrolmentError(_("The citizen was not found in this station's area."))
    if citizen.life_status != LifeStatus.ALIVE:
        raise EnrolmentError(_("The registry records this citizen as deceased."))
    if citizen.birth_date is None:
        raise EnrolmentError(_("The citizen's birth date is unknown; correct the registry first."))
    if citizen.birth_precision != BirthPrecision.DAY:
        # The registry stores a year- or month-only birth date as the period's first day: the
        # card would print an invented 01/01 (MRZ, QR) and its expiry would run from it.
        raise EnrolmentError(
            _(
                "The registry knows only the %(precision)s of the citizen's birth (%(shown)s); "
                "correct the birth date to the exact day in the registry first."
            )
            % {
                "precision": _("year")
                if citizen.birth_precision == BirthPrecision.YEAR
                else _("month"),
                "shown": citizen.birth_date.strftime(
                    "%Y" if citizen.birth_precision == BirthPrecision.YEAR else "%m/%Y"
                ),
            }
        )
    # The card number is the ID number: a malformed one must be corrected before six
    # minutes of intake, not discovered when the dossier is received at the end.
    if not _id_number_ok(citizen.id_number or ""):
        raise EnrolmentError(_("The citizen's ID number is not valid; correct the registry first."))
    law = law_on(day)
    age = age_on(citizen.birth_date, day)
    regime = rules.law_regime(law)
    youngest = regime.may_from_age if regime.may_from_age is not None else regime.must_from_age
    if age < youngest:
        raise EnrolmentError(
            _("Under the %(law)s law a card is issued only from the age of %(age)s.")
            % {"law": law, "age": youngest}
        )
    guardian_name = " ".join((guardian_name or "").split())[:200]
    guardian_id_number = (guardian_id_number or "").strip()
    if rules.biometrics_required(age_years=age, law=law).guardian and not guardian_name:
        raise EnrolmentError(
            _("The citizen is %(age)s: a parent or guardian must be present; enter their name.")
            % {"age": age}
        )
    if guardian_id_number and not (
        guardian_id_number.isdigit() and len(guardian_id_number) in (9, 12)
    ):
        raise EnrolmentError(_("The guardian's ID number must have 12 digits (or 9)."))
    if kind in (None, ""):
        kind = _auto_kind(citizen, day)
    elif kind not in ApplicationKind.values:
        raise EnrolmentError(_("Unknown kind of application."))
    other = open_application_of(citizen.pk)
    if other is not None:
        raise open_application_error(citizen, other)
    application = Application(
        id=app_id,
        citizen=citizen,
        province_code=station.province_code,
        unit=station.unit,
        unit_path=station.unit_path,
        station=station,
        session=_session(station, session_id, day),
        operator=actor,
        kind=kind,
        law=law,
        status=ApplicationStatus.IN_PROGRESS,
        step=Step.CONFIRM,
        guardian_name=guardian_name,
        guardian_id_number=guardian_id_number,
        started_at=at,
    )
    try:
        with transaction.atomic():
            application.save(force_insert=True)
    except IntegrityError as exc:
        # Another request won the race: the same UUID (a double submit) or the same
        # citizen at another station (the one-open-application constraint).
        again = Application.objects.filter(pk=app_id).first()
        if again is not None:
            return _same_start(actor, again, citizen_id), False
        raise open_application_error(citizen, open_application_of(citizen.pk)) from exc
    _start_timing(application, Step.CONFIRM, at)
    audit(
        actor,
        "start",
        application,
        station=station.code,
        kind=kind,
        law=law,
        guardian=bool(guardian_name),
        sync=sync.level,
    )
    add_server_ms(application.pk, Step.CONFIRM, started)
    return application, True


@transaction.atomic
def application_start(
    *,
    actor: Any,
    station_id: int,
    citizen_id: int,
    application_id: uuid.UUID | str | None = None,
    kind: str | None = None,
    session_id: int | None = None,
    guardian_name: str = "",
    guardian_id_number: str = "",
    at: dt.datetime | None = None,
) -> Application:
    """Start a card application for a citizen at a station (step 1, confirm, begins).

    The same ``application_id`` again returns the existing application unchanged. A
    citizen who already holds an open application gets ``OpenApplicationExists`` naming
    it, and nothing is created; the database constraint decides when two stations race.
    """
    return start_or_resume(
        actor=actor,
        station_id=station_id,
        citizen_id=citizen_id,
        application_id=application_id,
        kind=kind,
        session_id=session_id,
        guardian_name=guardian_name,
        guardian_id_number=guardian_id_number,
        at=at,
    )[0]


def _same_start(actor: Any, existing: Application, citizen_id: int) -> Application:
    if not path_in_scope(actor, existing.unit_path) or existing.citizen_id != int(citizen_id):
        raise EnrolmentError(_("This application identifier is already used."))
    return existing


# --- Step 1: confirm ------------------------------------------------------------------


def confirmed_data_for(
    application: Application, *, actor: Any, corrections: dict[str, Any] | None, evidence: str
) -> tuple[dict[str, str], int | None]:
    """The snapshot the citizen confirms (with their corrections, proposed to the
    registry's correction workflow) and the correction's id, if any."""
    data = confirmed_snapshot(application.citizen)
    correction_id = None
    if corrections:
        from cancuoc.registry.services import correction_propose

        if not (evidence or "").strip():
            # The law's intake corrects the registry "with proof" (domain.md §3).
            raise EnrolmentError(_("A correction needs its evidence."))

        correction = correction_propose(
            actor=actor,
            citizen_id=application.citizen_id,
            kind="correct",
            changes=corrections,
            reason=_("Corrected by the citizen at enrolment station %(code)s.")
            % {"code": application.station.code},
            evidence=evidence,
        )
        correction_id = correction.pk
        for field, change in correction.changes.items():
            if field in data:
                data[field] = change["after"]
        data["correction_id"] = str(correction_id)
    return data, correction_id


@transaction.atomic
def application_confirm(
    *,
    actor: Any,
    application_id: Any,
    corrections: dict[str, Any] | None = None,
    evidence: str = "",
    at: dt.datetime | None = None,
) -> Application:
    """The citizen confirmed the registry data: snapshot it and move on.

    Corrections go to the registry's correction workflow (maker-checker) with the
    evidence; the snapshot holds the corrected values the citizen confirmed, which the
    card will print. Confirming again after the step is done changes nothing.
    """
    started = time.perf_counter()
    at = moment(at)
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    if application.step != Step.CONFIRM or application.status != ApplicationStatus.IN_PROGRESS:
        if application.confirmed_data:
            return application  # a double submit
        _require_in_progress(application)
    data, correction_id = confirmed_data_for(
        application, actor=actor, corrections=corrections, evidence=evidence
    )
    application.confirmed_data = data
    application.save(update_fields=["confirmed_data"])
    audit(actor, "confirm", application, correction=correction_id)
    _advance(application, Step.CONFIRM, at)
    add_server_ms(application.pk, Step.CONFIRM, started)
    return application


# --- Captures -------------------------------------------------------------------------


def _last_capture(application: Application, kind: str, position: str) -> Capture | None:
    return (
        Capture.objects.filter(application=application, kind=kind, position=position)
        .order_by("-attempt")
        .first()
    )


#: Capture kinds with a retry limit (``finger_retries``): after the last failing attempt a
#: rolled finger or an eye needs an exception signed by a supervisor, and a slap keeps its
#: best attempt (slaps only help matching the rolled prints).
RETRY_LIMITED_KINDS = (CaptureKind.SLAP, CaptureKind.ROLLED, CaptureKind.IRIS)
#: The kinds a supervisor can sign an exception for, with the reasons each allows.
EXCEPTION_REASONS: dict[str, tuple[str, ...]] = {
    CaptureKind.ROLLED: tuple(FingerException.values),
    CaptureKind.IRIS: rules.EYE_EXCEPTIONS,
}


def capture_exhausted(last: Capture | None, policy: rules.QualityPolicy) -> bool:
    """The last attempt of a position failed and no retry is left (rules.finger_verdict,
    with the threshold of the capture's kind)."""
    if last is None or last.exception or last.accepted or last.quality is None:
        return False
    verdict = rules.finger_verdict(
        score=last.quality, attempt=last.attempt, policy=policy, kind=last.kind
    )
    return verdict == "exception_allowed"


def _retries_exhausted(
    application: Application, position: str, kind: str = CaptureKind.ROLLED
) -> bool:
    """The position's last attempt left only an exception (or, for a slap, keeping it)."""
    return capture_exhausted(
        _last_capture(application, kind, position), policy_for(application.station)
    )


def _score(
    application: Application, kind: str, image: bytes, given: int | None, metrics: dict[str, Any]
) -> tuple[int | None, bool]:
    """The capture's quality score and whether it is accepted (the threshold of its kind)."""
    policy = policy_for(application.station)
    if kind in (CaptureKind.SLAP, CaptureKind.ROLLED):
        if given is None:
            raise StepError(_("The fingerprint scanner reported no quality score."))
        return given, given >= policy.finger_threshold
    if kind == CaptureKind.FACE:
        score = given if given is not None else rules.face_score(image=image, metrics=metrics).score
        return score, score >= policy.face_threshold
    if kind == CaptureKind.IRIS:
        if given is None:
            raise StepError(_("The iris scanner reported no quality score."))
        return given, given >= policy.iris_threshold
    return given, True  # signature


def _check_capture(application: Application, kind: str, position: str) -> None:
    if kind not in _STEP_OF_KIND:
        raise StepError(_("Unknown kind of capture."))
    if position not in _POSITIONS[kind]:
        raise StepError(
            _("Unknown position %(position)s for this capture.") % {"position": position}
        )
    _require_in_progress(application)
    wanted = _STEP_OF_KIND[kind]
    if application.step != wanted:
        raise StepError(
            _("This capture belongs to step “%(wanted)s”; the application is at “%(step)s”.")
            % {"wanted": Step(wanted).label, "step": Step(application.step).label}
        )
    required = required_for(application)
    if kind == CaptureKind.IRIS and not required.iris:
        raise StepError(_("No iris is taken for this application."))
    if kind in (CaptureKind.SLAP, CaptureKind.ROLLED) and not required.fingerprints:
        raise StepError(_("No fingerprints are taken for this citizen."))


def retry_limit_check(last: Capture, policy: rules.QualityPolicy) -> None:
    """Refuse another capture of ``last``'s position when it has an exception or used up
    its retries (a slap keeps its best attempt; a finger or an eye needs an exception)."""
    position = last.position
    if last.exception:
        if last.kind == CaptureKind.IRIS:
            raise StepError(
                _("Eye %(position)s has an exception already.") % {"position": position}
            )
        raise StepError(_("Finger %(position)s has an exception already.") % {"position": position})
    if not capture_exhausted(last, policy):
        return
    if last.kind == CaptureKind.SLAP:
        raise StepError(
            _("Slap %(position)s used up its retries: its best attempt is kept.")
            % {"position": position}
        )
    if last.kind == CaptureKind.IRIS:
        raise StepError(
            _("Eye %(position)s used up its retries: record an exception signed by a supervisor.")
            % {"position": position}
        )
    raise StepError(
        _("Finger %(position)s used up its retries: record an exception signed by a supervisor.")
        % {"position": position}
    )


@transaction.atomic
def capture_record(
    *,
    actor: Any,
    application_id: Any,
    kind: str,
    position: str,
    image: bytes,
    content_type: str,
    quality: int | None,
    device: str = "",
    metrics: dict[str, Any] | None = None,
    attempt: int | None = None,
    at: dt.datetime | None = None,
) -> Capture:
    """Store one capture: the encrypted image, its score and whether it is accepted.

    ``attempt`` defaults to the next one; an attempt already recorded is returned as it
    is (a double submit). A finger whose retries are used up takes no more captures: it
    needs an exception signed by a supervisor.
    """
    from cancuoc.enrolment import biostore

    started = time.perf_counter()
    at = moment(at)
    position = (position or "").upper()
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    if attempt is not None:
        done = Capture.objects.filter(
            application=application, kind=kind, position=position, attempt=attempt
        ).first()
        if done is not None:
            return done
    _check_capture(application, kind, position)
    last = _last_capture(application, kind, position)
    if kind in RETRY_LIMITED_KINDS and last is not None:
        retry_limit_check(last, policy_for(application.station))
    if attempt is None:
        attempt = (last.attempt if last is not None else 0) + 1
    elif attempt < 1:
        raise StepError(_("Attempt numbers start at 1."))
    metrics = metrics or {}
    score, accepted = _score(application, kind, image, quality, metrics)
    blob = biostore.blob_put(
        image=image, content_type=content_type, province_code=application.province_code
    )
    capture = Capture(
        application=application,
        kind=kind,
        position=position,
        attempt=attempt,
        quality=score,
        accepted=accepted,
        blob=blob,
        device=(device or "")[:80],
        captured_at=at,
    )
    try:
        with transaction.atomic():
            capture.save(force_insert=True)
    except IntegrityError:
        # The same attempt raced in from a second submit: keep the first.
        done = Capture.objects.filter(
            application=application, kind=kind, position=position, attempt=attempt
        ).first()
        if done is None:
            raise
        return done
    step = _STEP_OF_KIND[kind]
    if last is not None:
        StepTiming.objects.filter(application=application, step=step).update(
            retries=F("retries") + 1
        )
    audit(
        actor,
        "capture",
        application,
        kind=kind,
        position=position,
        attempt=attempt,
        quality=score,
        accepted=accepted,
        digest=blob.digest,
    )
    add_server_ms(application.pk, step, started)
    return capture


def capture_from_device(
    *,
    actor: Any,
    application_id: Any,
    kind: str,
    position: str = "",
    at: dt.datetime | None = None,
) -> Capture:
    """Ask the station's device for a capture and record it.

    A device failure (``DeviceError``, a timeout) stores nothing: the operator retries.
    The device is asked outside any transaction, so no row stays locked while a citizen
    presses a finger.
    """
    from cancuoc.enrolment.devices import devices_for
    from cancuoc.enrolment.devices.base import DeviceError

    position = (position or "").upper()
    application = (
        Application.objects.select_related("station", "citizen")
        .filter(pk=as_uuid(application_id))
        .first()
    )
    if application is None or not path_in_scope(actor, application.unit_path):
        from cancuoc.core.errors import OutOfScope

        raise OutOfScope(_("Application not found."))
    require_operator(actor, application.station)
    _check_capture(application, kind, position)
    devices = devices_for(application.station)
    try:
        if kind in (CaptureKind.SLAP, CaptureKind.ROLLED):
            result = devices.fingerprint.capture(position=position, kind=kind)
        elif kind == CaptureKind.FACE:
            result = devices.camera.capture_face()
        elif kind == CaptureKind.IRIS:
            result = devices.iris.capture(eye=position)
        else:
            result = devices.signature.capture()
    except DeviceError as exc:
        raise StepError(
            _("The device failed (%(error)s); try again.") % {"error": str(exc) or "error"}
        ) from exc
    return capture_record(
        actor=actor,
        application_id=application.pk,
        kind=kind,
        position=position,
        image=result.image,
        content_type=result.content_type,
        quality=result.quality,
        device=result.device,
        metrics=dict(result.metrics or {}),
        at=at,
    )


def _supervisor(username: str, password: str) -> Any:
    from django.contrib.auth import authenticate

    user = authenticate(username=(username or "").strip(), password=password or "")
    if user is None:
        raise PermissionDenied(_("The supervisor's username or password is wrong."))
    return user


@transaction.atomic
def biometric_exception_sign(
    *,
    actor: Any,
    application_id: Any,
    kind: str,
    position: str,
    reason: str,
    supervisor_username: str,
    supervisor_password: str,
    at: dt.datetime | None = None,
) -> Capture:
    """Record a finger or an eye that cannot be captured, signed off by a supervisor.

    ``kind`` is "rolled" (a finger: missing, amputated, bandaged, worn) or "iris" (an eye:
    missing, blind, injured, unreadable). Missing and damaged parts are described at once
    (domain.md §3); a worn finger or an unreadable eye only after its retries are used up.
    The supervisor types their own credentials at the station; they need the supervision
    capability over the station's unit and cannot sign their own intake.
    """
    started = time.perf_counter()
    at = moment(at)
    position = (position or "").upper()
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    eye = kind == CaptureKind.IRIS
    if kind not in EXCEPTION_REASONS:
        raise StepError(_("Only a finger or an eye can be signed off."))
    if reason not in EXCEPTION_REASONS[kind]:
        raise StepError(
            _("Choose why the eye cannot be captured.")
            if eye
            else _("Choose why the finger cannot be captured.")
        )
    last = _last_capture(application, kind, position)
    if last is not None and last.exception:
        return last  # a double submit
    _check_capture(application, kind, position)
    if last is not None and last.accepted:
        raise StepError(
            (
                _("Eye %(position)s is already captured.")
                if eye
                else _("Finger %(position)s is already captured.")
            )
            % {"position": position}
        )
    if reason == rules.AFTER_RETRIES[kind] and not _retries_exhausted(application, position, kind):
        raise StepError(
            (
                _("An unreadable eye needs its retries first; capture eye %(position)s again.")
                if eye
                else _("A worn finger needs its retries first; capture finger %(position)s again.")
            )
            % {"position": position}
        )
    supervisor = _supervisor(supervisor_username, supervisor_password)
    if not user_can(supervisor, Capability.SUPERVISE_ENROLMENT) or not path_in_scope(
        supervisor, application.station.unit_path
    ):
        raise PermissionDenied(
            _("%(name)s may not sign exceptions at this station.")
            % {"name": supervisor.get_username()}
        )
    if supervisor.pk == actor.pk:
        raise PermissionDenied(_("Another officer must sign the exception."))
    step = _STEP_OF_KIND[kind]
    capture = Capture.objects.create(
        application=application,
        kind=kind,
        position=position,
        attempt=(last.attempt if last is not None else 0) + 1,
        quality=None,
        accepted=False,
        blob=None,
        exception=reason,
        exception_signed_by=supervisor,
        captured_at=at,
    )
    StepTiming.objects.filter(application=application, step=step).update(
        exceptions=F("exceptions") + 1
    )
    audit(
        actor,
        "eye_exception" if eye else "finger_exception",
        application,
        position=position,
        reason=reason,
        supervisor=supervisor.get_username(),
    )
    add_server_ms(application.pk, step, started)
    return capture


def finger_exception_sign(
    *,
    actor: Any,
    application_id: Any,
    position: str,
    reason: str,
    supervisor_username: str,
    supervisor_password: str,
    at: dt.datetime | None = None,
) -> Capture:
    """Record a finger that cannot be captured (``biometric_exception_sign`` for "rolled")."""
    return biometric_exception_sign(
        actor=actor,
        application_id=application_id,
        kind=CaptureKind.ROLLED,
        position=position,
        reason=reason,
        supervisor_username=supervisor_username,
        supervisor_password=supervisor_password,
        at=at,
    )


# --- Steps ----------------------------------------------------------------------------


def missing_requirements(
    application: Application, step: str, *, captures: list[Capture] | None = None
) -> list[str]:
    """What ``step`` still lacks, as short English msgids with their position.

    ``captures``: all the application's captures when the caller holds them already.
    """
    if captures is None:
        captures = list(Capture.objects.filter(application=application).order_by("attempt"))
    required = required_for(application)
    missing: list[str] = []
    if step in (Step.FINGERPRINTS, Step.FACE):
        policy = policy_for(application.station)
        last: dict[tuple[str, str], Capture] = {}
        for c in captures:  # ordered by attempt: the last one stays
            last[(c.kind, c.position)] = c

        def done(kind: str) -> set[str]:
            """Positions accepted or signed off; for a slap also its retries used up (the
            best attempt is kept: slaps only help matching the rolled prints)."""
            positions = {
                c.position for c in captures if c.kind == kind and (c.accepted or c.exception)
            }
            if kind == CaptureKind.SLAP:
                positions |= {
                    p for (k, p), c in last.items() if k == kind and capture_exhausted(c, policy)
                }
            return positions

    if step == Step.FINGERPRINTS and required.fingerprints:
        rolled = done(CaptureKind.ROLLED)
        excepted = {c.position for c in captures if c.kind == CaptureKind.ROLLED and c.exception}
        slaps = done(CaptureKind.SLAP)
        for slap in rules.SLAPS:
            fingers = rules.SLAP_FINGERS[slap]
            if slap not in slaps and not set(fingers) <= excepted:
                missing.append(_("slap %(position)s") % {"position": slap})
        for finger in rules.FINGERS:
            if finger not in rolled:
                missing.append(_("finger %(position)s") % {"position": finger})
    if step == Step.FACE:
        if required.face and not any(c.kind == CaptureKind.FACE and c.accepted for c in captures):
            missing.append(_("an accepted face photo"))
        if required.iris:
            eyes = done(CaptureKind.IRIS)
            for eye in rules.EYES:
                if eye not in eyes:
                    missing.append(_("iris %(position)s") % {"position": eye})
    if step == Step.SIGN and not any(c.kind == CaptureKind.SIGNATURE for c in captures):
        missing.append(_("the citizen's signature"))
    return missing


@transaction.atomic
def step_complete(
    *, actor: Any, application_id: Any, step: str, at: dt.datetime | None = None
) -> Application:
    """Complete the current step once its requirements are met; the next one starts.

    Completing a step already completed returns the application unchanged. Completing
    "sign" completes the application (the dossier is received).
    """
    started = time.perf_counter()
    at = moment(at)
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    if step not in Step.values:
        raise StepError(_("Unknown step."))
    timing = StepTiming.objects.filter(application=application, step=step).first()
    if step != application.step or application.status != ApplicationStatus.IN_PROGRESS:
        if timing is not None and timing.ended_at is not None:
            return application  # a double submit
        _require_in_progress(application)
        raise StepError(
            _("The application is at step “%(step)s”.") % {"step": Step(application.step).label}
        )
    if step == Step.CONFIRM:
        return application_confirm(actor=actor, application_id=application.pk, at=at)
    missing = missing_requirements(application, step)
    if missing:
        raise StepError(_("Still missing: %(items)s.") % {"items": ", ".join(missing)})
    audit(actor, "step", application, step=step)
    if step == Step.SIGN:
        application = application_complete(actor=actor, application_id=application.pk, at=at)
    else:
        _advance(application, step, at)
    add_server_ms(application.pk, step, started)
    return application


# --- Completion -----------------------------------------------------------------------


def milestone_reached(
    citizen: Citizen, card: IdentityDocument, day: dt.date, law: str
) -> int | None:
    """The renewal age that ended ``card``'s term, when the citizen has reached it by ``day``
    and it is a milestone of ``law`` (cohort_rules.REGIMES); else None.

    The card's legal term comes from its issue date under the regime in force that day
    (the renewal ages and the 2-year rule, ``cohort_rules.card_expiry_age``); without an
    issue date, from its printed expiry (the birthday it falls on). A card issued within
    two years before a milestone lasts until the next one, so renewing it at that
    milestone is not a milestone renewal.
    """
    birth = citizen.birth_date
    if birth is None:
        return None
    if card.issue_date is not None:
        try:
            regime = cohort_rules.regime_on(card.issue_date)
        except cohort_rules.NoRegime:
            regime = cohort_rules.REGIMES[0]  # issued before the first law (bad data)
        expiry_age = cohort_rules.card_expiry_age(age_on(birth, card.issue_date), regime)
    elif card.expiry_date is not None:
        expiry_age = age_on(birth, card.expiry_date)
    else:
        return None
    if expiry_age is None or expiry_age not in rules.law_regime(law).renewal_ages:
        return None
    return expiry_age if age_on(birth, day) >= expiry_age else None


def _fee_exemption(application: Application) -> str:
    """Why the card is free (the desk records it as an exemption), or "".

    Fees (domain.md §3; Circular 59/2019/TT-BTC, Circular 73/2024/TT-BTC): a first card is
    free; converting an old CMND costs 30,000, renewal 50,000, re-issue 70,000 (the
    procedures' fees). A renewal at the milestone ages of the law (cohort_rules.REGIMES
    ``renewal_ages``: 25, 40, 60, and 14 under the 2023 law) is free.

    Decision (late milestone renewals): the Circulars exempt "đổi thẻ khi công dân đủ 14,
    25, 40, 60 tuổi", the renewal that Law 59/2014 art. 21 and Law 26/2023 art. 21 make
    compulsory when the holder reaches those ages. Neither law sets a deadline for it, and
    the card's term ended at the milestone whenever the citizen comes. So the exemption
    follows the cause, not the day of the visit: a card whose legal term ended at a
    milestone the citizen has reached is renewed free, at 26 for a card that expired at 25
    as at 25. A renewal for another reason (a damaged card, changed data, a card still in
    its term, or one that lasts for life) pays; so does a re-issue of a lost card.
    """
    citizen = application.citizen
    if application.kind == ApplicationKind.FIRST:
        held_before = (
            latest_card(citizen) is not None
            or IdentityDocument.objects.filter(citizen=citizen, kind__in=CMND_KINDS).exists()
        )
        # Only a citizen who never held any ID document gets the first card free: an old
        # CMND is converted (30,000), and a former card is renewed, never "first".
        return "" if held_before else "Cấp thẻ lần đầu"
    if application.kind == ApplicationKind.RENEW:
        card = latest_card(citizen)
        age = (
            milestone_reached(citizen, card, local_day(application.started_at), application.law)
            if card is not None
            else None
        )
        if age is not None:
            return f"Đổi thẻ khi đủ {age} tuổi"
    return ""


def dossier_create_for(application: Application, *, at: dt.datetime) -> Any:
    """Receive, transfer and appraise the card dossier (the operator checked the data).

    The dossier acts in the name of the intake's operator, who holds the desk and
    appraisal capabilities; the submission key makes a repeated completion find the
    same dossier instead of a second one.
    """
    from cancuoc.dossiers import services as desk
    from cancuoc.dossiers.models import Dossier
    from cancuoc.dossiers.selectors import submission_key_scoped

    operator = application.operator
    key = f"enrol:{application.pk}"
    scoped = submission_key_scoped(user=operator, key=key)
    dossier = Dossier.objects.filter(submission_key=scoped).first()
    if dossier is None:
        citizen = application.citizen
        data = application.confirmed_data or {}
        dossier = desk.dossier_receive(
            actor=operator,
            procedure_code=PROCEDURES[(application.law, application.kind)],
            applicant_name=data.get("full_name") or citizen.full_name,
            applicant_id_number=citizen.id_number,
            # A malformed registry phone is left out rather than refusing the card dossier.
            applicant_phone=citizen.phone if phone_valid(phone_normalise(citizen.phone)) else "",
            applicant_address=data.get("permanent_address") or citizen.permanent_address,
            citizen_id=citizen.pk,
            competent_unit_id=application.unit_id,
            fee_exemption_reason=_fee_exemption(application),
            submission_key=key,
            at=at,
        )
    from cancuoc.dossiers import lifecycle as dlc

    # Transfer and appraise under one lock (each step recorded as when done alone).
    actions = {dlc.RECEIVED: [dlc.TRANSFER, dlc.APPRAISE], dlc.TRANSFERRED: [dlc.APPRAISE]}
    if dossier.status in actions:
        dossier = desk.dossier_act_many(
            actor=operator, dossier_id=dossier.pk, actions=actions[dossier.status], at=at
        )
    return dossier


def enrolled_document(application: Application) -> IdentityDocument:
    """The registry row that says the citizen is enrolled (not invited again)."""
    citizen = application.citizen
    document = IdentityDocument.objects.create(
        citizen=citizen,
        province_code=citizen.province_code,
        kind=CARD_DOCUMENT_KIND[application.law],
        number=citizen.id_number,
        status=DocumentStatus.ENROLLED,
    )
    return document


def complete(application: Application, *, actor: Any, at: dt.datetime, action: str) -> Application:
    """The common end of an intake (online, keep after a conflict, offline ingest)."""
    if actor is not None and actor.pk == application.operator_id:
        application.operator = actor  # the same account, already loaded
    dossier = dossier_create_for(application, at=at)
    _transition(application, action)
    application.dossier = dossier
    application.completed_at = application.completed_at or at
    application.save(update_fields=["status", "dossier", "completed_at"])
    document = enrolled_document(application)
    from cancuoc.enrolment.signals import enrolment_completed

    # Campaigns mark the citizen's invitation attended (same transaction).
    enrolment_completed.send(
        sender=Application, application=application, citizen=application.citizen, at=at
    )
    note = application.note
    event_append(
        kind="enrolment.completed",
        unit=application.unit,
        day=local_day(application.completed_at),
        subject=EVENT_SUBJECT,
        measures={"enrolled": 1},
        obj=application,
        actor=actor,
        payload={"station": application.station.code, "dossier": dossier.code},
    )
    audit(
        actor,
        "complete",
        application,
        dossier=dossier.code,
        document=document.pk,
        offline=application.offline,
        **({"note": note[:200]} if note else {}),
    )
    return application


@transaction.atomic
def application_complete(
    *, actor: Any, application_id: Any, at: dt.datetime | None = None
) -> Application:
    """Close the intake: the dossier is received, transferred and appraised.

    Normally called by ``step_complete("sign")``; callable directly (the one-request API)
    once every step is done. A completed application is returned unchanged.
    """
    at = moment(at)
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    if application.status != ApplicationStatus.IN_PROGRESS and application.dossier_id:
        return application  # a double submit
    _require_in_progress(application)
    if application.step != Step.SIGN:
        raise StepError(
            _("The application is at step “%(step)s”.") % {"step": Step(application.step).label}
        )
    missing = missing_requirements(application, Step.SIGN)
    if missing:
        raise StepError(_("Still missing: %(items)s.") % {"items": ", ".join(missing)})
    StepTiming.objects.filter(
        application=application, step=Step.SIGN, ended_at__isnull=True
    ).update(ended_at=at)
    return complete(application, actor=actor, at=at, action=lifecycle.COMPLETE)


# --- Cancel and conflicts -------------------------------------------------------------


@transaction.atomic
def application_cancel(
    *, actor: Any, application_id: Any, reason: str, at: dt.datetime | None = None
) -> Application:
    """Abandon an intake, or withdraw a completed one (its dossier is withdrawn too).

    An application whose card is in production is cancelled by a supervisor only; the
    card and its registry row are cancelled with it.
    """
    at = moment(at)
    reason = " ".join((reason or "").split())
    if not reason:
        raise EnrolmentError(_("Give the reason for cancelling."))
    application = application_locked(actor, application_id)
    if application.status == ApplicationStatus.CANCELLED:
        return application
    if application.status in (ApplicationStatus.APPROVED, ApplicationStatus.CONFLICT):
        require_supervisor(actor, application.station)
    else:
        require_operator(actor, application.station)
    from_status = application.status
    _transition(application, lifecycle.CANCEL)
    application.note = (application.note + "\n" if application.note else "") + reason[:1000]
    application.save(update_fields=["status", "note"])
    from cancuoc.enrolment.services.cards import cancel_card_and_document

    cancel_card_and_document(application, at=at)
    dossier = application.dossier
    if dossier is not None and from_status == ApplicationStatus.COMPLETED:
        from cancuoc.dossiers import lifecycle as dlc
        from cancuoc.dossiers import services as desk

        if (dossier.status, dlc.WITHDRAW) in dlc.TRANSITIONS:
            desk.dossier_withdraw(actor=actor, dossier_id=dossier.pk, reason=reason, at=at)
    audit(actor, "cancel", application, reason=reason[:500], was=from_status)
    return application


@transaction.atomic
def application_resolve_conflict(
    *,
    actor: Any,
    application_id: Any,
    keep: bool,
    note: str = "",
    at: dt.datetime | None = None,
) -> Application:
    """A supervisor decides on an offline enrolment that met an open application.

    Keeping it is allowed only once the other open application is gone (cancelled or
    refused, never automatically); the enrolment then completes and its dossier is
    received. Discarding it cancels it; it stays on record.
    """
    at = moment(at)
    application = application_locked(actor, application_id)
    require_supervisor(actor, application.station)
    if application.status != ApplicationStatus.CONFLICT:
        raise IllegalAction(
            _("This application is not awaiting a decision (it is “%(status)s”).")
            % {"status": application.get_status_display()}
        )
    note = " ".join((note or "").split())[:1000]
    if note:
        application.note = (application.note + "\n" if application.note else "") + note
    if not keep:
        _transition(application, lifecycle.CANCEL)
        application.save(update_fields=["status", "note"])
        audit(actor, "conflict_discard", application, note=note)
        return application
    other = open_application_of(application.citizen_id, exclude=application.pk)
    if other is not None:
        raise open_application_error(application.citizen, other)
    try:
        with transaction.atomic():
            complete(application, actor=actor, at=at, action=lifecycle.KEEP)
    except IntegrityError as exc:
        raise open_application_error(
            application.citizen, open_application_of(application.citizen_id, exclude=application.pk)
        ) from exc
    application.save(update_fields=["note"])
    audit(actor, "conflict_keep", application, note=note)
    return application


__all__ = [
    "CARD_DOCUMENT_KIND",
    "PROCEDURES",
    "application_cancel",
    "application_complete",
    "application_confirm",
    "application_resolve_conflict",
    "application_start",
    "biometric_exception_sign",
    "capture_from_device",
    "capture_record",
    "finger_exception_sign",
    "missing_requirements",
    "step_complete",
]
