"""What every enrolment service shares: errors, checks, locking, timing and recording."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import path_in_scope
from cancuoc.core.workdays import VN_TZ
from cancuoc.enrolment import quality
from cancuoc.enrolment.models import Application, Station, StepTiming

#: The Law on Identity 2023 applies to applications started from this day (domain.md §3):
#: the regime table's effective date, so the law's dates live in one place.
LAW_2023_FROM = quality.law_regime("2023").effective_from

#: The subject of every enrolment event (one rollup stream for the whole intake).
EVENT_SUBJECT = "enrolment"


# --- Errors ---------------------------------------------------------------------------


class EnrolmentError(DomainError):
    default_message = gettext_lazy("The enrolment was not changed.")


class OpenApplicationExists(EnrolmentError):
    """The citizen already holds an open card application (the database says so)."""


class StepError(EnrolmentError):
    """The step's requirements are not met, or it is not the current step."""


class StationLocked(EnrolmentError):
    """The station went too long without syncing, or holds too many unsent enrolments."""


class IllegalAction(EnrolmentError):
    """The transition table does not allow the action in the current status."""


# --- Small helpers --------------------------------------------------------------------


def moment(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise EnrolmentError(_("The time of the action must include its time zone."))
    return at


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(VN_TZ).date()


def law_on(day: dt.date) -> str:
    return "2023" if day >= LAW_2023_FROM else "2014"


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def as_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise EnrolmentError(_("The application identifier is not valid.")) from None


def require(actor: Any, capability: Capability) -> None:
    if not user_can(actor, capability):
        raise PermissionDenied()


def supervises(actor: Any, station: Station) -> bool:
    return user_can(actor, Capability.SUPERVISE_ENROLMENT) and path_in_scope(
        actor, station.unit_path
    )


def operates(actor: Any, station: Station) -> bool:
    """The actor may run the intake at ``station``: one of its operators, or a supervisor."""
    if supervises(actor, station):
        return True
    if not user_can(actor, Capability.ENROL):
        return False
    return station.operators.filter(pk=actor.pk).exists()


def require_operator(actor: Any, station: Station) -> None:
    if not path_in_scope(actor, station.unit_path):
        raise OutOfScope(_("Station not found."))
    if not operates(actor, station):
        raise PermissionDenied(
            _("You are not an operator of station %(code)s.") % {"code": station.code}
        )


def require_supervisor(actor: Any, station_or_path: Any) -> None:
    path = station_or_path if isinstance(station_or_path, str) else station_or_path.unit_path
    if not path_in_scope(actor, path):
        raise OutOfScope()
    require(actor, Capability.SUPERVISE_ENROLMENT)


def station_for(actor: Any, station_id: Any, *, lock: bool = False) -> Station:
    stations = Station.objects.select_related("unit")
    if lock:
        stations = stations.select_for_update(of=("self",))
    station = stations.filter(pk=station_id).first()
    if station is None or not path_in_scope(actor, station.unit_path):
        raise OutOfScope(_("Station not found."))
    return station


def application_locked(actor: Any, application_id: Any) -> Application:
    """The application, row-locked for the transaction, if ``actor`` may see it."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("station", "citizen", "unit", "dossier")
        .filter(pk=as_uuid(application_id))
        .first()
    )
    if application is None or not path_in_scope(actor, application.unit_path):
        raise OutOfScope(_("Application not found."))
    return application


def policy_for(station: Station) -> quality.QualityPolicy:
    return quality.QualityPolicy(
        finger_threshold=station.finger_threshold,
        finger_retries=station.finger_retries,
        face_threshold=station.face_threshold,
        iris_threshold=station.iris_threshold,
    )


def required_for(application: Application) -> quality.Required:
    birth = application.citizen.birth_date
    if birth is None:
        raise EnrolmentError(_("The citizen's birth date is unknown; correct the registry first."))
    return quality.biometrics_required(
        age_years=age_on(birth, local_day(application.started_at)), law=application.law
    )


def audit(actor: Any, action: str, application: Application, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=f"enrolment.{action}",
        obj=application,
        unit=application.unit,
        detail={"citizen": application.citizen_id, **detail},
    )


def add_server_ms(application_id: Any, step: str, started: float) -> None:
    """Add the time since ``started`` (``time.perf_counter``) to the step's ``server_ms``.

    The measure is the software's own overhead (the issue's ≤ 200 ms per step): it is
    taken inside the service call, not the operator's wait, and summed per step. Called
    at the end of a successful call, inside its transaction.
    """
    elapsed = round((time.perf_counter() - started) * 1000)
    if elapsed > 0:
        StepTiming.objects.filter(application_id=application_id, step=step).update(
            server_ms=F("server_ms") + elapsed
        )
