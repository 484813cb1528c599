"""Offline stations: signed, idempotent, resumable pushes; the pulled slice; sync limits.

Most tests run the station's push loop (``offline.push.push_run``) against the real API
through Django's test client, with an in-memory outbox of serialized records standing
for the laptop's database. One test runs real station processes against a live server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from cancuoc.core.models import Event
from cancuoc.dossiers.models import Dossier
from cancuoc.enrolment import services
from cancuoc.enrolment.models import Application, BiometricBlob, Capture, PushBatch, Station
from cancuoc.enrolment.offline import pull
from cancuoc.enrolment.offline.outbox import StationOutbox, application_record
from cancuoc.enrolment.offline.push import batch_body, push_run
from cancuoc.enrolment.offline.signing import SIGNATURE_HEADER, body_sign, token_key
from cancuoc.enrolment.offline.transport import DjangoClientTransport, TransportError
from cancuoc.registry.models import DocumentStatus, IdentityDocument
from tests import factories
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db

PUSH_URL = "/api/v1/enrolment/stations/{code}/push"


@pytest.fixture(autouse=True)
def biometric_store(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "biometrics"
    settings.BIOMETRIC_FSYNC = False


class Field:
    """One offline station in commune A, its operator and its live token."""

    def __init__(self, world: Any) -> None:
        ef.load_card_procedures()
        self.world = world
        self.operator = ef.operator(world.commune_a, "op.thachha")
        self.supervisor = ef.supervisor(world.commune_a, "sup.thachha")
        station = ef.station(
            unit=world.commune_a, operators=[self.operator], code="MOB-A", kind="mobile"
        )
        self.station, self.token = services.station_token_issue(
            actor=self.supervisor, station_id=station.pk
        )
        self.seed = 0

    def transport(self, token: str | None = None) -> DjangoClientTransport:
        return DjangoClientTransport(client=english(), token=token or self.token)

    def record(self, *, citizen: Any = None, captures: int = 2) -> tuple[dict, dict[str, bytes]]:
        """A completed offline enrolment as the station serializes it, with its images."""
        citizen = citizen or factories.citizen(unit=self.world.commune_a)
        start = ef.AT + dt.timedelta(minutes=7 * self.seed)
        images: dict[str, bytes] = {}
        rows = []
        kinds = [("face", ""), ("signature", ""), ("rolled", "R1"), ("rolled", "R2")]
        for kind, position in kinds[:captures]:
            self.seed += 1
            image = ef.png(seed=self.seed)
            digest = _sha(image)
            images[digest] = image
            rows.append(
                {
                    "kind": kind,
                    "position": position,
                    "attempt": 1,
                    "quality": 95,
                    "accepted": True,
                    "digest": digest,
                    "exception": "",
                    "exception_signed_by": None,
                    "device": "simulator:T-1",
                    "captured_at": (start + dt.timedelta(minutes=2)).isoformat(),
                }
            )
        steps = [
            {
                "step": step,
                "started_at": (start + dt.timedelta(minutes=i)).isoformat(),
                "ended_at": (start + dt.timedelta(minutes=i + 1)).isoformat(),
                "server_ms": 12,
                "retries": 0,
                "exceptions": 0,
            }
            for i, step in enumerate(("confirm", "fingerprints", "face", "review", "sign"))
        ]
        record = {
            "format": 1,
            "id": str(uuid.uuid4()),
            "citizen_id": citizen.pk,
            "id_number": citizen.id_number,
            "session_id": None,
            "operator": self.operator.username,
            "kind": "first",
            "law": "2023",
            "guardian_name": "",
            "guardian_id_number": "",
            "confirmed_data": {"full_name": citizen.full_name, "id_number": citizen.id_number},
            "started_at": start.isoformat(),
            "completed_at": (start + dt.timedelta(minutes=5)).isoformat(),
            "note": "",
            "steps": steps,
            "captures": rows,
        }
        # The rest of a complete intake shares one image, so uploads stay small.
        self.seed += 1
        filler = ef.png(seed=10_000 + self.seed)
        images[_sha(filler)] = filler
        record["captures"] = ef.complete_capture_rows(
            rows, digest=_sha(filler), at=start + dt.timedelta(minutes=2)
        )
        return record, images


def english() -> Client:
    """A client that reads the API's messages in English (the language switch's cookie)."""
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class MemoryOutbox:
    """The station's outbox in memory: what survives a killed process survives here."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.images: dict[str, bytes] = {}
        self.sent: set[str] = set()
        self._pending: tuple[str, bytes] | None = None

    def add(self, record: dict, images: dict[str, bytes]) -> None:
        self.records.append(record)
        self.images.update(images)

    def unsent(self, *, limit: int) -> list[dict]:
        return [r for r in self.records if r["id"] not in self.sent][:limit]

    def blob(self, digest: str) -> tuple[bytes, str]:
        return self.images[digest], "image/png"

    def acked(self, ids, *, at) -> None:  # type: ignore[no-untyped-def]
        self.sent.update(ids)

    def pending(self) -> tuple[str, bytes] | None:
        return self._pending

    def pending_set(self, batch_id: str, body: bytes) -> None:
        self._pending = (batch_id, body)

    def pending_clear(self) -> None:
        self._pending = None


