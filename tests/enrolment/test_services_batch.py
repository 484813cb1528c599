"""Captures in batches and the whole enrolment in one call (services/batch.py).

The batch services must write exactly the rows the one-by-one services write, keep
their idempotency, and store nothing when one capture of the batch is refused.
"""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation

from cancuoc.core.models import AuditEntry, Event
from cancuoc.dossiers.models import Dossier, DossierTransition
from cancuoc.enrolment import biostore, services
from cancuoc.enrolment.models import Application, BiometricBlob, Capture, StepTiming
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT


@pytest.fixture(autouse=True)
def _biostore(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _fingerprints(seed: int, *, worn: str = "", skip: str = "") -> list[services.CaptureData]:
    """3 slaps and 10 rolled prints; ``worn`` gets 4 poor attempts, ``skip`` none."""
    batch = [
        services.CaptureData(kind="slap", position=p, image=ef.png(seed=seed + i), quality=80)
        for i, p in enumerate(ef.SLAPS)
    ]
    for i, finger in enumerate(ef.FINGERS):
        if finger == skip:
            continue
        tries = 4 if finger == worn else 1
        for t in range(tries):
            batch.append(
                services.CaptureData(
                    kind="rolled",
                    position=finger,
                    image=ef.png(seed=seed + 10 + i * 5 + t),
                    quality=25 if finger == worn else 80,
                    device="test",
                )
            )
    return batch


def _rows(application: Application) -> list[tuple]:
    return list(
        Capture.objects.filter(application=application)
        .order_by("pk")
        .values_list("kind", "position", "attempt", "quality", "accepted", "device", "captured_at")
    )


def _audits(application: Application) -> list[tuple]:
    out = []
    for entry in AuditEntry.objects.filter(object_id=str(application.pk)).order_by("pk"):
        detail = {k: v for k, v in entry.detail.items() if k not in ("digest", "citizen")}
        out.append((entry.action, entry.actor_label, entry.unit_path, detail))
    return out


def test_a_batch_writes_exactly_the_rows_of_captures_one_by_one(station_a, op_a):
    one = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    batch = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    for data in _fingerprints(1000, worn="L3"):
        services.capture_record(
            actor=op_a,
            application_id=one.pk,
            kind=data.kind,
            position=data.position,
            image=data.image,
            content_type=data.content_type,
            quality=data.quality,
            device=data.device,
            at=AT,
        )
    made = services.captures_record(
        actor=op_a, application_id=batch.pk, captures=_fingerprints(5000, worn="L3"), at=AT
    )
    assert len(made) == 16 and all(c.pk for c in made)
    assert _rows(batch) == _rows(one)
    assert [a for a in _audits(batch) if a[0] == "enrolment.capture"] == [
        a for a in _audits(one) if a[0] == "enrolment.capture"
    ]
    timing = StepTiming.objects.get(application=batch, step="fingerprints")
    assert timing.retries == 3 and timing.server_ms > 0
    # Every image stored, encrypted, under its digest, and named by its audit row.
    for capture in made:
        blob = BiometricBlob.objects.get(pk=capture.blob_id)
        assert blob.content_type == "image/png"
        assert not biostore.blob_path(blob.digest).read_bytes().startswith(b"\x89PNG")
    digests = {
        e.detail["digest"]
        for e in AuditEntry.objects.filter(action="enrolment.capture", object_id=str(batch.pk))
    }
    assert digests == {c.blob_id for c in made}
    image = biostore.blob_read(actor=op_a, digest=made[0].blob_id, purpose="test")
    assert image == ef.png(seed=5000)


def test_a_batch_sent_twice_changes_nothing(station_a, op_a):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    batch = [
        services.CaptureData(kind="rolled", position=f, image=ef.png(seed=i), quality=80, attempt=1)
        for i, f in enumerate(ef.FINGERS)
    ]
    first = services.captures_record(
        actor=op_a, application_id=application.pk, captures=batch, at=AT
    )
    audits = AuditEntry.objects.count()
    # The same batch again, and a batch repeating one of its captures inside it.
    again = services.captures_record(
        actor=op_a, application_id=application.pk, captures=batch + batch[:1], at=AT
    )
    assert [c.pk for c in again] == [c.pk for c in first] + [first[0].pk]
    assert Capture.objects.filter(application=application).count() == 10
    assert AuditEntry.objects.count() == audits
    assert BiometricBlob.objects.count() == 10


def test_a_corrupted_image_in_the_batch_stores_nothing(station_a, op_a, settings):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    batch = _fingerprints(100)
    batch[5] = services.CaptureData(
        kind="rolled", position=batch[5].position, image=ef.png(seed=1)[:-20], quality=80
    )
    audits = AuditEntry.objects.count()
    with pytest.raises(biostore.BiometricRejected):
        services.captures_record(actor=op_a, application_id=application.pk, captures=batch, at=AT)
    assert Capture.objects.count() == 0
    assert BiometricBlob.objects.count() == 0
    assert AuditEntry.objects.count() == audits
    root = settings.BIOMETRIC_ROOT
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
    # An oversized one too.
    settings.BIOMETRIC_MAX_BYTES = 100
    with pytest.raises(biostore.BiometricRejected):
        services.captures_record(
            actor=op_a, application_id=application.pk, captures=_fingerprints(200), at=AT
        )
    assert Capture.objects.count() == 0


def test_a_batch_keeps_the_rules_of_one_capture_at_a_time(station_a, op_a, bob):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    worn = [
        services.CaptureData(kind="rolled", position="L3", image=ef.png(seed=s), quality=25)
        for s in range(5)
    ]
    with pytest.raises(services.StepError) as err:  # the 5th attempt: retries used up
        services.captures_record(actor=op_a, application_id=application.pk, captures=worn, at=AT)
    assert "used up its retries" in err.value.message
    assert Capture.objects.count() == 0
    face = [services.CaptureData(kind="face", image=ef.face_png(), quality=95)]
    with pytest.raises(services.StepError):  # not the current step
        services.captures_record(actor=op_a, application_id=application.pk, captures=face, at=AT)
    from cancuoc.core.errors import OutOfScope

    with pytest.raises(OutOfScope):  # another commune's clerk
        services.captures_record(actor=bob, application_id=application.pk, captures=worn[:1], at=AT)
    assert Capture.objects.count() == 0


def _all_captures(seed: int, **kw: str) -> list[services.CaptureData]:
    return [
        *_fingerprints(seed, **kw),
        services.CaptureData(kind="face", image=ef.face_png(seed), quality=95),
        services.CaptureData(kind="iris", position="R", image=ef.png(seed=seed + 90), quality=80),
        services.CaptureData(kind="iris", position="L", image=ef.png(seed=seed + 91), quality=80),
        services.CaptureData(kind="signature", image=ef.png(seed=seed + 92)),
    ]


def test_a_whole_enrolment_in_one_call_writes_what_the_steps_write(
    world, station_a, op_a, card_procedures
):
    by_steps = ef.completed_application(station=station_a, actor=op_a)
    citizen = factories.citizen(unit=world.commune_a)
    app_id = uuid.uuid4()
    application = services.application_enrol(
        actor=op_a,
        station_id=station_a.pk,
        citizen_id=citizen.pk,
        application_id=app_id,
        captures=_all_captures(7000),
        at=AT,
    )
    assert application.pk == app_id and application.status == "completed"
    assert application.step == "sign" and application.completed_at == AT
    assert application.confirmed_data["id_number"] == citizen.id_number
    assert len(_rows(application)) == len(_rows(by_steps)) == 17
    assert [a[0] for a in _audits(application)] == [a[0] for a in _audits(by_steps)]
    steps = StepTiming.objects.filter(application=application).order_by("pk")
    assert [(s.step, s.started_at, s.ended_at) for s in steps] == [
        (s, AT, AT) for s in ("confirm", "fingerprints", "face", "review", "sign")
    ]
    dossier = Dossier.objects.get(pk=application.dossier_id)
    assert dossier.status == "in_appraisal" and dossier.citizen_id == citizen.pk
    assert list(
        DossierTransition.objects.filter(dossier=dossier).values_list("action", flat=True)
    ) == ["receive", "transfer", "appraise"]
    assert Event.objects.filter(kind="enrolment.completed").count() == 2
    # The same UUID again: nothing new.
    counts = (Capture.objects.count(), AuditEntry.objects.count(), Dossier.objects.count())
    again = services.application_enrol(
        actor=op_a,
        station_id=station_a.pk,
        citizen_id=citizen.pk,
        application_id=app_id,
        captures=_all_captures(7000),
        at=AT,
    )
    assert again.pk == app_id and again.status == "completed"
    assert (Capture.objects.count(), AuditEntry.objects.count(), Dossier.objects.count()) == counts


def test_a_whole_enrolment_with_a_signed_exception_and_a_refused_second_one(
    world, station_a, op_a, sup_a, card_procedures
):
    citizen = factories.citizen(unit=world.commune_a)
    application = services.application_enrol(
        actor=op_a,
        station_id=station_a.pk,
        citizen_id=citizen.pk,
        application_id=uuid.uuid4(),
        captures=_all_captures(8000, worn="L3", skip="R5"),
        exceptions=[
            {
                "position": "R5",
                "reason": "missing",
                "supervisor_username": "sup_a",
                "supervisor_password": factories.PASSWORD,
            },
            {
                "position": "L3",
                "reason": "worn",
                "supervisor_username": "sup_a",
                "supervisor_password": factories.PASSWORD,
            },
        ],
        at=AT,
    )
    assert application.status == "completed"
    timing = StepTiming.objects.get(application=application, step="fingerprints")
    assert (timing.retries, timing.exceptions) == (3, 2)
    excepted = Capture.objects.filter(application=application).exclude(exception="")
    assert sorted(excepted.values_list("position", "exception", "exception_signed_by")) == [
        ("L3", "worn", sup_a.pk),
        ("R5", "missing", sup_a.pk),
    ]
    # The citizen holds an open application: a second enrolment elsewhere changes nothing.
    other = ef.station(unit=world.commune_a, operators=[op_a], code="ST-B")
    counts = (Application.objects.count(), Capture.objects.count(), AuditEntry.objects.count())
    with pytest.raises(services.OpenApplicationExists):
        services.application_enrol(
            actor=op_a,
            station_id=other.pk,
            citizen_id=citizen.pk,
            application_id=uuid.uuid4(),
            captures=_all_captures(9000),
            at=AT,
        )
    assert (
        Application.objects.count(),
        Capture.objects.count(),
        AuditEntry.objects.count(),
    ) == counts


def test_a_whole_enrolment_missing_a_finger_stores_nothing(world, station_a, op_a, card_procedures):
    citizen = factories.citizen(unit=world.commune_a)
    with pytest.raises(services.StepError) as err:
        services.application_enrol(
            actor=op_a,
            station_id=station_a.pk,
            citizen_id=citizen.pk,
            application_id=uuid.uuid4(),
            captures=_all_captures(9500, skip="R5"),
            at=AT,
        )
    assert err.value.message == "Still missing: finger R5."
    assert Application.objects.count() == 0 and Capture.objects.count() == 0
    assert BiometricBlob.objects.count() == 0
