"""Attendance comes from enrolment: the receiver of `enrolment_completed`."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation

from cancuoc.campaigns.models import Invitation
from cancuoc.campaigns.services import invitations as inv
from cancuoc.core.models import AuditEntry, DailyRollup, Event
from cancuoc.enrolment.models import Application
from cancuoc.enrolment.signals import enrolment_completed
from tests import factories
from tests.campaigns import session_factories as sf
from tests.enrolment import factories as ef


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _invited(world, alice, hana, person=None):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    person = person or factories.citizen(unit=world.commune_a)
    made = inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[person.pk])
    return scene, session, person, made.invited[0]


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(8, 5)))


def test_a_completed_enrolment_marks_the_invitation_attended(world, alice, hana):
    scene, session, person, invitation = _invited(world, alice, hana)
    stand_in = SimpleNamespace(pk=uuid.uuid4())
    enrolment_completed.send(
        sender=Application, application=stand_in, citizen=person, at=_at(session.day)
    )
    invitation.refresh_from_db()
    assert invitation.status == "attended"
    assert invitation.application_id is None  # a stand-in is not linked
    event = Event.objects.get(kind="invitation.attended")
    assert (event.subject, event.measures, event.unit_id, event.day) == (
        f"campaign:{scene.camp.slug}", {"attended": 1}, world.commune_a.pk, session.day,
    )  # fmt: skip
    rollup = DailyRollup.objects.get(
        unit=world.commune_a, day=session.day, subject=f"campaign:{scene.camp.slug}",
        measure="attended",
    )  # fmt: skip
    assert rollup.value == 1
    assert AuditEntry.objects.filter(action="campaigns.invitation.attended").count() == 1
    # The place stays counted: an attended citizen holds their slot.
    assert sf.slots(session)[0] == ("07:30", "08:00", 5, 1)


def test_a_real_application_is_linked(world, alice, hana):
    _scene, session, person, invitation = _invited(world, alice, hana)
    operator = ef.operator(world.commune_a)
    station = ef.station(unit=world.commune_a, operators=[operator])
    application = Application.objects.create(
        citizen=person, province_code="42", unit=world.commune_a, unit_path=world.commune_a.path,
        station=station, operator=operator, kind="first", law="2023", status="completed",
        step="sign", started_at=_at(session.day), completed_at=_at(session.day),
    )  # fmt: skip
    enrolment_completed.send(
        sender=Application, application=application, citizen=person, at=_at(session.day)
    )
    invitation.refresh_from_db()
    assert (invitation.status, invitation.application_id) == ("attended", application.pk)


def test_nothing_happens_without_an_expected_invitation(world, alice, hana):
    _scene, session, person, invitation = _invited(world, alice, hana)
    inv.invitation_mark(actor=alice, invitation_id=invitation.pk, status="cancelled")
    stranger = factories.citizen(unit=world.commune_a, full_name="Không được mời")
    for citizen in (person, stranger):
        enrolment_completed.send(
            sender=Application, application=None, citizen=citizen, at=_at(session.day)
        )
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"
    assert not Event.objects.filter(kind="invitation.attended").exists()


def test_the_nearest_invitation_wins_and_attended_is_final(world, alice, hana):
    _scene, _session, person, first = _invited(world, alice, hana)
    other_campaign = sf.campaign(world.hatinh, hana)
    later = sf.session(alice, other_campaign, world.commune_a, sf.team(world.commune_a),
                       on=sf.day(20))  # fmt: skip
    second = inv.invitations_create(
        actor=alice, session_id=later.pk, citizen_ids=[person.pk]
    ).invited[0]
    enrolment_completed.send(
        sender=Application, application=None, citizen=person, at=_at(sf.day(19))
    )
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "invited", second.pk: "attended"}
    enrolment_completed.send(
        sender=Application, application=None, citizen=person, at=_at(sf.day(19))
    )
    assert dict(Invitation.objects.values_list("pk", "status")) == {
        first.pk: "attended", second.pk: "attended",
    }  # fmt: skip


def test_a_receiver_failure_never_undoes_the_enrolment(world, alice, hana, monkeypatch):
    from django.db import DatabaseError

    from cancuoc.campaigns import signals

    _scene, session, person, invitation = _invited(world, alice, hana)

    def broken(*args, **kwargs):
        raise DatabaseError("lock timeout")

    monkeypatch.setattr(signals, "_attend", broken)
    responses = enrolment_completed.send(
        sender=Application, application=None, citizen=person, at=_at(session.day)
    )
    assert [r for _receiver, r in responses] == [None]
    invitation.refresh_from_db()
    assert invitation.status == "invited"


def test_the_whole_enrolment_marks_attendance(world, alice, hana):
    """Through the real enrolment services (issue 5), when they are available."""
    _scene, session, person, invitation = _invited(world, alice, hana)
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a)
    station = ef.station(unit=world.commune_a, operators=[operator])
    ef.session(station=station, day=session.day, opened_at=_at(session.day))
    application = ef.completed_application(
        station=station, citizen=person, actor=operator, at=_at(session.day)
    )
    invitation.refresh_from_db()
    assert (invitation.status, invitation.application_id) == ("attended", application.pk)