class FaultyTransport:
    """Kills the push at the n-th request: before sending it, after the server committed
    it (the answer never arrives), or halfway through an image upload."""

    MODES = ("before", "after", "mid_blob")

    def __init__(self, inner: DjangoClientTransport) -> None:
        self.inner = inner
        self.kill_at: int | None = None
        self.mode = "before"
        self.count = 0
        self.applied: Counter[str] = Counter()
        self.replays = 0  # batches the server answered from a stored receipt

    def arm(self, n: int, mode: str) -> None:
        self.kill_at, self.mode, self.count = n, mode, 0

    def disarm(self) -> None:
        self.kill_at = None

    def request(self, method, path, *, body=None, headers=None):  # type: ignore[no-untyped-def]
        self.count += 1
        if self.kill_at is None or self.count != self.kill_at:
            answer = self.inner.request(method, path, body=body, headers=headers)
            if path.endswith("/push") and answer.status == 200 and answer.json()["replayed"]:
                self.replays += 1
            return answer
        self.kill_at = None
        if self.mode == "mid_blob" and method == "PUT":
            self.applied["mid_blob"] += 1
            self.inner.request(method, path, body=body[: len(body) // 2], headers=headers)
            raise TransportError("connection cut halfway through the upload")
        if self.mode == "before":
            self.applied["before"] += 1
            raise TransportError("connection cut before sending")
        self.applied["after"] += 1
        self.inner.request(method, path, body=body, headers=headers)
        raise TransportError("connection cut before the answer arrived")


def _server_state() -> dict[str, Any]:
    """What the server holds: applications with their capture counts and statuses."""
    return {
        str(a.pk): (a.status, a.captures.count(), a.dossier_id is not None)
        for a in Application.objects.all()
    }


def _push(field: Field, outbox: Any, transport: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
    return push_run(
        outbox=outbox,
        transport=transport or field.transport(),
        station_code=field.station.code,
        token=field.token,
        **kw,
    )


def _signed_post(client: Client, field: Field, body: bytes, *, key: str | None = None, token=None):  # type: ignore[no-untyped-def]
    return client.post(
        PUSH_URL.format(code=field.station.code),
        data=body,
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {token or field.token}",
            SIGNATURE_HEADER: body_sign(body=body, key=key or token_key(field.token)),
        },
    )


@pytest.fixture
def field(world) -> Field:
    return Field(world)


# --- Signing ---------------------------------------------------------------------------------


def test_the_signing_key_is_the_digest_the_server_stores_for_the_token(field):
    assert token_key(field.token) == field.station.token.digest


# --- Idempotent push -------------------------------------------------------------------------


def test_pushing_the_same_batch_twice_ends_with_exactly_the_enrolled_set(field):
    outbox = MemoryOutbox()
    for _ in range(5):
        outbox.add(*field.record(captures=3))
    expected = {r["id"]: ("completed", 17, True) for r in outbox.records}

    first = _push(field, outbox, batch_size=10)
    assert first.counts == {"created": 5}
    assert first.blobs_uploaded == 20  # 3 images each, and one shared by the rest
    assert _server_state() == expected

    # The station forgets its acks (a restored backup): the same records go again under a
    # new batch id, and the server recognises every one of them.
    forgetful = MemoryOutbox()
    for record in outbox.records:
        forgetful.add(record, outbox.images)
    again = _push(field, forgetful, batch_size=10)
    assert again.counts == {"duplicate": 5}
    assert again.blobs_uploaded == 0
    assert _server_state() == expected
    assert Dossier.objects.count() == 5
    assert Capture.objects.count() == 85
    assert Event.objects.filter(kind="enrolment.completed").count() == 5
    assert IdentityDocument.objects.filter(status=DocumentStatus.ENROLLED).count() == 5


def test_the_same_batch_bytes_sent_twice_return_the_stored_receipt_and_change_nothing(field):
    outbox = MemoryOutbox()
    for _ in range(3):
        outbox.add(*field.record())
    client = english()
    for digest, image in outbox.images.items():
        field.transport().request(
            "PUT", f"/blobs/{digest}", body=image, headers={"Content-Type": "image/png"}
        )
    body = batch_body(
        batch_id=str(uuid.uuid4()), station_code="MOB-A", records=outbox.records, now=ef.AT
    )
    first = _signed_post(client, field, body)
    assert first.status_code == 200
    assert first.json()["replayed"] is False
    assert first.json()["counts"] == {"created": 3}
    state = _server_state()
    audit_rows = _audit_count()

    second = _signed_post(client, field, body)
    assert second.status_code == 200
    assert second.json() == {**first.json(), "replayed": True}
    assert _server_state() == state
    assert PushBatch.objects.count() == 1
    assert _audit_count() == audit_rows


def _audit_count() -> int:
    from cancuoc.core.models import AuditEntry

    return AuditEntry.objects.count()


def test_a_batch_id_reused_with_another_body_is_refused_409(field):
    record, images = field.record()
    other, more = field.record()
    for digest, image in {**images, **more}.items():
        field.transport().request(
            "PUT", f"/blobs/{digest}", body=image, headers={"Content-Type": "image/png"}
        )
    batch_id = str(uuid.uuid4())
    client = english()
    body = batch_body(batch_id=batch_id, station_code="MOB-A", records=[record], now=ef.AT)
    assert _signed_post(client, field, body).status_code == 200
    state = _server_state()

    changed = batch_body(batch_id=batch_id, station_code="MOB-A", records=[other], now=ef.AT)
    answer = _signed_post(client, field, changed)
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": f"Batch {batch_id} was already received with different content; it is refused."
    }
    assert _server_state() == state
    assert other["id"] not in state


# --- Refused batches -------------------------------------------------------------------------


def _one_batch(field: Field) -> tuple[bytes, dict]:
    record, images = field.record()
    for digest, image in images.items():
        field.transport().request(
            "PUT", f"/blobs/{digest}", body=image, headers={"Content-Type": "image/png"}
        )
    body = batch_body(batch_id=str(uuid.uuid4()), station_code="MOB-A", records=[record], now=ef.AT)
    return body, record


def test_a_batch_changed_after_signing_is_refused_and_nothing_applied(field):
    body, record = _one_batch(field)
    signature = body_sign(body=body, key=token_key(field.token))
    tampered = body.replace(record["operator"].encode(), b"sup.thachha")
    answer = english().post(
        PUSH_URL.format(code="MOB-A"),
        data=tampered,
        content_type="application/json",
        headers={"Authorization": f"Bearer {field.token}", SIGNATURE_HEADER: signature},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "The batch signature does not match its content; nothing was applied."
    }
    assert Application.objects.count() == 0
    assert PushBatch.objects.count() == 0


def test_a_batch_without_a_signature_is_refused(field):
    body, _record = _one_batch(field)
    answer = english().post(
        PUSH_URL.format(code="MOB-A"),
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {field.token}"},
    )
    assert answer.status_code == 400
    assert Application.objects.count() == 0


def test_a_batch_signed_with_another_stations_token_is_refused(field, world):
    other = ef.station(unit=world.commune_a, operators=[field.operator], code="MOB-A2")
    other, other_token = services.station_token_issue(actor=field.supervisor, station_id=other.pk)
    body, _record = _one_batch(field)
    # The right bearer, the wrong signing key.
    assert _signed_post(english(), field, body, key=token_key(other_token)).status_code == 400
    # Another station's token pushing for this station.
    assert (
        _signed_post(
            english(), field, body, token=other_token, key=token_key(other_token)
        ).status_code
        == 403
    )
    assert Application.objects.count() == 0
    assert PushBatch.objects.count() == 0


def test_a_batch_sent_with_a_revoked_token_is_refused(field):
    body, _record = _one_batch(field)
    old = field.token
    services.station_token_issue(actor=field.supervisor, station_id=field.station.pk)
    answer = _signed_post(english(), field, body, token=old, key=token_key(old))
    assert answer.status_code == 401
    assert Application.objects.count() == 0
    assert PushBatch.objects.count() == 0


def test_a_person_cannot_push_for_a_station_even_with_its_signing_key(field):
    body, _record = _one_batch(field)
    client = english()
    client.force_login(field.operator)
    answer = client.post(
        PUSH_URL.format(code="MOB-A"),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: body_sign(body=body, key=token_key(field.token))},
    )
    assert answer.status_code == 403
    assert Application.objects.count() == 0


