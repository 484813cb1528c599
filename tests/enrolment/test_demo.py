"""The enrolment demo step: two stations and a month of intakes, written once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cancuoc.accounts.models import User
from cancuoc.core.demo import DemoContext
from cancuoc.core.events import rollups_rebuild
from cancuoc.core.models import AuditEntry, DailyRollup
from cancuoc.enrolment import biostore, demo, selectors
from cancuoc.enrolment.models import (
    Application,
    BiometricBlob,
    Capture,
    Card,
    Station,
    StepTiming,
)
from tests import factories
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db

COUNT = 12


@pytest.fixture(autouse=True)
def _biostore(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"


@pytest.fixture
def demo_world(world, monkeypatch):
    """The commune's citizens and the card procedures; the step makes its own accounts."""
    ef.load_card_procedures()
    today = timezone.localdate()
    for n in range(30):
        factories.citizen(
            unit=world.commune_a,
            full_name=f"Nguyễn Văn Dân {n}",
            birth_date=dt.date(today.year - 20 - n * 2, 1 + n % 12, 1 + n % 27),
            sex="M" if n % 2 else "F",
        )
    # A small month: a few intakes through the services, the others replayed and pushed.
    monkeypatch.setattr(demo, "ONLINE_MAX", 4)
    monkeypatch.setattr(demo, "PUSHED_DAYS", 1)
    lines: list[str] = []
    ctx = DemoContext(province_code="42", second_province_code="96", out=lines.append, people=3000)
    ctx.units.update(
        nation=world.nation,
        province=world.hatinh,
        commune=world.commune_a,
        commune_b=world.commune_b,
        second_province=world.camau,
    )
    return ctx, lines


def _rollups():
    return sorted(DailyRollup.objects.values_list("unit_id", "day", "subject", "measure", "value"))


def test_the_demo_builds_a_month_of_intakes_once(demo_world):
    ctx, lines = demo_world
    demo.load_enrolment(ctx)

    stations = {s.code: s for s in Station.objects.all()}
    assert sorted(stations) == ["DEMO-18100", "DEMO-18100-LD"]
    assert [s.kind for s in (stations["DEMO-18100"], stations["DEMO-18100-LD"])] == [
        "fixed",
        "mobile",
    ]
    assert stations["DEMO-18100"].device_profile["worn_fingers"] == ["L2"]
    logins = {login[0] for login in ctx.logins}
    assert {"thachha.unitmanager", "thachha.operator", "thachha.mobile"} <= logins

    applications = Application.objects.all()
    by_status: dict[str, int] = {}
    for status in applications.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    assert by_status["in_progress"] == 2
    assert by_status["conflict"] == 1
    finished = applications.exclude(status__in=("in_progress", "conflict"))
    assert finished.count() == COUNT
    assert set(by_status) <= {"in_progress", "conflict", "completed", "approved", "delivered"}
    # Online, pushed and replayed intakes alike: a dossier, five ended steps, every capture.
    assert finished.filter(dossier__isnull=True).count() == 0
    assert finished.filter(offline=True).count() >= 1
    assert finished.filter(offline=False).count() >= 4
    for application in finished:
        steps = StepTiming.objects.filter(application=application, ended_at__isnull=False)
        assert steps.count() == 5, application.pk
        accepted = Capture.objects.filter(application=application, accepted=True)
        assert (
            accepted.filter(kind="rolled").count()
            + Capture.objects.filter(application=application, kind="rolled")
            .exclude(exception="")
            .count()
            == 10
        )
        assert accepted.filter(kind="face").count() == 1
        assert accepted.filter(kind="iris").count() == 2
        assert accepted.filter(kind="signature").count() == 1
    assert AuditEntry.objects.filter(action="enrolment.complete").count() == COUNT
    # Cards for the older intakes; each application that has one is approved or delivered.
    cards = Card.objects.select_related("application")
    assert cards.count() >= COUNT // 2
    assert {c.application.status for c in cards} <= {"approved", "delivered"}
    # The images are real encrypted files the supervisor can read back.
    supervisor = User.objects.get(username="thachha.unitmanager")
    blob = BiometricBlob.objects.order_by("digest").first()
    image = biostore.blob_read(actor=supervisor, digest=blob.digest, purpose="test")
    assert image.startswith(b"\x89PNG") and len(image) == blob.size

    stats = selectors.timing_stats(supervisor)
    assert stats.count == COUNT + 1  # the conflict's intake is finished too
    assert [s.step for s in stats.steps] == ["confirm", "fingerprints", "face", "review", "sign"]
    assert 3.5 <= stats.median_min <= 9
    assert {g.label for g in stats.by_station} == {"DEMO-18100", "DEMO-18100-LD"}
    assert all(s.median_server_ms > 0 for s in stats.steps)

    # The rollups are the ones the services wrote: a rebuild from the events agrees.
    incremental = _rollups()
    rollups_rebuild()
    assert _rollups() == incremental

    # Idempotent: a second run adds nothing.
    counts = (Application.objects.count(), Capture.objects.count(), AuditEntry.objects.count())
    demo.load_enrolment(ctx)
    assert (
        Application.objects.count(),
        Capture.objects.count(),
        AuditEntry.objects.count(),
    ) == counts
    assert "already there" in lines[-1]
    assert Station.objects.count() == 2
