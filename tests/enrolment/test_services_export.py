"""The production file for the printing centre."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import pytest

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import services
from cancuoc.enrolment.models import Card, ProductionBatch
from tests import factories
from tests.enrolment import factories as ef

APPROVED_AT = ef.local(2025, 9, 18, 10)


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    ef.load_card_procedures()


@pytest.fixture
def cards(world):
    op = ef.operator(world.commune_a, "op_a")
    sup = ef.supervisor(world.commune_a, "sup_a")
    station = ef.station(unit=world.commune_a, operators=[op])
    people = [
        factories.citizen(unit=world.commune_a, full_name="Nguyễn Thị Ánh", sex="F"),
        factories.citizen(
            unit=world.commune_a, full_name="=cmd Trần", sex="M", place_of_origin="@SUM(A1)"
        ),
    ]
    apps = [ef.completed_application(station=station, citizen=p, actor=op) for p in people]
    return services.application_approve(
        actor=sup, application_ids=[a.pk for a in apps], at=APPROVED_AT
    )


def test_csv_export_is_safe_complete_and_batched(world, alice, cards):
    batch, content = services.production_export(
        actor=alice, unit_id=world.commune_a.pk, file_format="csv"
    )
    assert content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == [c.number for c in cards]
    first = rows[0]
    assert first["full_name"] == "Nguyễn Thị Ánh"
    assert first["mrz_name"] == "NGUYEN<<THI<ANH"
    assert first["issue_date"] == "2025-09-18" and first["sex"] == "F"
    assert first["mrz_line1"] == cards[0].mrz.split("\n")[0]
    assert len(first["face_digest"]) == 64
    # Spreadsheet formulas are neutralised.
    assert rows[1]["full_name"] == "'=cmd Trần" and rows[1]["place_of_origin"] == "'@SUM(A1)"
    assert (batch.count, batch.digest) == (2, hashlib.sha256(content).hexdigest())
    assert set(Card.objects.values_list("batch_id", flat=True)) == {batch.pk}
    assert AuditEntry.objects.filter(action="card.production_export").count() == 1
    # Nothing left for a second file.
    with pytest.raises(services.EnrolmentError):
        services.production_export(actor=alice, unit_id=world.commune_a.pk, file_format="csv")


def test_json_export(world, hana, cards):
    batch, content = services.production_export(
        actor=hana, unit_id=world.hatinh.pk, file_format="json"
    )
    data = json.loads(content)
    assert data["count"] == 2 and data["batch"] == str(batch.pk)
    assert data["cards"][0]["qr_payload"] == cards[0].qr_payload
    assert data["cards"][0]["expiry_date"] == cards[0].expiry_date.isoformat()


def test_export_refused_out_of_scope_or_without_capability(world, alice, bob, carl, cards):
    with pytest.raises(OutOfScope):
        services.production_export(actor=carl, unit_id=world.commune_a.pk, file_format="csv")
    with pytest.raises(PermissionDenied):
        services.production_export(actor=bob, unit_id=world.commune_b.pk, file_format="csv")
    with pytest.raises(services.EnrolmentError):
        services.production_export(actor=alice, unit_id=world.commune_a.pk, file_format="xml")
    assert not ProductionBatch.objects.exists()
    assert Card.objects.filter(batch__isnull=True).count() == 2
    assert dt.date(2025, 9, 18) == cards[0].issue_date