def test_a_record_whose_image_is_damaged_is_rejected_alone_and_stays_unsent(field):
    good, good_images = field.record()
    bad, bad_images = field.record()
    outbox = MemoryOutbox()
    outbox.add(bad, {digest: b"not an image" for digest in bad_images})  # a broken disk
    outbox.add(good, good_images)

    report = _push(field, outbox)

    assert report.counts == {"created": 1, "rejected": 1}
    [refused] = report.rejected
    assert refused["id"] == bad["id"]
    assert refused["detail"] == (
        f"Image {min(bad_images)[:12]} has not been uploaded yet; send the images first."
    )
    assert set(_server_state()) == {good["id"]}
    assert outbox.sent == {good["id"]}
    assert outbox.pending() is None
    # The next push tries it again and is refused the same way; nothing else changes.
    again = _push(field, outbox)
    assert again.counts == {"rejected": 1}
    assert set(_server_state()) == {good["id"]}


# --- Kill the push at random points -------------------------------------------------------


def test_a_push_killed_at_random_points_100_times_loses_and_duplicates_nothing(field):
    rng = random.Random(20250915)
    outbox = MemoryOutbox()
    for _ in range(10):
        outbox.add(*field.record(captures=rng.randint(1, 3)))
    transport = FaultyTransport(field.transport())
    kills = 0
    while kills < 100:
        if rng.random() < 0.05 or (not outbox.unsent(limit=1) and outbox.pending() is None):
            # The team goes on enrolling between two attempts.
            outbox.add(*field.record(captures=rng.randint(1, 3)))
        transport.arm(rng.randint(1, 6), rng.choice(FaultyTransport.MODES))
        try:
            _push(field, outbox, transport, batch_size=3)
        except TransportError:
            kills += 1
    transport.disarm()
    _push(field, outbox, transport, batch_size=3)

    expected = {r["id"]: ("completed", len(r["captures"]), True) for r in outbox.records}
    assert outbox.sent == set(expected)
    assert outbox.pending() is None
    assert _server_state() == expected
    assert Dossier.objects.count() == len(expected)
    assert Event.objects.filter(kind="enrolment.completed").count() == len(expected)
    assert IdentityDocument.objects.filter(status=DocumentStatus.ENROLLED).count() == len(expected)
    assert BiometricBlob.objects.count() == len(outbox.images)
    assert Capture.objects.count() == sum(len(r["captures"]) for r in outbox.records)
    # Every kind of cut happened, many times.
    assert set(transport.applied) == set(FaultyTransport.MODES)
    assert sum(transport.applied.values()) == 100
    assert min(transport.applied.values()) >= 10
    # Batches whose answer was lost went again byte for byte and got their stored receipt.
    assert transport.replays >= 5


