"""The intake services: start → confirm → captures → steps → completion → dossier."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import translation

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry, DailyRollup, Event
from cancuoc.dossiers.models import Dossier
from cancuoc.enrolment import services
from cancuoc.enrolment.models import (
    Application,
    Capture,
    StepTiming,
)
from cancuoc.registry.models import DocumentStatus, IdentityDocument
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT


@pytest.fixture(autouse=True)
def _biostore(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in their English msgids (the Vietnamese is in the .po).
    with translation.override("en"):
        yield


@pytest.fixture
def citizen_a(world):
    return factories.citizen(unit=world.commune_a, full_name="Đặng Thị Hoa", sex="F")


def start(station, citizen, actor, **kw):
    return services.application_start(
        actor=actor, station_id=station.pk, citizen_id=citizen.pk, at=kw.pop("at", AT), **kw
    )


# --- start ----------------------------------------------------------------------------


def test_start_creates_application_with_confirm_timing_and_audit(station_a, citizen_a, op_a):
    app_id = uuid.uuid4()
    application = start(station_a, citizen_a, op_a, application_id=app_id)
    assert application.pk == app_id
    assert (application.status, application.step) == ("in_progress", "confirm")
    assert (application.kind, application.law) == ("first", "2023")
    assert application.unit_path == station_a.unit_path
    timing = StepTiming.objects.get(application=application)
    assert (timing.step, timing.started_at, timing.ended_at) == ("confirm", AT, None)
    assert AuditEntry.objects.filter(action="enrolment.start", object_id=str(app_id)).count() == 1


def test_same_uuid_twice_returns_the_first_unchanged(station_a, citizen_a, op_a):
    app_id = uuid.uuid4()
    first = start(station_a, citizen_a, op_a, application_id=app_id)
    again = start(
        station_a, citizen_a, op_a, application_id=str(app_id), at=AT + dt.timedelta(minutes=3)
    )
    assert again.pk == first.pk and again.started_at == AT
    assert Application.objects.count() == 1
    assert StepTiming.objects.count() == 1


def test_second_station_gets_open_application_exists_naming_the_first(
    world, station_a, citizen_a, op_a, card_procedures
):
    op_b = ef.operator(world.commune_a, "op_b")
    station_b = ef.station(unit=world.commune_a, operators=[op_b], code="ST-B", name="Trạm B")
    first = start(station_a, citizen_a, op_a)
    with pytest.raises(services.OpenApplicationExists) as err:
        start(station_b, citizen_a, op_b)
    assert "ST-A" in err.value.message and "15/09/2025" in err.value.message
    assert Application.objects.count() == 1
    # Once completed, the error names the dossier.
    ef.walk(first, actor=op_a, until="done")
    code = Application.objects.get(pk=first.pk).dossier.code
    with pytest.raises(services.OpenApplicationExists) as err:
        start(station_b, citizen_a, op_b)
    assert code in err.value.message
    assert Application.objects.count() == 1


def test_start_refuses_non_operator_out_of_scope_and_dead(world, station_a, citizen_a, op_a, bob):
    other_op = ef.operator(world.commune_a, "other")
    with pytest.raises(PermissionDenied):
        start(station_a, citizen_a, other_op)
    op_b = ef.operator(world.commune_b, "op_b")
    with pytest.raises(OutOfScope):
        start(station_a, citizen_a, op_b)
    dead = factories.citizen(unit=world.commune_a, life_status="deceased")
    with pytest.raises(services.EnrolmentError):
        start(station_a, dead, op_a)
    elsewhere = factories.citizen(unit=world.commune_b)
    with pytest.raises(services.EnrolmentError):
        start(station_a, elsewhere, op_a)
    assert Application.objects.count() == 0


def test_age_and_guardian_rules(world, station_a, op_a):
    child = factories.citizen(unit=world.commune_a, birth_date=dt.date(2015, 1, 1))
    with pytest.raises(services.EnrolmentError) as err:
        start(station_a, child, op_a)
    assert "guardian" in err.value.message
    # Under the 2014 law no card before 14, guardian or not.
    with pytest.raises(services.EnrolmentError):
        start(station_a, child, op_a, guardian_name="Nguyễn Văn Bố", at=ef.local(2021, 3, 15))
    application = start(station_a, child, op_a, guardian_name="Nguyễn Văn Bố")
    assert application.guardian_name == "Nguyễn Văn Bố"
    assert Application.objects.count() == 1


def test_kind_is_renew_for_a_valid_chip_card_holder_and_law_by_date(world, station_a, op_a):
    holder = factories.citizen(unit=world.commune_a)
    IdentityDocument.objects.create(
        citizen=holder, province_code="42", kind="cccd_chip", number=holder.id_number
    )
    application = start(station_a, holder, op_a, at=ef.local(2024, 6, 28))
    assert (application.kind, application.law) == ("renew", "2014")


def test_station_lock_refuses_new_work(world, station_a, citizen_a, op_a):
    station_a.last_pull_at = AT - dt.timedelta(days=10)
    station_a.save()
    with pytest.raises(services.StationLocked):
        start(station_a, citizen_a, op_a)
    state = services.station_sync_state(station=station_a, now=AT)
    assert (state.level, state.days_unsynced) == ("refuse", 10)
    station_a.last_pull_at = AT - dt.timedelta(days=3)
    station_a.save()
    assert services.station_sync_state(station=station_a, now=AT).level == "warn"
    start(station_a, citizen_a, op_a)


# --- the whole intake -----------------------------------------------------------------


def test_full_intake_creates_appraised_dossier_event_and_enrolled_document(
    station_a, citizen_a, op_a, card_procedures
):
    application = ef.completed_application(station=station_a, citizen=citizen_a, actor=op_a)
    assert application.status == "completed"
    assert application.completed_at == AT
    dossier = Dossier.objects.get(pk=application.dossier_id)
    assert dossier.procedure.code == "1.012409"
    assert dossier.status == "in_appraisal"
    assert dossier.citizen_id == citizen_a.pk
    assert dossier.fee_status == "exempt" and dossier.fee_exemption_reason == "Cấp thẻ lần đầu"
    steps = dict(StepTiming.objects.filter(application=application).values_list("step", "ended_at"))
    assert steps == {s: AT for s in ("confirm", "fingerprints", "face", "review", "sign")}
    event = Event.objects.get(kind="enrolment.completed")
    assert (event.subject, event.measures, event.day) == ("enrolment", {"enrolled": 1}, AT.date())
    assert DailyRollup.objects.get(measure="enrolled", subject="enrolment").value == 1
    document = IdentityDocument.objects.get(citizen=citizen_a)
    assert (document.kind, document.status) == ("cancuoc", DocumentStatus.ENROLLED)
    assert application.confirmed_data["full_name"] == "Đặng Thị Hoa"
    # 3 slaps + 10 rolled + face + 2 irises + signature, each audited.
    assert Capture.objects.filter(application=application).count() == 17
    assert AuditEntry.objects.filter(action="enrolment.capture").count() == 17


def test_step_complete_checks_requirements_and_double_submit(station_a, citizen_a, op_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="fingerprints"
    )
    with pytest.raises(services.StepError) as err:
        services.step_complete(
            actor=op_a, application_id=application.pk, step="fingerprints", at=AT
        )
    assert "slap LS" in err.value.message and "finger L5" in err.value.message
    # Completing confirm again (double submit) changes nothing.
    again = services.step_complete(actor=op_a, application_id=application.pk, step="confirm", at=AT)
    assert again.step == "fingerprints"
    with pytest.raises(services.StepError):
        services.step_complete(actor=op_a, application_id=application.pk, step="face", at=AT)


def test_capture_double_submit_and_wrong_step(station_a, citizen_a, op_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="fingerprints"
    )
    kw = dict(
        actor=op_a,
        application_id=application.pk,
        kind="rolled",
        position="R1",
        image=ef.png(seed=1),
        content_type="image/png",
        quality=20,
        at=AT,
    )
    first = services.capture_record(attempt=1, **kw)
    again = services.capture_record(attempt=1, **kw)
    assert again.pk == first.pk and not first.accepted
    assert Capture.objects.count() == 1
    with pytest.raises(services.StepError):
        services.capture_record(**{**kw, "kind": "face", "position": ""})


def test_worn_finger_retries_then_supervisor_exception(world, station_a, citizen_a, op_a, sup_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="fingerprints"
    )
    kw = dict(
        actor=op_a,
        application_id=application.pk,
        kind="rolled",
        position="L3",
        content_type="image/png",
        quality=25,
        at=AT,
    )
    sign = dict(
        actor=op_a,
        application_id=application.pk,
        position="L3",
        reason="worn",
        supervisor_username="sup_a",
        supervisor_password=factories.PASSWORD,
        at=AT,
    )
    services.capture_record(image=ef.png(seed=1), **kw)
    with pytest.raises(services.StepError):  # worn: retries first
        services.finger_exception_sign(**sign)
    for seed in (2, 3, 4):  # 1 + 3 retries
        services.capture_record(image=ef.png(seed=seed), **kw)
    with pytest.raises(services.StepError) as err:
        services.capture_record(image=ef.png(seed=5), **kw)
    assert "exception" in err.value.message
    with pytest.raises(PermissionDenied):
        services.finger_exception_sign(**{**sign, "supervisor_password": "wrong"})
    with pytest.raises(PermissionDenied):  # an operator cannot sign
        services.finger_exception_sign(**{**sign, "supervisor_username": "op_a"})
    outsider = ef.supervisor(world.commune_b, "sup_b")
    with pytest.raises(PermissionDenied):
        services.finger_exception_sign(**{**sign, "supervisor_username": outsider.username})
    capture = services.finger_exception_sign(**sign)
    assert (capture.exception, capture.exception_signed_by, capture.blob) == ("worn", sup_a, None)
    assert services.finger_exception_sign(**sign).pk == capture.pk  # double submit
    timing = StepTiming.objects.get(application=application, step="fingerprints")
    assert (timing.retries, timing.exceptions) == (3, 1)
    # Missing fingers are excepted at once.
    missing = services.finger_exception_sign(**{**sign, "position": "R5", "reason": "missing"})
    assert missing.attempt == 1
    assert set(services.missing_requirements(application, "fingerprints")) >= {"finger R1"}


def test_under_six_skips_biometric_steps(world, station_a, op_a, card_procedures):
    toddler = factories.citizen(unit=world.commune_a, birth_date=dt.date(2022, 3, 1))
    application = start(station_a, toddler, op_a, guardian_name="Trần Thị Mẹ")
    application = services.application_confirm(actor=op_a, application_id=application.pk, at=AT)
    assert application.step == "review"
    with pytest.raises(services.StepError):
        services.capture_record(
            actor=op_a,
            application_id=application.pk,
            kind="face",
            position="",
            image=ef.face_png(),
            content_type="image/png",
            quality=95,
            at=AT,
        )
    done = ef.walk(application, actor=op_a, until="done")
    assert done.status == "completed"
    assert not Capture.objects.filter(application=done).exclude(kind="signature").exists()


def test_2014_law_has_no_iris_step_requirement(world, station_a, citizen_a, op_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="face", at=ef.local(2021, 3, 15)
    )
    assert application.law == "2014"
    services.capture_record(
        actor=op_a,
        application_id=application.pk,
        kind="face",
        position="",
        image=ef.face_png(),
        content_type="image/png",
        quality=95,
        at=ef.local(2021, 3, 15),
    )
    with pytest.raises(services.StepError):
        services.capture_record(
            actor=op_a,
            application_id=application.pk,
            kind="iris",
            position="R",
            image=ef.png(),
            content_type="image/png",
            quality=80,
            at=ef.local(2021, 3, 15),
        )
    done = services.step_complete(
        actor=op_a, application_id=application.pk, step="face", at=ef.local(2021, 3, 15)
    )
    assert done.step == "review"


def test_face_below_threshold_is_not_accepted(station_a, citizen_a, op_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="face"
    )
    low = services.capture_record(
        actor=op_a,
        application_id=application.pk,
        kind="face",
        position="",
        image=ef.face_png(),
        content_type="image/png",
        quality=70,
        at=AT,
    )
    assert (low.quality, low.accepted) == (70, False)
    assert "an accepted face photo" in services.missing_requirements(application, "face")


def test_capture_from_device_failure_stores_nothing(station_a, citizen_a, op_a):
    station_a.device_profile = {"adapter": "simulator", "seed": 1, "failure_rate": 1.0}
    station_a.save()
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="fingerprints"
    )
    with pytest.raises(services.StepError):
        services.capture_from_device(
            actor=op_a, application_id=application.pk, kind="rolled", position="R1", at=AT
        )
    assert Capture.objects.count() == 0


def test_capture_from_simulated_device(station_a, citizen_a, op_a):
    station_a.device_profile = {"adapter": "simulator", "seed": 7}
    station_a.save()
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="fingerprints"
    )
    capture = services.capture_from_device(
        actor=op_a, application_id=application.pk, kind="slap", position="LS", at=AT
    )
    assert capture.blob is not None and capture.device.startswith("simulator")
    assert capture.attempt == 1


def test_server_ms_is_recorded_per_step(station_a, citizen_a, op_a, card_procedures):
    application = ef.completed_application(station=station_a, citizen=citizen_a, actor=op_a)
    timings = StepTiming.objects.filter(application=application)
    assert sum(t.server_ms for t in timings) > 0


def test_cancel_in_progress_then_citizen_can_start_again(station_a, citizen_a, op_a):
    application = start(station_a, citizen_a, op_a)
    with pytest.raises(services.EnrolmentError):
        services.application_cancel(actor=op_a, application_id=application.pk, reason=" ")
    services.application_cancel(actor=op_a, application_id=application.pk, reason="Bỏ về")
    assert Application.objects.get(pk=application.pk).status == "cancelled"
    assert start(station_a, citizen_a, op_a).status == "in_progress"


def test_cancel_completed_withdraws_the_dossier(station_a, citizen_a, op_a, card_procedures):
    application = ef.completed_application(station=station_a, citizen=citizen_a, actor=op_a)
    services.application_cancel(actor=op_a, application_id=application.pk, reason="Rút hồ sơ")
    application.refresh_from_db()
    assert application.status == "cancelled"
    assert application.dossier.status == "withdrawn"
    assert IdentityDocument.objects.get(citizen=citizen_a).status == "cancelled"


def test_connection_cut_resumes_with_application_current(station_a, citizen_a, op_a):
    from cancuoc.enrolment import selectors

    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, actor=op_a, until="face"
    )
    current = selectors.application_current(op_a, station_id=station_a.pk)
    assert [a.pk for a in current] == [application.pk]
    assert current[0].step == "face"


def test_supervisor_without_enrol_cannot_start(station_a, citizen_a, sup_a):
    station_a.operators.add(sup_a)
    with pytest.raises(PermissionDenied):
        start(station_a, citizen_a, sup_a)
    assert not Application.objects.exists()


def test_completion_sends_the_signal_once(station_a, citizen_a, op_a, card_procedures):
    from cancuoc.enrolment.signals import enrolment_completed

    received = []

    def receiver(sender, **kwargs):
        received.append((kwargs["application"].pk, kwargs["citizen"].pk, kwargs["at"]))

    enrolment_completed.connect(receiver)
    try:
        application = ef.completed_application(station=station_a, citizen=citizen_a, actor=op_a)
        services.step_complete(actor=op_a, application_id=application.pk, step="sign", at=AT)
    finally:
        enrolment_completed.disconnect(receiver)
    assert received == [(application.pk, citizen_a.pk, AT)]


def test_confirm_with_corrections_proposes_them_with_evidence(station_a, citizen_a, op_a):
    from cancuoc.registry.models import Correction

    application = start(station_a, citizen_a, op_a)
    with pytest.raises(services.EnrolmentError):
        services.application_confirm(
            actor=op_a, application_id=application.pk, corrections={"religion": "Phật giáo"}
        )
    assert not Correction.objects.exists()
    confirmed = services.application_confirm(
        actor=op_a,
        application_id=application.pk,
        corrections={"religion": "Phật giáo"},
        evidence="Giấy xác nhận của chùa",
        at=AT,
    )
    correction = Correction.objects.get()
    assert (correction.status, correction.evidence) == ("pending", "Giấy xác nhận của chùa")
    assert correction.changes == {"religion": {"before": "", "after": "Phật giáo"}}
    assert confirmed.confirmed_data["religion"] == "Phật giáo"
    assert confirmed.confirmed_data["correction_id"] == str(correction.pk)
    assert confirmed.step == "fingerprints"
