"""Captures in batches: a step's images recorded under one lock, one flush, one INSERT.

``capture_record`` takes one image per call: it locks the application, checks the
operator, reads the finger's earlier attempts, stores the image (and flushes it to disk)
and writes the capture, its audit row and the step's timing, about 17 queries each. A
station sends a step's captures together (the 3 slaps and 10 rolled prints), so
``captures_record`` does the same work once per batch with exactly the same rules and
the same rows: every capture checked in order as if recorded one by one (attempts,
retries used up, exceptions, the step), every image checked before any is written, the
files flushed together, the captures and their audit rows inserted in bulk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cancuoc.core.audit import audit_entry, audit_record_many
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import lifecycle
from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    Capture,
    Step,
    StepTiming,
)
from cancuoc.enrolment.services._common import (
    StepError,
    application_locked,
    moment,
    policy_for,
    require_operator,
)
from cancuoc.enrolment.services.intake import (
    _STEP_OF_KIND,
    RETRY_LIMITED_KINDS,
    _check_capture,
    _next_step,
    _score,
    biometric_exception_sign,
    complete,
    confirmed_data_for,
    missing_requirements,
    retry_limit_check,
    start_or_resume,
)


@dataclass(frozen=True)
class CaptureData:
    """One capture as a device produced it (the arguments of ``capture_record``)."""

    kind: str
    image: bytes
    position: str = ""
    content_type: str = "image/png"
    quality: int | None = None
    device: str = ""
    metrics: dict[str, Any] | None = None
    attempt: int | None = None


class _Captures:
    """An application's captures as the batch goes: what is recorded and what is new.

    Each new capture is checked against this state exactly as ``capture_record`` checks
    it against the database, so a batch behaves as its captures recorded one by one.
    """

    def __init__(self, application: Application, *, fresh: bool = False) -> None:
        self.application = application
        # ``fresh``: created in this transaction, so it has no captures yet.
        self.all = (
            []
            if fresh
            else list(Capture.objects.filter(application=application).order_by("attempt", "pk"))
        )
        self.by_attempt = {(c.kind, c.position, c.attempt): c for c in self.all}
        self.last: dict[tuple[str, str], Capture] = {}
        for capture in self.all:
            self.last[(capture.kind, capture.position)] = capture
        self.policy = policy_for(application.station)
        #: Checked, not written yet: (capture, its input, whether it is a retry).
        self.new: list[tuple[Capture, CaptureData, bool]] = []

    def add(self, data: CaptureData, at: dt.datetime) -> tuple[Capture, bool]:
        """The capture for ``data`` and whether it is a new one (else recorded already)."""
        application = self.application
        kind = data.kind
        position = (data.position or "").upper()
        if data.attempt is not None:
            done = self.by_attempt.get((kind, position, data.attempt))
            if done is not None:
                return done, False
        _check_capture(application, kind, position)
        previous = self.last.get((kind, position))
        if kind in RETRY_LIMITED_KINDS and previous is not None:
            # The same rule as capture_record: slaps, fingers and eyes have retries.
            retry_limit_check(previous, self.policy)
        attempt = data.attempt
        if attempt is None:
            attempt = (previous.attempt if previous is not None else 0) + 1
        elif attempt < 1:
            raise StepError(_("Attempt numbers start at 1."))
        score, accepted = _score(application, kind, data.image, data.quality, data.metrics or {})
        capture = Capture(
            application=application,
            kind=kind,
            position=position,
            attempt=attempt,
            quality=score,
            accepted=accepted,
            # The digest the store gives it (checked there); the audit row names it.
            blob_id=hashlib.sha256(data.image).hexdigest(),
            device=(data.device or "")[:80],
            captured_at=at,
        )
        self.by_attempt[(kind, position, attempt)] = capture
        if previous is None or attempt > previous.attempt:
            self.last[(kind, position)] = capture
        self.all.append(capture)
        self.new.append((capture, data, previous is not None))
        return capture, True

    def audit_entries(self, actor: Any, captures: list[Capture]) -> list[AuditEntry]:
        application = self.application
        label = str(application)  # once, not per row (it translates the status)
        return [
            audit_entry(
                actor=actor,
                action="enrolment.capture",
                obj=application,
                object_repr=label,
                unit=application.unit,
                detail={
                    "citizen": application.citizen_id,
                    "kind": capture.kind,
                    "position": capture.position,
                    "attempt": capture.attempt,
                    "quality": capture.quality,
                    "accepted": capture.accepted,
                    "digest": capture.blob_id,
                },
            )
            for capture in captures
        ]

    def write(self) -> None:
        """Store the new captures' images (all checked first), then insert their rows."""
        from cancuoc.enrolment import biostore

        if not self.new:
            return
        blobs = biostore.blobs_put_many(
            images=[(data.image, data.content_type) for _c, data, _r in self.new],
            province_code=self.application.province_code,
        )
        for (capture, _data, _retry), blob in zip(self.new, blobs, strict=True):
            capture.blob = blob
        Capture.objects.bulk_create([capture for capture, _d, _r in self.new])
        self.new = []