# --- Conflicts -------------------------------------------------------------------------------


def test_a_citizen_enrolled_elsewhere_meanwhile_is_kept_as_a_conflict(field, world):
    citizen = factories.citizen(unit=world.commune_a)
    desk_operator = ef.operator(world.commune_a, "op.desk")
    desk = ef.station(unit=world.commune_a, operators=[desk_operator], code="DESK-A")
    online = ef.in_progress_application(station=desk, citizen=citizen, actor=desk_operator)
    outbox = MemoryOutbox()
    record, images = field.record(citizen=citizen)
    outbox.add(record, images)
    outbox.add(*field.record())

    report = _push(field, outbox)

    assert report.counts == {"conflict": 1, "created": 1}
    kept = Application.objects.get(pk=record["id"])
    assert kept.status == "conflict"
    assert kept.conflict_with_id == online.pk
    assert kept.captures.count() == 17
    assert kept.offline is True
    assert outbox.sent == {r["id"] for r in outbox.records}  # a conflict is settled: acked
    online.refresh_from_db()
    assert online.status == "in_progress"


# --- The pulled slice ------------------------------------------------------------------------


def test_the_pull_gives_the_due_citizens_of_the_station_unit_only(field, world):
    due = factories.citizen(unit=world.commune_a, full_name="Trần Thị Bình")
    holder = factories.citizen(unit=world.commune_a, full_name="Lê Văn Cường")
    IdentityDocument.objects.create(
        citizen=holder,
        province_code="42",
        kind="cancuoc",
        number=holder.id_number,
        issue_date=dt.date(2025, 1, 2),
        expiry_date=dt.date(2040, 5, 17),
        status="valid",
    )
    factories.citizen(unit=world.commune_b, full_name="Phạm Thị Dung")
    answer = field.transport().request("GET", "/stations/MOB-A/pull")
    assert answer.status == 200
    data = answer.json()
    assert [c["full_name"] for c in data["citizens"]] == ["Trần Thị Bình"]
    assert data["citizens"][0]["id"] == due.pk
    assert data["station"]["code"] == "MOB-A"
    assert sorted(u["username"] for u in data["users"]) == ["op.thachha", "station-mob-a"]
    assert [u["path"] for u in data["units"]] == ["/", "/2025/42/", "/2025/42/18100/"]
    field.station.refresh_from_db()
    assert field.station.last_pull_at is not None


