"""Offline pushes: created, duplicate, conflict; conflicts resolved by a supervisor."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import translation

from cancuoc.core.errors import PermissionDenied
from cancuoc.core.models import Event
from cancuoc.enrolment import biostore, services
from cancuoc.enrolment.models import Application, Capture, StepTiming
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT
PUSHED = AT + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    ef.load_card_procedures()


@pytest.fixture
def station_a(world, op_a):
    return ef.station(unit=world.commune_a, operators=[op_a], code="ST-M", kind="mobile")


def record(citizen, *, app_id=None, signer="sup_a"):
    rec = _record(citizen, app_id=app_id, signer=signer)
    rec["captures"] = ef.complete_capture_rows(rec["captures"], digest=rec["_filler"], at=AT)
    del rec["_filler"]
    return rec


def _record(citizen, *, app_id=None, signer="sup_a"):
    digests = []
    for seed in range(4):
        blob = biostore.blob_put(
            image=ef.png(seed=900 + seed), content_type="image/png", province_code="42"
        )
        digests.append(blob.digest)
    steps = [
        {
            "step": step,
            "started_at": (AT + dt.timedelta(minutes=n)).isoformat(),
            "ended_at": (AT + dt.timedelta(minutes=n + 1)).isoformat(),
            "server_ms": 40,
            "retries": 1 if step == "fingerprints" else 0,
            "exceptions": 1 if step == "fingerprints" else 0,
        }
        for n, step in enumerate(("confirm", "fingerprints", "face", "review", "sign"))
    ]
    return {
        "_filler": digests[3],
        "format": 1,
        "id": str(app_id or uuid.uuid4()),
        "citizen_id": citizen.pk,
        "id_number": citizen.id_number,
        "session_id": None,
        "operator": "op_a",
        "kind": "first",
        "law": "2023",
        "guardian_name": "",
        "guardian_id_number": "",
        "confirmed_data": {"full_name": citizen.full_name, "id_number": citizen.id_number},
        "started_at": AT.isoformat(),
        "completed_at": (AT + dt.timedelta(minutes=5)).isoformat(),
        "note": "",
        "steps": steps,
        "captures": [
            {
                "kind": "face",
                "position": "",
                "attempt": 1,
                "quality": 96,
                "accepted": True,
                "digest": digests[0],
                "exception": "",
                "exception_signed_by": None,
                "device": "simulator:CAM",
                "captured_at": AT.isoformat(),
            },
            {
                "kind": "rolled",
                "position": "L3",
                "attempt": 1,
                "quality": None,
                "accepted": False,
                "digest": None,
                "exception": "missing",
                "exception_signed_by": signer,
                "device": "",
                "captured_at": AT.isoformat(),
            },
            {
                "kind": "signature",
                "position": "",
                "attempt": 1,
                "quality": None,
                "accepted": True,
                "digest": digests[2],
                "exception": "",
                "exception_signed_by": None,
                "device": "simulator:SIG",
                "captured_at": AT.isoformat(),
            },
        ],
    }


def test_ingest_creates_then_duplicates(world, station_a, op_a, sup_a):
    citizen = factories.citizen(unit=world.commune_a)
    rec = record(citizen)
    result = services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert result.status == "created" and str(result.application_id) == rec["id"]
    application = Application.objects.get(pk=rec["id"])
    assert (application.status, application.offline) == ("completed", True)
    assert application.completed_at == AT + dt.timedelta(minutes=5)
    assert application.dossier.status == "in_appraisal"
    assert Capture.objects.filter(application=application).count() == 17
    assert StepTiming.objects.filter(application=application).count() == 5
    assert Event.objects.get(kind="enrolment.completed").day == AT.date()
    again = services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert again.status == "duplicate"
    assert Application.objects.count() == 1 and Capture.objects.count() == 17


def test_ingest_conflict_is_stored_and_resolved(world, station_a, op_a, sup_a):
    citizen = factories.citizen(unit=world.commune_a)
    op_b = ef.operator(world.commune_a, "op_b")
    fixed = ef.station(unit=world.commune_a, operators=[op_b], code="ST-F")
    online = ef.in_progress_application(station=fixed, citizen=citizen, actor=op_b)
    rec = record(citizen)
    result = services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert result.status == "conflict"
    conflict = Application.objects.get(pk=rec["id"])
    assert (conflict.status, conflict.conflict_with_id) == ("conflict", online.pk)
    assert conflict.dossier_id is None
    with pytest.raises(PermissionDenied):
        services.application_resolve_conflict(actor=op_a, application_id=conflict.pk, keep=True)
    with pytest.raises(services.OpenApplicationExists) as err:
        services.application_resolve_conflict(
            actor=sup_a, application_id=conflict.pk, keep=True, at=PUSHED
        )
    assert "ST-F" in err.value.message
    services.application_cancel(actor=op_b, application_id=online.pk, reason="Trùng", at=PUSHED)
    kept = services.application_resolve_conflict(
        actor=sup_a, application_id=conflict.pk, keep=True, note="Giữ bản ngoại tuyến", at=PUSHED
    )
    assert kept.status == "completed" and kept.dossier is not None
    assert "Giữ bản ngoại tuyến" in kept.note


def test_conflict_discarded_stays_on_record(world, station_a, sup_a):
    citizen = factories.citizen(unit=world.commune_a)
    op_b = ef.operator(world.commune_a, "op_b")
    fixed = ef.station(unit=world.commune_a, operators=[op_b], code="ST-F")
    ef.in_progress_application(station=fixed, citizen=citizen, actor=op_b)
    rec = record(citizen)
    services.application_ingest(station=station_a, record=rec, at=PUSHED)
    dropped = services.application_resolve_conflict(
        actor=sup_a, application_id=rec["id"], keep=False, note="Đã thu nhận tại trạm cố định"
    )
    assert dropped.status == "cancelled"
    assert Application.objects.count() == 2


def test_ingest_refuses_missing_images_and_unknown_operator(world, station_a):
    citizen = factories.citizen(unit=world.commune_a)
    rec = record(citizen)
    rec["captures"][0]["digest"] = "0" * 64
    with pytest.raises(services.EnrolmentError):
        services.application_ingest(station=station_a, record=rec, at=PUSHED)
    rec = record(citizen)
    rec["operator"] = "nobody"
    with pytest.raises(services.EnrolmentError):
        services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert Application.objects.count() == 0


def test_ingest_that_cannot_make_its_dossier_is_kept_as_conflict(
    world, station_a, sup_a, monkeypatch
):
    from cancuoc.enrolment.services import intake

    monkeypatch.setitem(intake.PROCEDURES, ("2023", "first"), "9.999999")  # not in the catalogue
    citizen = factories.citizen(unit=world.commune_a)
    rec = record(citizen)
    result = services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert result.status == "conflict"
    kept = Application.objects.get(pk=rec["id"])
    assert kept.status == "conflict" and "9.999999" in kept.note
    assert Capture.objects.filter(application=kept).count() == 17


def test_an_incomplete_or_unlawful_offline_record_waits_for_a_supervisor(world, station_a, sup_a):
    # The laptop's own checks are trusted for nothing: the server re-checks the record.
    citizen = factories.citizen(unit=world.commune_a)
    rec = record(citizen)
    rec["captures"] = [c for c in rec["captures"] if c["kind"] != "iris"]
    result = services.application_ingest(station=station_a, record=rec, at=PUSHED)
    assert result.status == "conflict"
    kept = Application.objects.get(pk=rec["id"])
    assert (kept.status, kept.dossier_id) == ("conflict", None)
    with translation.override("en"):
        assert "is incomplete" in kept.note and "R" in kept.note
    assert Capture.objects.filter(application=kept).count() == 15  # nothing dropped
    child = factories.citizen(unit=world.commune_a, birth_date=dt.date(2015, 1, 1))
    young = record(child)
    result = services.application_ingest(station=station_a, record=young, at=PUSHED)
    assert result.status == "conflict"
    assert "guardian" in Application.objects.get(pk=young["id"]).note.lower() or (
        "giám hộ" in Application.objects.get(pk=young["id"]).note
    )