def captures_store(
    application: Application,
    *,
    actor: Any,
    captures: Sequence[CaptureData],
    at: dt.datetime,
    started: float | None = None,
) -> list[Capture]:
    """Record ``captures`` on an application the caller locked and checked the operator of.

    Returns one capture per input, in order: an attempt already recorded (a double
    submit, also within the batch) is returned as it is and nothing is added for it.
    Raises before writing anything when one capture breaks a rule or one image is refused.
    """
    started = time.perf_counter() if started is None else started
    if not captures:
        return []
    state = _Captures(application)
    out = [state.add(data, at)[0] for data in captures]
    new = [capture for capture, _d, _r in state.new]
    if not new:
        return out
    retries = sum(1 for _c, _d, retry in state.new if retry)
    state.write()
    audit_record_many(state.audit_entries(actor, new))
    # One batch belongs to one step (``_check_capture`` holds every capture to the
    # current one): its retries and the time spent go to that step's timing at once.
    step = _STEP_OF_KIND[new[0].kind]
    elapsed = round((time.perf_counter() - started) * 1000)
    changes: dict[str, Any] = {}
    if retries:
        changes["retries"] = F("retries") + retries
    if elapsed > 0:
        changes["server_ms"] = F("server_ms") + elapsed
    if changes:
        StepTiming.objects.filter(application=application, step=step).update(**changes)
    return out


@transaction.atomic
def captures_record(
    *,
    actor: Any,
    application_id: Any,
    captures: Sequence[CaptureData],
    at: dt.datetime | None = None,
) -> list[Capture]:
    """Record a step's captures at once, with exactly the rows ``capture_record`` writes.

    Each capture is checked in order as if recorded alone (its step, its attempt, a
    finger's retries used up or its exception); an attempt already recorded is returned
    unchanged (idempotent). One refused image or broken rule stores nothing of the batch.
    """
    started = time.perf_counter()
    at = moment(at)
    application = application_locked(actor, application_id)
    require_operator(actor, application.station)
    return captures_store(application, actor=actor, captures=captures, at=at, started=started)


# --- A whole enrolment in one call ------------------------------------------------------


def _audit_entry(actor: Any, action: str, application: Application, **detail: Any) -> AuditEntry:
    """The row ``_common.audit`` writes, kept for one INSERT with the others."""
    return audit_entry(
        actor=actor,
        action=f"enrolment.{action}",
        obj=application,
        unit=application.unit,
        detail={"citizen": application.citizen_id, **detail},
    )


def _timings_write(timings: Sequence[StepTiming]) -> None:
    """Insert the new step timings and update the others in one statement.

    An upsert on (application, step): a row already there keeps its ``started_at`` and
    takes the end, the time, the retries and the exceptions counted here.
    """
    rows = [
        StepTiming(
            application_id=t.application_id,
            step=t.step,
            started_at=t.started_at,
            ended_at=t.ended_at,
            server_ms=t.server_ms,
            retries=t.retries,
            exceptions=t.exceptions,
        )
        for t in timings
    ]
    StepTiming.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["application", "step"],
        update_fields=["ended_at", "server_ms", "retries", "exceptions"],
    )


def _ms(since: float) -> int:
    return max(0, round((time.perf_counter() - since) * 1000))


def application_enrol(**kwargs: Any) -> Application:
    """A whole enrolment at once (see ``application_enrol_created``)."""
    return application_enrol_created(**kwargs)[0]


