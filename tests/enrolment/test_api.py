"""The enrolment API: step by step, the whole enrolment in one request, scope and bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

from cancuoc.dossiers.models import Dossier
from cancuoc.enrolment.models import Application, BiometricBlob, Capture
from tests import factories
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db

B = "/api/v1/enrolment"
FINGERS = ef.FINGERS
SLAPS = ef.SLAPS


@pytest.fixture(autouse=True)
def biometric_store(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "biometrics"
    settings.BIOMETRIC_FSYNC = False


@pytest.fixture
def desk(world):
    """A fixed station of commune A with its operator, and a citizen due for a card."""
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a, "op.a")
    station = ef.station(unit=world.commune_a, operators=[operator], code="TH-01")
    citizen = factories.citizen(unit=world.commune_a, full_name="Nguyễn Thị Hằng")
    client = english()
    client.force_login(operator)
    return type(
        "Desk", (), {"operator": operator, "station": station, "citizen": citizen, "client": client}
    )


def english() -> Client:
    """A client that reads the API's messages in English (the language switch's cookie)."""
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_seed = iter(range(1, 100_000))


def _capture(
    kind: str, position: str = "", *, image: bytes | None = None, quality: int | None = 85
) -> dict[str, Any]:
    if image is None:
        image = ef.face_png(seed=next(_seed)) if kind == "face" else ef.png(seed=next(_seed))
    return {
        "kind": kind,
        "position": position,
        "image": _b64(image),
        "content_type": "image/png",
        "quality": 95 if kind == "face" else quality,
        "device": "simulator:TEST",
    }


def _all_captures() -> list[dict[str, Any]]:
    return (
        [_capture("slap", s) for s in SLAPS]
        + [_capture("rolled", f) for f in FINGERS]
        + [_capture("face"), _capture("iris", "R"), _capture("iris", "L"), _capture("signature")]
    )


def _post(client: Client, path: str, payload: Any) -> Any:
    return client.post(B + path, data=json.dumps(payload), content_type="application/json")


def _complete_payload(desk: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "application_id": str(uuid.uuid4()),
        "station_id": desk.station.pk,
        "citizen_id": desk.citizen.pk,
        "captures": _all_captures(),
        **overrides,
    }


# --- Step by step ----------------------------------------------------------------------------


def test_an_enrolment_step_by_step(desk):
    client = desk.client
    app_id = str(uuid.uuid4())
    started = _post(client, "/applications", {
        "station_id": desk.station.pk, "citizen_id": desk.citizen.pk, "application_id": app_id,
    })  # fmt: skip
    assert started.status_code == 201, started.content
    assert (started.json()["id"], started.json()["step"], started.json()["status"]) == (
        app_id, "confirm", "in_progress",
    )  # fmt: skip
    again = _post(client, "/applications", {
        "station_id": desk.station.pk, "citizen_id": desk.citizen.pk, "application_id": app_id,
    })  # fmt: skip
    assert again.json()["id"] == app_id
    assert Application.objects.count() == 1

    confirmed = _post(client, f"/applications/{app_id}/confirm", {})
    assert confirmed.json()["step"] == "fingerprints"
    assert confirmed.json()["confirmed_data"]["full_name"] == "Nguyễn Thị Hằng"

    fingers = [_capture("slap", s) for s in SLAPS] + [_capture("rolled", f) for f in FINGERS]
    recorded = _post(client, f"/applications/{app_id}/captures", {"captures": fingers})
    assert recorded.status_code == 201, recorded.content
    assert [(c["kind"], c["position"], c["accepted"]) for c in recorded.json()] == [
        ("slap", s, True) for s in SLAPS
    ] + [("rolled", f, True) for f in FINGERS]
    assert all(len(c["digest"]) == 64 for c in recorded.json())
    assert (
        _post(client, f"/applications/{app_id}/steps/fingerprints/complete", {}).json()["step"]
        == "face"
    )
    # The same step again (a double click) changes nothing.
    assert (
        _post(client, f"/applications/{app_id}/steps/fingerprints/complete", {}).json()["step"]
        == "face"
    )

    # Face and irises as multipart files.
    images = [ef.face_png(seed=7), ef.png(seed=8), ef.png(seed=9)]
    meta = [
        {"kind": "face", "quality": 95},
        {"kind": "iris", "position": "R", "quality": 80},
        {"kind": "iris", "position": "L", "quality": 80},
    ]
    from django.core.files.uploadedfile import SimpleUploadedFile

    multipart = client.post(
        f"{B}/applications/{app_id}/captures",
        data={
            "meta": json.dumps(meta),
            "image": [
                SimpleUploadedFile(f"{i}.png", data, content_type="image/png")
                for i, data in enumerate(images)
            ],
        },
    )
    assert multipart.status_code == 201, multipart.content
    assert [c["digest"] for c in multipart.json()] == [
        hashlib.sha256(i).hexdigest() for i in images
    ]
    assert (
        _post(client, f"/applications/{app_id}/steps/face/complete", {}).json()["step"] == "review"
    )
    assert (
        _post(client, f"/applications/{app_id}/steps/review/complete", {}).json()["step"] == "sign"
    )
    _post(client, f"/applications/{app_id}/captures", {"captures": [_capture("signature")]})
    done = _post(client, f"/applications/{app_id}/steps/sign/complete", {})
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "completed"
    assert body["dossier_code"] == Dossier.objects.get().code
    assert [s["step"] for s in body["steps"]] == [
        "confirm",
        "fingerprints",
        "face",
        "review",
        "sign",
    ]
    assert all(s["ended_at"] for s in body["steps"])
    assert len(body["captures"]) == 17
    assert client.get(f"{B}/applications/{app_id}").json() == {**body}


def test_a_device_capture_and_the_current_list_for_resuming(desk):
    client = desk.client
    app_id = str(uuid.uuid4())
    _post(client, "/applications", {
        "station_id": desk.station.pk, "citizen_id": desk.citizen.pk, "application_id": app_id,
    })  # fmt: skip
    _post(client, f"/applications/{app_id}/confirm", {})
    answer = _post(
        client, f"/applications/{app_id}/captures/device", {"kind": "rolled", "position": "R1"}
    )
    assert answer.status_code == 201, answer.content
    assert (answer.json()["kind"], answer.json()["position"], answer.json()["attempt"]) == (
        "rolled",
        "R1",
        1,
    )
    assert answer.json()["captured_at"]
    current = client.get(f"{B}/stations/{desk.station.pk}/current").json()
    assert [(a["id"], a["step"]) for a in current] == [(app_id, "fingerprints")]


def test_an_application_is_cancelled_with_a_reason(desk):
    client = desk.client
    app_id = str(uuid.uuid4())
    _post(client, "/applications", {
        "station_id": desk.station.pk, "citizen_id": desk.citizen.pk, "application_id": app_id,
    })  # fmt: skip
    assert _post(client, f"/applications/{app_id}/cancel", {"reason": ""}).status_code == 422
    cancelled = _post(client, f"/applications/{app_id}/cancel", {"reason": "Công dân về sớm"})
    assert cancelled.json()["status"] == "cancelled"


# --- The whole enrolment in one request -----------------------------------------------------


def test_a_whole_enrolment_in_one_request_and_again_changes_nothing(desk):
    payload = _complete_payload(desk)
    answer = _post(desk.client, "/applications/complete", payload)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["id"], body["status"], body["step"]) == (
        payload["application_id"],
        "completed",
        "sign",
    )
    application = Application.objects.get()
    assert body["dossier_id"] == application.dossier_id == Dossier.objects.get().pk
    assert application.captures.count() == 17
    assert application.steps.filter(ended_at__isnull=False).count() == 5

    again = _post(desk.client, "/applications/complete", payload)
    assert again.status_code == 200
    assert again.json() == body
    assert Application.objects.count() == 1
    assert Capture.objects.count() == 17
    assert Dossier.objects.count() == 1


def test_a_second_open_application_for_the_citizen_is_refused_naming_the_first(desk):
    first = _post(desk.client, "/applications/complete", _complete_payload(desk))
    assert first.status_code == 201
    second = _post(desk.client, "/applications/complete", _complete_payload(desk))
    assert second.status_code == 400
    assert Dossier.objects.get().code in second.json()["detail"]
    assert Application.objects.count() == 1


def test_the_one_request_enrolment_of_a_toddler_takes_no_biometrics(desk, world):
    import datetime as dt

    toddler = factories.citizen(unit=world.commune_a, birth_date=dt.date(2022, 3, 1))
    payload = _complete_payload(
        desk, citizen_id=toddler.pk, guardian_name="Nguyễn Văn Bố", captures=[_capture("signature")]
    )
    answer = _post(desk.client, "/applications/complete", payload)
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "completed"
    refused = _post(desk.client, "/applications/complete", _complete_payload(
        desk, citizen_id=factories.citizen(unit=world.commune_a, birth_date=dt.date(2022, 4, 1)).pk,
        guardian_name="Trần Thị Mẹ",
    ))  # fmt: skip
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Captures were sent that this application does not take: "
        "face, iris, rolled, slap."
    }
    assert Application.objects.count() == 1


# --- Auth and scope ----------------------------------------------------------------------------


def test_another_units_officer_sees_and_changes_nothing(desk, bob):
    done = _post(desk.client, "/applications/complete", _complete_payload(desk))
    app_id = done.json()["id"]
    client = english()
    client.force_login(bob)
    assert client.get(f"{B}/applications/{app_id}").status_code == 404
    assert client.get(f"{B}/stations/{desk.station.pk}").status_code == 404
    assert client.get(f"{B}/stations").json()["items"] == []
    citizen = factories.citizen(unit=desk.station.unit)
    refused = _post(
        client, "/applications/complete", _complete_payload(desk, citizen_id=citizen.pk)
    )
    assert refused.status_code in (403, 404)
    assert Application.objects.count() == 1
    assert _post(client, f"/applications/{app_id}/cancel", {"reason": "x"}).status_code == 404
    assert Application.objects.get().status == "completed"


def test_an_operator_of_another_station_cannot_enrol_here(desk, world):
    stranger = ef.operator(world.commune_a, "op.other")
    ef.station(unit=world.commune_a, operators=[stranger], code="TH-02")
    client = english()
    client.force_login(stranger)
    answer = _post(client, "/applications/complete", _complete_payload(desk))
    assert answer.status_code == 403
    assert "TH-01" in answer.json()["detail"]
    assert Application.objects.count() == 0
    assert BiometricBlob.objects.count() == 0


def test_anonymous_callers_are_refused(desk):
    assert Client().get(f"{B}/stations").status_code == 401
    assert _post(Client(), "/applications/complete", _complete_payload(desk)).status_code == 401
    assert Application.objects.count() == 0


def test_stations_list_and_detail_show_the_sync_state(desk, alice, world):
    ef.station(unit=world.commune_b, code="CX-01")
    client = english()
    client.force_login(alice)
    listed = client.get(f"{B}/stations").json()
    assert [s["code"] for s in listed["items"]] == ["TH-01"]
    detail = client.get(f"{B}/stations/{desk.station.pk}").json()
    assert detail["operators"] == ["op.a"]
    assert detail["sync"] == {"level": "ok", "days_unsynced": 0, "unsent": 0, "message": ""}


# --- Bad input -----------------------------------------------------------------------------


def test_a_corrupted_image_refuses_the_whole_request_and_stores_nothing(desk):
    payload = _complete_payload(desk)
    damaged = ef.png(seed=4242)[:-30]
    payload["captures"][5] = _capture("rolled", FINGERS[2], image=damaged)
    answer = _post(desk.client, "/applications/complete", payload)
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "The image is corrupted or not in a supported format (PNG, JPEG or WSQ)."
    }
    assert Application.objects.count() == 0
    assert Capture.objects.count() == 0
    assert Dossier.objects.count() == 0


def test_one_bad_capture_in_a_batch_stores_none_of_them(desk):
    app_id = str(uuid.uuid4())
    _post(desk.client, "/applications", {
        "station_id": desk.station.pk, "citizen_id": desk.citizen.pk, "application_id": app_id,
    })  # fmt: skip
    _post(desk.client, f"/applications/{app_id}/confirm", {})
    batch = [_capture("slap", "LS"), _capture("slap", "RS", image=b"\x89PNG not really")]
    answer = _post(desk.client, f"/applications/{app_id}/captures", {"captures": batch})
    assert answer.status_code == 400
    assert Capture.objects.count() == 0
    bad_base64 = {**_capture("slap", "LS"), "image": "%%% not base64 %%%"}
    answer = _post(desk.client, f"/applications/{app_id}/captures", {"captures": [bad_base64]})
    assert answer.status_code == 400
    assert answer.json() == {"detail": "An image is not valid base64."}
    assert Capture.objects.count() == 0


def test_an_oversized_upload_gets_a_clear_error_and_nothing_is_stored(desk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000
    answer = _post(desk.client, "/applications/complete", _complete_payload(
        desk, captures=[*_all_captures(), _capture("rolled", "R1", image=b"\x00" * 200000)]
    ))  # fmt: skip
    assert answer.status_code == 413
    assert answer.json() == {"detail": "The upload is too large (at most 0.2 MB per request)."}
    assert Application.objects.count() == 0


def test_an_image_above_the_biometric_limit_is_refused(desk, settings):
    settings.BIOMETRIC_MAX_BYTES = 300
    answer = _post(desk.client, "/applications/complete", _complete_payload(desk))
    assert answer.status_code == 400
    assert "300" in answer.json()["detail"]
    assert Application.objects.count() == 0


def test_bad_identifiers_are_clear_errors(desk):
    assert desk.client.get(f"{B}/applications/not-a-uuid").status_code == 404
    assert desk.client.get(f"{B}/applications/{uuid.uuid4()}").status_code == 404
    malformed = _post(
        desk.client, "/applications/complete", {**_complete_payload(desk), "application_id": "xyz"}
    )
    assert malformed.status_code == 422
    assert "application_id" in malformed.json()["detail"]
    unknown = _post(
        desk.client, "/applications/complete", _complete_payload(desk, citizen_id=999_999)
    )
    assert unknown.status_code == 400
    assert Application.objects.count() == 0


# --- Blobs ------------------------------------------------------------------------------------


def test_a_blob_upload_is_idempotent_and_checked_against_its_digest(desk):
    image = ef.png(seed=99)
    digest = hashlib.sha256(image).hexdigest()
    client = desk.client
    missing = _post(client, "/blobs/missing", {"digests": [digest, "nonsense"]})
    assert missing.json() == {"missing": [digest]}
    wrong = client.put(f"{B}/blobs/{'0' * 64}", data=image, content_type="image/png")
    assert wrong.status_code == 400
    assert BiometricBlob.objects.count() == 0
    first = client.put(f"{B}/blobs/{digest}", data=image, content_type="image/png")
    assert first.status_code == 201
    assert first.json() == {"digest": digest, "size": len(image), "content_type": "image/png"}
    assert (
        client.put(f"{B}/blobs/{digest}", data=image, content_type="image/png").status_code == 200
    )
    assert BiometricBlob.objects.count() == 1
    assert _post(client, "/blobs/missing", {"digests": [digest]}).json() == {"missing": []}


def test_people_without_the_enrol_capability_cannot_upload_blobs(alice):
    client = english()
    client.force_login(alice)
    image = ef.png(seed=98)
    digest = hashlib.sha256(image).hexdigest()
    assert (
        client.put(f"{B}/blobs/{digest}", data=image, content_type="image/png").status_code == 403
    )
    assert BiometricBlob.objects.count() == 0


# --- The schema -------------------------------------------------------------------------------


def test_the_enrolment_endpoints_are_in_a_valid_openapi_schema(world):
    schema = Client().get("/api/v1/openapi.json").json()
    validate(schema)
    paths = set(schema["paths"])
    assert {
        "/api/v1/enrolment/stations",
        "/api/v1/enrolment/applications",
        "/api/v1/enrolment/applications/complete",
        "/api/v1/enrolment/stations/{code}/pull",
        "/api/v1/enrolment/stations/{code}/push",
        "/api/v1/enrolment/blobs/{digest}",
    } <= paths
    body = schema["paths"]["/api/v1/enrolment/applications/complete"]["post"]["requestBody"]
    assert "captures" in body["content"]["application/json"]["schema"]["properties"]