def test_the_pull_by_id_numbers_and_session(field, world):
    wanted = factories.citizen(unit=world.commune_a)
    factories.citizen(unit=world.commune_a)
    session = ef.session(station=field.station)
    answer = field.transport().request(
        "GET", f"/stations/MOB-A/pull?ids={wanted.id_number}&session={session.pk}"
    )
    data = answer.json()
    assert [c["id_number"] for c in data["citizens"]] == [wanted.id_number]
    assert data["session"]["id"] == session.pk


def test_only_the_stations_own_token_may_pull(field, world):
    client = english()
    client.force_login(field.operator)
    assert client.get("/api/v1/enrolment/stations/MOB-A/pull").status_code == 403
    other = ef.station(unit=world.commune_b, code="MOB-B")
    _other, other_token = services.station_token_issue(
        actor=ef.supervisor(world.commune_b), station_id=other.pk
    )
    assert field.transport(other_token).request("GET", "/stations/MOB-A/pull").status == 403
    assert field.transport("cc_nonsense").request("GET", "/stations/MOB-A/pull").status == 401
    assert field.transport().request("GET", "/stations/me").json()["code"] == "MOB-A"


def test_loading_the_same_slice_twice_changes_nothing(field, world):
    factories.citizen(unit=world.commune_a)
    data = field.transport().request("GET", "/stations/MOB-A/pull").json()
    # The server's own database already holds every row: loading is a pure rewrite.
    pull.slice_load(data=data)
    before = _rows()
    loaded = pull.slice_load(data=data)
    assert loaded.created == 0
    assert _rows() == before


def test_a_slice_never_turns_a_local_account_into_a_server_one(field):
    data = field.transport().request("GET", "/stations/MOB-A/pull").json()
    data["users"][0]["id"] = 999_999  # the same username under another key: a shared database
    pulled_at = Station.objects.get(pk=field.station.pk).last_pull_at
    with pytest.raises(pull.SliceError):
        pull.slice_load(data=data)
    assert Station.objects.get(pk=field.station.pk).last_pull_at == pulled_at
    assert not type(field.operator).objects.filter(pk=999_999).exists()


def _rows() -> dict[str, int]:
    from cancuoc.accounts.models import User
    from cancuoc.registry.models import Citizen
    from cancuoc.units.models import Unit

    return {
        "units": Unit.objects.count(),
        "users": User.objects.count(),
        "citizens": Citizen.objects.count(),
        "documents": IdentityDocument.objects.count(),
        "stations": Station.objects.count(),
    }


