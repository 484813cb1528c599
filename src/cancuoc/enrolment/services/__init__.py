"""Every write on enrolment: stations, the five-step intake, cards, offline pushes.

Each service is keyword-only, runs in one transaction, checks the actor's capability
and unit scope, writes an audit row and, for state changes that reports count, appends
an event. Errors are ``EnrolmentError`` (a ``DomainError``) subclasses, raised before
anything is written or rolling the whole call back.

Modules: ``stations`` (stations, tokens, sessions, sync limits), ``intake`` (start to
completion, cancel, conflicts), ``cards`` (the dossier hook, cards, production file),
``ingest`` (offline pushes), ``batch`` (a step's captures at once, a whole enrolment in
one call), ``_common`` (errors and shared checks). Import the public names from this
package.
"""

from cancuoc.enrolment.services._common import (
    LAW_2023_FROM,
    EnrolmentError,
    IllegalAction,
    OpenApplicationExists,
    StationLocked,
    StepError,
)
from cancuoc.enrolment.services.batch import CaptureData, application_enrol, captures_record
from cancuoc.enrolment.services.cards import (
    application_approve,
    card_hand_over,
    card_mark_ready,
    on_dossier_step,
    production_export,
)
from cancuoc.enrolment.services.ingest import IngestResult, application_ingest
from cancuoc.enrolment.services.intake import (
    PROCEDURES,
    application_cancel,
    application_complete,
    application_confirm,
    application_resolve_conflict,
    application_start,
    biometric_exception_sign,
    capture_from_device,
    capture_record,
    finger_exception_sign,
    missing_requirements,
    step_complete,
)
from cancuoc.enrolment.services.stations import (
    SyncState,
    session_close,
    session_open,
    station_create,
    station_sync_state,
    station_token_issue,
    station_update,
)

__all__ = [
    "LAW_2023_FROM",
    "PROCEDURES",
    "CaptureData",
    "EnrolmentError",
    "IllegalAction",
    "IngestResult",
    "OpenApplicationExists",
    "StationLocked",
    "StepError",
    "SyncState",
    "application_approve",
    "application_cancel",
    "application_complete",
    "application_confirm",
    "application_enrol",
    "application_ingest",
    "application_resolve_conflict",
    "application_start",
    "biometric_exception_sign",
    "capture_from_device",
    "capture_record",
    "captures_record",
    "card_hand_over",
    "card_mark_ready",
    "finger_exception_sign",
    "missing_requirements",
    "on_dossier_step",
    "production_export",
    "session_close",
    "session_open",
    "station_create",
    "station_sync_state",
    "station_token_issue",
    "station_update",
    "step_complete",
]
