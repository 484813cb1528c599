"""The biometric store: encryption at rest, written once, refusals, audited reads, purge."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import translation
from PIL import Image

from cancuoc.core.errors import OutOfScope
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import biostore
from cancuoc.enrolment.biostore import (
    BiometricNotFound,
    BiometricRejected,
    BiometricUnreadable,
    blob_path,
    blob_put,
    blob_read,
    blobs_purge,
)
from cancuoc.enrolment.devices.simulator import synthetic_png
from cancuoc.enrolment.models import Application, BiometricBlob, Capture
from tests import factories
from tests.enrolment import factories as enrol

KEY_A = base64.urlsafe_b64encode(b"A" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"B" * 32).decode()


@pytest.fixture(autouse=True)
def english():
    """These tests match the English messages; the site's default language is Vietnamese."""
    with translation.override("en"):
        yield


@pytest.fixture
def store(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "biometrics"
    settings.BIOMETRIC_KEY = KEY_A
    settings.BIOMETRIC_MAX_BYTES = 200_000
    biostore._cipher.cache_clear()
    yield settings.BIOMETRIC_ROOT
    biostore._cipher.cache_clear()


def files_in(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def jpeg(seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (seed % 256, 90, 90)).save(out, format="JPEG")
    return out.getvalue()


IMAGE = synthetic_png("rolled", tag="test-1")


# --- storing -------------------------------------------------------------------------------


def test_a_round_trip_returns_the_exact_bytes(db, store, hana):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    digest = hashlib.sha256(IMAGE).hexdigest()
    assert (blob.digest, blob.content_type, blob.size, blob.province_code) == (
        digest,
        "image/png",
        len(IMAGE),
        "42",
    )
    path = blob_path(digest)
    assert path == store / digest[:2] / digest[2:4] / digest
    assert files_in(store) == [path]
    assert blob_read(actor=hana, digest=digest, purpose="check") == IMAGE


def test_the_same_bytes_are_stored_once(db, store, monkeypatch):
    writes = []
    real_write = biostore._write_once
    monkeypatch.setattr(
        biostore, "_write_once", lambda path, data: (writes.append(path), real_write(path, data))
    )
    first = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    second = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    assert first.pk == second.pk
    assert BiometricBlob.objects.count() == 1
    assert len(writes) == 1
    assert len(files_in(store)) == 1


def test_an_expected_digest_that_matches_is_accepted(db, store):
    digest = hashlib.sha256(IMAGE).hexdigest()
    blob = blob_put(
        image=IMAGE, content_type="image/png", province_code="42", expected_digest=digest.upper()
    )
    assert blob.digest == digest


def test_the_file_on_disk_is_ciphertext(db, store):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    data = blob_path(blob.digest).read_bytes()
    assert data.startswith(b"CCB1")
    assert len(data) == 4 + 12 + len(IMAGE) + 16  # magic, nonce, ciphertext, tag
    assert b"PNG" not in data and b"IHDR" not in data and b"IDAT" not in data
    assert IMAGE[200:232] not in data


def test_each_write_uses_its_own_nonce(db, store, settings, tmp_path):
    blob_put(image=IMAGE, content_type="image/png", province_code="42")
    first = blob_path(hashlib.sha256(IMAGE).hexdigest()).read_bytes()
    BiometricBlob.objects.all().delete()
    settings.BIOMETRIC_ROOT = tmp_path / "other"
    blob_put(image=IMAGE, content_type="image/png", province_code="42")
    second = blob_path(hashlib.sha256(IMAGE).hexdigest()).read_bytes()
    assert first[4:16] != second[4:16]
    assert first != second


def test_jpeg_and_wsq_are_accepted(db, store):
    assert blob_put(image=jpeg(), content_type="image/jpeg", province_code="42").size > 0
    wsq = b"\xff\xa0" + bytes(range(256)) * 4 + b"\xff\xa1"
    assert blob_put(image=wsq, content_type="image/x-wsq", province_code="42").content_type == (
        "image/x-wsq"
    )


# --- refusals ------------------------------------------------------------------------------


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("image", "content_type", "message"),
    [
        (b"", "image/png", "The image is empty."),
        (b"GIF89a" + b"\x00" * 100, "image/gif", "corrupted or not in a supported format"),
        (IMAGE[: len(IMAGE) // 2], "image/png", "corrupted or not in a supported format"),
        (_flip(IMAGE, len(IMAGE) // 2), "image/png", "corrupted or not in a supported format"),
        (IMAGE, "image/jpeg", "not of the declared type image/jpeg"),
        (b"\xff\xa0 a wsq without its end marker", "image/x-wsq", "corrupted"),
        (b"\xff" * 300_000, "image/png", "too large: 300000 bytes, the limit is 200000 bytes"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(db, store, image, content_type, message):
    with translation.override("en"), pytest.raises(BiometricRejected) as refused:
        blob_put(image=image, content_type=content_type, province_code="42")
    assert message in refused.value.message
    assert BiometricBlob.objects.count() == 0
    assert files_in(store) == []


def test_a_digest_mismatch_is_a_corrupted_upload(db, store):
    with translation.override("en"), pytest.raises(BiometricRejected) as refused:
        blob_put(
            image=IMAGE,
            content_type="image/png",
            province_code="42",
            expected_digest=hashlib.sha256(b"other").hexdigest(),
        )
    assert refused.value.message == (
        "The image is corrupted: it does not match the digest sent with it."
    )
    assert BiometricBlob.objects.count() == 0
    assert files_in(store) == []


def test_a_picture_with_too_many_pixels_is_refused(db, store, monkeypatch):
    monkeypatch.setattr(biostore, "MAX_PIXELS", 100)
    with pytest.raises(BiometricRejected):
        blob_put(image=jpeg(), content_type="image/jpeg", province_code="42")
    assert files_in(store) == []


# --- keys ----------------------------------------------------------------------------------


def test_another_key_cannot_decrypt(db, store, settings, hana):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    settings.BIOMETRIC_KEY = KEY_B
    with pytest.raises(BiometricUnreadable):
        blob_read(actor=hana, digest=blob.digest, purpose="check")


def test_a_file_moved_under_another_digest_does_not_decrypt(db, store, hana):
    one = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    other_image = synthetic_png("rolled", tag="test-2")
    two = blob_put(image=other_image, content_type="image/png", province_code="42")
    blob_path(two.digest).write_bytes(blob_path(one.digest).read_bytes())
    with pytest.raises(BiometricUnreadable):
        blob_read(actor=hana, digest=two.digest, purpose="check")


def test_without_a_key_production_refuses_at_first_use(db, store, settings, monkeypatch):
    settings.BIOMETRIC_KEY = ""
    settings.DEBUG = False
    monkeypatch.delenv("CANCUOC_BIOMETRIC_KEY", raising=False)
    monkeypatch.setenv("DEBUG", "0")
    with pytest.raises(ImproperlyConfigured, match="CANCUOC_BIOMETRIC_KEY is required"):
        blob_put(image=IMAGE, content_type="image/png", province_code="42")
    assert BiometricBlob.objects.count() == 0


def test_a_malformed_key_is_a_configuration_error(db, store, settings):
    settings.BIOMETRIC_KEY = base64.urlsafe_b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        blob_put(image=IMAGE, content_type="image/png", province_code="42")


def test_the_environment_key_is_used_when_settings_have_none(
    db, store, settings, monkeypatch, hana
):
    settings.BIOMETRIC_KEY = ""
    monkeypatch.setenv("CANCUOC_BIOMETRIC_KEY", KEY_B)
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    settings.BIOMETRIC_KEY = KEY_B  # the same key, given the other way
    assert blob_read(actor=hana, digest=blob.digest, purpose="check") == IMAGE


def test_a_developer_machine_derives_a_key_and_warns_once(
    db, store, settings, monkeypatch, caplog, hana
):
    settings.BIOMETRIC_KEY = ""
    monkeypatch.delenv("CANCUOC_BIOMETRIC_KEY", raising=False)
    monkeypatch.setenv("DEBUG", "1")
    with caplog.at_level(logging.WARNING, logger="cancuoc.enrolment.biostore"):
        blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
        assert blob_read(actor=hana, digest=blob.digest, purpose="check") == IMAGE
        blob_put(image=jpeg(), content_type="image/jpeg", province_code="42")
    warnings = [r for r in caplog.records if "development key" in r.getMessage()]
    assert len(warnings) == 1
    assert settings.SECRET_KEY not in caplog.text


# --- reads ---------------------------------------------------------------------------------


def _application(world, station, citizen, status="in_progress"):
    return Application.objects.create(
        citizen=citizen,
        province_code="42",
        unit=station.unit,
        unit_path=station.unit_path,
        station=station,
        operator=station.operators.first(),
        kind="first",
        law="2023",
        status=status,
        step="fingerprints",
        started_at=enrol.AT,
    )


def _capture(application, blob, position="R1"):
    return Capture.objects.create(
        application=application,
        kind="rolled",
        position=position,
        attempt=1,
        quality=80,
        accepted=True,
        blob=blob,
        captured_at=enrol.AT,
    )


@pytest.fixture
def station_a(world):
    return enrol.station(unit=world.commune_a, operators=[enrol.operator(world.commune_a)])


def test_a_read_is_audited_without_the_image(db, store, world, station_a, alice):
    application = _application(world, station_a, factories.citizen(unit=world.commune_a))
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    _capture(application, blob)
    assert blob_read(actor=alice, digest=blob.digest, purpose="review before signing") == IMAGE
    entry = AuditEntry.objects.get(action="biometric.read")
    assert (entry.actor, entry.object_id, entry.unit, entry.unit_path) == (
        alice,
        blob.digest,
        world.commune_a,
        world.commune_a.path,
    )
    assert entry.detail == {
        "purpose": "review before signing",
        "application": str(application.pk),
        "content_type": "image/png",
        "size": len(IMAGE),
    }
    assert base64.b64encode(IMAGE[:60]).decode() not in json.dumps(entry.detail)


def test_an_officer_of_another_commune_cannot_read_and_nothing_is_audited(
    db, store, world, station_a, bob, carl
):
    application = _application(world, station_a, factories.citizen(unit=world.commune_a))
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    _capture(application, blob)
    for outsider in (bob, carl):
        with pytest.raises(OutOfScope):
            blob_read(actor=outsider, digest=blob.digest, purpose="curious")
    assert AuditEntry.objects.filter(action="biometric.read").count() == 0


def test_an_image_no_capture_uses_yet_belongs_to_its_province(db, store, world, hana, alice):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    assert blob_read(actor=hana, digest=blob.digest, purpose="check upload") == IMAGE
    with pytest.raises(OutOfScope):
        blob_read(actor=alice, digest=blob.digest, purpose="check upload")
    entry = AuditEntry.objects.get(action="biometric.read")
    assert (entry.unit, entry.detail["application"]) == (world.hatinh, "")


def test_the_system_reads_audited_as_no_one(db, store, world):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    assert blob_read(actor=None, digest=blob.digest, purpose="production export") == IMAGE
    entry = AuditEntry.objects.get(action="biometric.read")
    assert (entry.actor, entry.actor_label) == (None, "")


def test_unknown_digests_and_missing_purposes_are_refused(db, store, hana):
    with pytest.raises(BiometricNotFound):
        blob_read(actor=hana, digest="0" * 64, purpose="check")
    with pytest.raises(BiometricNotFound):
        blob_read(actor=hana, digest="../../etc/passwd", purpose="check")
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    with pytest.raises(Exception, match="why"):
        blob_read(actor=hana, digest=blob.digest, purpose="  ")
    assert AuditEntry.objects.filter(action="biometric.read").count() == 0


# --- retention -----------------------------------------------------------------------------


def _age(blob, stored_on: dt.date):
    BiometricBlob.objects.filter(pk=blob.pk).update(
        stored_at=enrol.local(*stored_on.timetuple()[:3])
    )


def test_purge_deletes_old_unused_files_and_marks_their_rows(db, store, world, station_a, hana):
    images = [synthetic_png("iris", tag=f"purge-{n}") for n in range(6)]
    old, open_one, delivered_one, kept_until, recent, conflict_one = (
        blob_put(image=image, content_type="image/png", province_code="42") for image in images
    )
    for blob in (old, open_one, delivered_one, kept_until, conflict_one):
        _age(blob, dt.date(2010, 3, 1))
    BiometricBlob.objects.filter(pk=kept_until.pk).update(retain_until=dt.date(2030, 1, 1))
    _capture(_application(world, station_a, factories.citizen(unit=world.commune_a)), open_one)
    _capture(
        _application(world, station_a, factories.citizen(unit=world.commune_a), "delivered"),
        delivered_one,
    )
    _capture(
        _application(world, station_a, factories.citizen(unit=world.commune_a), "conflict"),
        conflict_one,
    )

    assert blobs_purge(before=dt.date(2015, 1, 1), dry_run=True) == 2
    assert len(files_in(store)) == 6
    assert blobs_purge(before=dt.date(2015, 1, 1), actor=hana) == 2

    purged = set(BiometricBlob.objects.filter(purged_at__isnull=False).values_list("pk", flat=True))
    assert purged == {old.pk, delivered_one.pk}
    assert not blob_path(old.digest).exists()
    assert not blob_path(delivered_one.digest).exists()
    for kept in (open_one, kept_until, recent, conflict_one):
        assert blob_path(kept.digest).exists()
    entry = AuditEntry.objects.get(action="biometric.purge")
    assert (entry.actor, entry.detail) == (hana, {"before": "2015-01-01", "count": 2})
    with pytest.raises(BiometricNotFound, match="retention"):
        blob_read(actor=hana, digest=old.digest, purpose="check")
    # A second run finds nothing more.
    assert blobs_purge(before=dt.date(2015, 1, 1)) == 0


def test_the_purge_command(db, store, world, capsys):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    _age(blob, dt.date(2001, 1, 1))
    call_command("biometrics", "purge", "--retention-years", "10", "--dry-run")
    assert json.loads(capsys.readouterr().out)["purgeable"] == 1
    assert blob_path(blob.digest).exists()
    call_command("biometrics", "purge", "--before", "2005-01-01")
    assert json.loads(capsys.readouterr().out) == {"before": "2005-01-01", "purged": 1}
    assert not blob_path(blob.digest).exists()


def test_the_same_bytes_after_a_purge_are_stored_again(db, store, hana):
    blob = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    _age(blob, dt.date(2001, 1, 1))
    assert blobs_purge(before=dt.date(2005, 1, 1)) == 1
    again = blob_put(image=IMAGE, content_type="image/png", province_code="42")
    assert again.purged_at is None
    assert blob_read(actor=hana, digest=again.digest, purpose="check") == IMAGE
