"""The dossier hook: approval makes the card, the desk's steps move it to the citizen."""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.core.errors import PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.dossiers import services as desk
from cancuoc.enrolment import hooks, services
from cancuoc.enrolment.card import card_expiry_date, card_qr_payload
from cancuoc.enrolment.models import Application, Card
from cancuoc.enrolment.mrz import card_mrz
from cancuoc.registry.models import IdentityDocument
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT
APPROVED_AT = ef.local(2025, 9, 18, 10)


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    ef.load_card_procedures()
    hooks.install()  # idempotent: apps.ready() already did it


@pytest.fixture
def citizen(world):
    person = factories.citizen(
        unit=world.commune_a,
        full_name="Đỗ Văn Đức",
        birth_date=dt.date(1985, 4, 2),
        sex="M",
        permanent_address="Thôn 1, xã Thạch Hà",
    )
    IdentityDocument.objects.create(
        citizen=person, province_code="42", kind="cmnd9", number="183456789", status="valid"
    )
    return person


def test_approval_makes_the_card_and_registry_row(station_a, op_a, sup_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    (card,) = services.application_approve(
        actor=sup_a, application_ids=[application.pk], at=APPROVED_AT
    )
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.dossier.status == "signed"
    issue = dt.date(2025, 9, 18)
    expiry = card_expiry_date(birth_date=dt.date(1985, 4, 2), issue_date=issue)
    assert expiry == dt.date(2025, 4, 2).replace(year=2045)  # next milestone: 60
    assert (card.number, card.issue_date, card.expiry_date, card.status) == (
        citizen.id_number,
        issue,
        expiry,
        "in_production",
    )
    assert card.mrz == str(
        card_mrz(
            id_number=citizen.id_number,
            full_name="Đỗ Văn Đức",
            birth_date=dt.date(1985, 4, 2),
            sex="M",
            expiry=expiry,
        )
    )
    assert card.mrz.split("\n")[2].startswith("DO<<VAN<DUC<")
    assert card.qr_payload == card_qr_payload(
        id_number=citizen.id_number,
        old_cmnd="183456789",
        full_name="Đỗ Văn Đức",
        birth_date=dt.date(1985, 4, 2),
        sex="M",
        residence="Thôn 1, xã Thạch Hà",
        issue_date=issue,
    )
    document = card.document
    assert (document.kind, document.status, document.issue_date, document.expiry_date) == (
        "cancuoc",
        "in_production",
        issue,
        expiry,
    )
    assert IdentityDocument.objects.filter(citizen=citizen, kind="cancuoc").count() == 1
    assert AuditEntry.objects.filter(action="card.create").count() == 1


def test_ready_and_delivered_follow_the_dossier(station_a, op_a, sup_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    (card,) = services.application_approve(
        actor=sup_a, application_ids=[application.pk], at=APPROVED_AT
    )
    # The desk marks the result ready through the dossier; the card follows.
    desk.dossier_result_ready(actor=op_a, dossier_id=application.dossier_id, at=APPROVED_AT)
    card.refresh_from_db()
    assert card.status == "ready"
    handed = services.card_hand_over(actor=op_a, card_id=card.pk, at=APPROVED_AT)
    assert handed.status == "delivered"
    application.refresh_from_db()
    assert application.status == "delivered"
    assert application.dossier.status == "returned"
    statuses = dict(IdentityDocument.objects.filter(citizen=citizen).values_list("kind", "status"))
    assert statuses == {"cmnd9": "expired", "cancuoc": "valid"}
    assert IdentityDocument.objects.get(kind="cmnd9").expiry_date == dt.date(2025, 9, 18)


def test_card_mark_ready_drives_the_dossier(station_a, op_a, sup_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    (card,) = services.application_approve(
        actor=sup_a, application_ids=[application.pk], at=APPROVED_AT
    )
    (ready,) = services.card_mark_ready(actor=op_a, card_ids=[card.pk], at=APPROVED_AT)
    assert ready.status == "ready"
    assert Application.objects.get(pk=application.pk).dossier.status == "result_ready"
    # Marking again is harmless; handing over before "ready" is refused.
    assert services.card_mark_ready(actor=op_a, card_ids=[card.pk], at=APPROVED_AT)[0].pk == card.pk


def test_hand_over_before_ready_is_refused(station_a, op_a, sup_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    (card,) = services.application_approve(
        actor=sup_a, application_ids=[application.pk], at=APPROVED_AT
    )
    with pytest.raises(services.IllegalAction):
        services.card_hand_over(actor=op_a, card_id=card.pk, at=APPROVED_AT)
    card.refresh_from_db()
    assert card.status == "in_production"


def test_refusal_refuses_the_application(station_a, op_a, sup_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    desk.dossier_refuse(
        actor=sup_a, dossier_id=application.dossier_id, reason="Sai thông tin", at=APPROVED_AT
    )
    application.refresh_from_db()
    assert application.status == "refused"
    assert not Card.objects.exists()
    assert IdentityDocument.objects.get(citizen=citizen, kind="cancuoc").status == "cancelled"
    # A refused citizen may apply again.
    again = services.application_start(
        actor=op_a, station_id=station_a.pk, citizen_id=citizen.pk, at=APPROVED_AT
    )
    assert again.status == "in_progress"


def test_withdrawal_at_the_desk_cancels_the_application(station_a, op_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    desk.dossier_withdraw(
        actor=op_a, dossier_id=application.dossier_id, reason="Công dân rút", at=APPROVED_AT
    )
    application.refresh_from_db()
    assert application.status == "cancelled"


def test_approve_needs_the_approval_capability_and_changes_nothing(station_a, op_a, citizen):
    application = ef.completed_application(station=station_a, citizen=citizen, actor=op_a)
    with pytest.raises(PermissionDenied):
        services.application_approve(actor=op_a, application_ids=[application.pk], at=APPROVED_AT)
    assert Application.objects.get(pk=application.pk).status == "completed"
    assert not Card.objects.exists()


def test_a_card_without_sex_rolls_the_approval_back(world, station_a, op_a, sup_a):
    person = factories.citizen(unit=world.commune_a, sex="M")
    application = ef.completed_application(station=station_a, citizen=person, actor=op_a)
    Application.objects.filter(pk=application.pk).update(
        confirmed_data={**application.confirmed_data, "sex": ""}
    )
    type(person).objects.filter(pk=person.pk).update(sex="")
    with pytest.raises(services.EnrolmentError):
        services.application_approve(actor=sup_a, application_ids=[application.pk], at=APPROVED_AT)
    application.refresh_from_db()
    assert (application.status, application.dossier.status) == ("completed", "in_appraisal")