@transaction.atomic
def application_enrol_created(
    *,
    actor: Any,
    station_id: int,
    citizen_id: int,
    application_id: Any,
    captures: Sequence[CaptureData],
    kind: str | None = None,
    session_id: int | None = None,
    guardian_name: str = "",
    guardian_id_number: str = "",
    corrections: dict[str, Any] | None = None,
    evidence: str = "",
    exceptions: Sequence[dict[str, Any]] = (),
    at: dt.datetime | None = None,
) -> tuple[Application, bool]:
    """A whole enrolment at once: start, confirm, every capture, every step, completion.
    Returns the application and whether this call created it (else it resumed one, or
    found it completed).

    The same checks and the same rows as the step-by-step calls (``application_start``,
    ``application_confirm``, ``capture_record``, ``finger_exception_sign``,
    ``step_complete``), done under one lock: each step's captures checked in order and
    its requirements met before the next one starts, then the images stored and flushed
    together, the captures, audit rows and step timings written in bulk, and the intake
    completed (its dossier received, transferred and appraised) by ``intake.complete``.
    An application started earlier resumes at its current step; a completed one (the
    same UUID sent again) is returned unchanged. ``exceptions``: the arguments of
    ``finger_exception_sign`` (position, reason, supervisor's credentials).
    """
    enrol_started = time.perf_counter()
    at = moment(at)
    application, created = start_or_resume(
        actor=actor,
        station_id=station_id,
        citizen_id=citizen_id,
        application_id=application_id,
        kind=kind,
        session_id=session_id,
        guardian_name=guardian_name,
        guardian_id_number=guardian_id_number,
        at=at,
    )
    if application.status != ApplicationStatus.IN_PROGRESS:
        return application, created  # sent again after it completed: nothing to do
    if not created:
        # Resumed: lock it and check the operator (a new one is this transaction's own
        # row, invisible to others until commit, and its start checked the operator).
        application = application_locked(actor, application.pk)
        require_operator(actor, application.station)
    by_step: dict[str, list[CaptureData]] = {}
    for data in captures:
        if data.kind not in _STEP_OF_KIND:
            raise StepError(_("Unknown kind of capture."))
        by_step.setdefault(_STEP_OF_KIND[data.kind], []).append(data)
    if created:
        # Its start wrote the confirm step's row (started now): no need to read it back.
        # The confirm step's time is counted from the start of this call, the start's
        # own share included, and replaces what the start added to the row.
        timings: dict[str, StepTiming] = {
            Step.CONFIRM: StepTiming(application=application, step=Step.CONFIRM, started_at=at)
        }
    else:
        timings = {t.step: t for t in StepTiming.objects.filter(application=application)}
    state = _Captures(application, fresh=created)
    entries: list[AuditEntry] = []
    fields: set[str] = set()

    def flush() -> None:
        # Images and captures first (an audit row never names a capture not stored).
        state.write()
        audit_record_many(entries)
        entries.clear()
        if fields:
            application.save(update_fields=sorted(fields))
            fields.clear()

    def flush_timings() -> None:
        _timings_write(list(timings.values()))

    done: set[str] = set()
    # A resumed application's confirm row holds the start's time already.
    step_started = enrol_started if created else time.perf_counter()
    while True:
        step = application.step
        if step in done:
            raise StepError(_("Step %(step)s did not complete.") % {"step": step})
        done.add(step)
        timing = timings.get(step)
        if timing is None:  # resumed at a step whose timing a cut left unwritten
            timing = timings[step] = StepTiming(application=application, step=step, started_at=at)
        if step == Step.CONFIRM:
            if not application.confirmed_data:
                snapshot, correction_id = confirmed_data_for(
                    application, actor=actor, corrections=corrections, evidence=evidence
                )
                application.confirmed_data = snapshot
                fields.add("confirmed_data")
                entries.append(
                    _audit_entry(actor, "confirm", application, correction=correction_id)
                )
        else:
            before = len(state.new)
            for data in by_step.pop(step, ()):
                state.add(data, at)
            added = state.new[before:]
            timing.retries += sum(1 for _c, _d, retry in added if retry)
            entries.extend(state.audit_entries(actor, [capture for capture, _d, _r in added]))
            step_exceptions = [
                e for e in exceptions if _STEP_OF_KIND.get(e.get("kind", "rolled")) == step
            ]
            if step_exceptions:
                # The exception service checks the stored attempts and signs on its own
                # lock: write what is pending first, then read back what it added.
                flush()
                flush_timings()
                for exception in step_exceptions:
                    biometric_exception_sign(
                        actor=actor,
                        application_id=application.pk,
                        **{"kind": "rolled", **exception},
                    )
                state = _Captures(application)
                # (by its key: a row this call inserted has no primary key in memory)
                timing.exceptions, timing.server_ms, timing.retries = (
                    StepTiming.objects.filter(application=application, step=step)
                    .values_list("exceptions", "server_ms", "retries")
                    .get()
                )
            missing = missing_requirements(application, step, captures=state.all)
            if missing:
                raise StepError(_("Still missing: %(items)s.") % {"items": ", ".join(missing)})
            entries.append(_audit_entry(actor, "step", application, step=step))
        if timing.ended_at is None:
            timing.ended_at = at
        if step == Step.SIGN:
            break
        nxt = _next_step(application, step)
        if nxt is None:
            break
        application.step = nxt
        fields.add("step")
        if nxt not in timings:
            timings[nxt] = StepTiming(application=application, step=nxt, started_at=at)
        timing.server_ms += _ms(step_started)
        step_started = time.perf_counter()
    if by_step:
        # Captures of a step this citizen skips (a child under 6 gives no biometrics).
        raise StepError(
            _("Captures were sent that this application does not take: %(kinds)s.")
            % {"kinds": ", ".join(sorted({d.kind for ds in by_step.values() for d in ds}))}
        )
    flush()
    application = complete(application, actor=actor, at=at, action=lifecycle.COMPLETE)
    timings[Step.SIGN].server_ms += _ms(step_started)
    flush_timings()
    return application, created


__all__ = [
    "CaptureData",
    "application_enrol",
    "application_enrol_created",
    "captures_record",
    "captures_store",
]