# --- The station's own outbox ---------------------------------------------------------------


class StubServer:
    """Answers like the server (every blob held, every record created) and keeps what it
    was sent: station and server cannot share one database in a test, since both keep
    their push log in the ``PushBatch`` table."""

    def __init__(self) -> None:
        self.batches: list[dict] = []

    def request(self, method, path, *, body=None, headers=None):  # type: ignore[no-untyped-def]
        from cancuoc.enrolment.offline.transport import Response

        if path == "/blobs/missing":
            return Response(200, b'{"missing": []}')
        payload = json.loads(body)
        self.batches.append(payload)
        results = [{"id": r["id"], "status": "created"} for r in payload["records"]]
        receipt = {"batch_id": payload["batch_id"], "results": results, "counts": {}}
        return Response(200, json.dumps(receipt).encode())


def test_the_station_outbox_sends_each_completed_enrolment_once(field, world):
    done = [ef.completed_application(station=field.station, actor=field.operator) for _ in range(3)]
    ef.in_progress_application(station=field.station, actor=field.operator)
    outbox = StationOutbox(field.station)
    assert sorted(r["id"] for r in outbox.unsent(limit=10)) == sorted(str(a.pk) for a in done)
    record = application_record(done[0])
    assert record["operator"] == "op.thachha"
    assert record["id_number"] == done[0].citizen.id_number
    assert len(record["captures"]) == Capture.objects.filter(application=done[0]).count()
    assert {c["digest"] for c in record["captures"]} <= set(
        BiometricBlob.objects.values_list("pk", flat=True)
    )
    assert [s["step"] for s in record["steps"]] == [
        "confirm",
        "fingerprints",
        "face",
        "review",
        "sign",
    ]
    server = StubServer()

    report = _push(field, outbox, server, batch_size=2)

    assert report.counts == {"created": 3}
    assert [len(b["records"]) for b in server.batches] == [2, 1]
    assert sorted(r["id"] for b in server.batches for r in b["records"]) == sorted(
        str(a.pk) for a in done
    )
    assert outbox.unsent_count() == 0
    assert outbox.pending() is None
    assert _push(field, outbox, server).batches == 0
    field.station.refresh_from_db()
    assert field.station.last_push_at is not None


def test_the_station_outbox_resends_its_pending_batch_byte_for_byte(field):
    ef.completed_application(station=field.station, actor=field.operator)
    outbox = StationOutbox(field.station)
    server = StubServer()

    class CutAfterSending:
        def request(self, method, path, *, body=None, headers=None):  # type: ignore[no-untyped-def]
            answer = server.request(method, path, body=body, headers=headers)
            if path.endswith("/push"):
                raise TransportError("the answer never arrived")
            return answer

    with pytest.raises(TransportError):
        _push(field, outbox, CutAfterSending())
    assert outbox.unsent_count() == 1
    batch_id, _body = outbox.pending()
    _push(field, outbox, server)
    assert [b["batch_id"] for b in server.batches] == [batch_id, batch_id]
    assert json.dumps(server.batches[0]) == json.dumps(server.batches[1])
    assert outbox.unsent_count() == 0


# --- Sync limits -----------------------------------------------------------------------------


def test_a_station_unsynced_too_long_warns_then_refuses_new_work(field, world):
    Station.objects.filter(pk=field.station.pk).update(
        last_pull_at=ef.AT, max_days_unsynced=3, max_unsent=100
    )
    citizens = [factories.citizen(unit=world.commune_a) for _ in range(2)]
    station = Station.objects.get(pk=field.station.pk)
    warn_day = ef.AT + dt.timedelta(days=3)
    assert services.station_sync_state(station=station, now=warn_day).level == "warn"
    started = services.application_start(
        actor=field.operator, station_id=station.pk, citizen_id=citizens[0].pk, at=warn_day
    )
    assert started.status == "in_progress"
    late = ef.AT + dt.timedelta(days=4)
    with pytest.raises(services.StationLocked):
        services.application_start(
            actor=field.operator, station_id=station.pk, citizen_id=citizens[1].pk, at=late
        )
    assert not Application.objects.filter(citizen=citizens[1]).exists()


def test_a_station_with_too_many_unsent_enrolments_refuses_until_it_pushes(field, world):
    Station.objects.filter(pk=field.station.pk).update(
        last_pull_at=ef.AT - dt.timedelta(hours=1), max_unsent=5
    )
    station = Station.objects.get(pk=field.station.pk)
    for _ in range(4):
        ef.completed_application(station=station, actor=field.operator)
    assert services.station_sync_state(station=station, now=ef.AT).level == "warn"
    ef.completed_application(station=station, actor=field.operator)
    state = services.station_sync_state(station=station, now=ef.AT)
    assert (state.level, state.unsent) == ("refuse", 5)
    waiting = factories.citizen(unit=world.commune_a)
    with pytest.raises(services.StationLocked):
        services.application_start(
            actor=field.operator, station_id=station.pk, citizen_id=waiting.pk, at=ef.AT
        )

    _push(field, StationOutbox(station), StubServer())  # acks move the last push forward
    station.refresh_from_db()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert services.station_sync_state(station=station, now=later).level == "ok"
    assert (
        services.application_start(
            actor=field.operator, station_id=station.pk, citizen_id=waiting.pk, at=later
        ).status
        == "in_progress"
    )


# --- A real station process -------------------------------------------------------------------


def _station_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "cancuoc", "station", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.e2e  # real processes and a live server: about 15 s, left out of `make test-fast`
@pytest.mark.django_db(transaction=True)
def test_a_real_station_process_pulls_enrols_offline_and_pushes_exactly_once(
    world, live_server, tmp_path
):
    """Station processes on their own SQLite file against a live server.

    The server is the test database (SQLite in memory or PostgreSQL), served by
    pytest-django's live server thread, which shares the test connection; each station
    command is a separate process with ``DATABASE_URL`` pointing at a temp file.
    """
    field = Field(world)
    citizens = [factories.citizen(unit=world.commune_a) for _ in range(4)]
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'station.sqlite3'}",
        "CANCUOC_DATA_DIR": str(tmp_path / "station-data"),
        "DJANGO_SETTINGS_MODULE": "cancuoc.settings",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CANCUOC_STATION_CONFIG", None)
    pulled = _station_command(env, "pull", "--server", live_server.url, "--token", field.token)
    assert pulled.returncode == 0, pulled.stderr
    assert "station MOB-A: 4 citizens" in pulled.stdout
    config = json.loads((tmp_path / "station.sqlite3.station.json").read_text())
    assert config["station"] == "MOB-A"
    assert oct((tmp_path / "station.sqlite3.station.json").stat().st_mode & 0o777) == "0o600"

    simulated = _station_command(env, "simulate", "--count", "3")
    assert simulated.returncode == 0, simulated.stderr
    assert "enrolled 3" in simulated.stdout
    assert Application.objects.count() == 0  # offline: nothing reached the server yet

    first = _station_command(env, "push")
    assert first.returncode == 0, first.stderr
    assert "created 3" in first.stdout
    second = _station_command(env, "push")
    assert second.returncode == 0, second.stderr
    assert "nothing to send" in second.stdout

    station_db = sqlite3.connect(tmp_path / "station.sqlite3")
    enrolled = {
        uuid.UUID(row[0]): row[1]
        for row in station_db.execute(
            "SELECT a.id, COUNT(c.id) FROM enrolment_application a "
            "JOIN enrolment_capture c ON c.application_id = a.id "
            "WHERE a.status = 'completed' GROUP BY a.id"
        )
    }
    station_db.close()
    assert len(enrolled) == 3
    on_server = {a.pk: a for a in Application.objects.all()}
    assert set(on_server) == set(enrolled)
    assert {a.status for a in on_server.values()} == {"completed"}
    assert {a.citizen_id for a in on_server.values()} <= {c.pk for c in citizens}
    assert all(a.offline and a.dossier_id for a in on_server.values())
    for pk, application in on_server.items():
        # 3 slaps, 10 fingers, a face, 2 irises, a signature, and any retries: all of them.
        assert application.captures.count() == enrolled[pk] >= 17
        assert application.captures.filter(blob__isnull=True).count() == 0
    status = _station_command(env, "status")
    facts = json.loads(status.stdout)
    assert facts["unsent"] == 0
    assert facts["applications"] == {"completed": 3}
    assert facts["sync"]["level"] == "ok"
