"""Invitations: choosing from the cohort, slots with the show-up rate, statuses, rebooking,
home visits and school sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.models import (
    LIVE_INVITATION_STATUSES,
    Invitation,
    InvitationStatus,
    SessionStatus,
    SiteKind,
    Slot,
)
from cancuoc.campaigns.services import invitations as inv
from cancuoc.campaigns.services import sessions as svc
from cancuoc.campaigns.services._common import InvitationError, SessionError, SlotFull
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry, DailyRollup
from cancuoc.registry.models import Household
from tests import factories
from tests.campaigns import session_factories as sf

T = dt.time


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


# --- The transition table (pure) --------------------------------------------------------


def test_the_tables_name_the_models_statuses():
    assert set(lifecycle.INVITATION_STATUSES) == set(InvitationStatus.values)
    assert set(lifecycle.SESSION_STATUSES) == set(SessionStatus.values)
    assert {str(s) for s in LIVE_INVITATION_STATUSES} == lifecycle.HOLDING
    assert set(lifecycle.INVITATION_TRANSITIONS) == set(InvitationStatus.values)


def test_final_statuses_go_nowhere():
    for target in lifecycle.INVITATION_STATUSES:
        assert not lifecycle.invitation_can("attended", target)
        assert not lifecycle.invitation_can("cancelled", target)
    assert lifecycle.invitation_can("no_show", "rescheduled")
    assert not lifecycle.invitation_can("no_show", "attended")
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.invitation_next("cancelled", "invited")


@given(st.lists(st.sampled_from(lifecycle.INVITATION_STATUSES), min_size=1, max_size=12))
def test_the_slot_counter_follows_any_legal_walk(targets):
    """Walking the table from "invited", the counter's changes sum to whether the final
    status holds a place: the counter never drifts."""
    status, held = "invited", 1
    for target in targets:
        if lifecycle.invitation_can(status, target):
            held += lifecycle.slot_delta(status, target)
            status = target
        assert held == int(status in lifecycle.HOLDING)
        assert held in (0, 1)


# --- Choosing from the cohort -----------------------------------------------------------


def test_invitations_fill_slots_up_to_capacity_over_the_show_up_rate(world, alice, hana):
    scene = sf.scene(world, alice, hana)  # show-up 85 %
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)  # 10 served, 11 asked
    people = sf.citizens(world.commune_a, 13)
    factories.citizen(unit=world.commune_b, full_name="Người xã khác")
    result = inv.invitations_create(actor=alice, session_id=session.pk)
    assert len(result.invited) == 11
    assert result.skipped == []
    assert len(result.not_placed) == 2
    assert sf.slots(session) == [("07:30", "08:00", 5, 5), ("08:00", "08:30", 6, 6)]
    invited = {i.citizen_id for i in Invitation.objects.filter(session=session)}
    assert invited == {c.pk for c in people[:11]}  # cohort order: by name
    assert {i.priority for i in result.invited} == {"regular"}
    assert all(len(i.code) == 10 and set(i.code) <= set(inv.CODE_ALPHABET) for i in result.invited)
    rollup = DailyRollup.objects.get(
        unit=world.commune_a, day=session.day, subject=f"campaign:{scene.camp.slug}",
        measure="invited",
    )  # fmt: skip
    assert rollup.value == 11
    entry = AuditEntry.objects.get(action="campaigns.invitations.create")
    assert entry.detail["invited"] == 11 and entry.detail["not_placed"] == 2
    # The cohort read is audited as a read of personal data.
    assert AuditEntry.objects.filter(action="campaigns.invitation.choose").count() == 1


def test_choosing_by_hamlet_household_priority_school_and_age(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00",
                         end="11:00", sets=2)  # fmt: skip
    a = world.commune_a
    household = Household.objects.create(
        province_code="42", number="HK-001", unit=a, unit_path=a.path, address="Thôn 4, Xã Thạch Hà"
    )
    thon3 = factories.citizen(unit=a, full_name="Lê Thị Ba", current_address="Thôn 3, Xã Thạch Hà")
    family = [
        factories.citizen(
            unit=a,
            full_name=f"Trần Văn {n}",
            household=household,
            current_address="Thôn 4, Xã Thạch Hà",
        )
        for n in ("Một", "Hai")
    ]
    frail = factories.citizen(unit=a, full_name="Phạm Văn Cụ", frail_elderly=True)
    student = factories.citizen(
        unit=a,
        full_name="Hồ Văn Sinh",
        birth_date=sf.day() - dt.timedelta(days=15 * 366),
        school="THPT Lê Quý Đôn",
    )
    old = factories.citizen(unit=a, full_name="Võ Thị Lão", birth_date=dt.date(1950, 1, 1))

    def pick(**filters):
        result = inv.invitations_create(actor=alice, session_id=session.pk, **filters)
        picked = sorted(i.citizen_id for i in result.invited)
        Invitation.objects.filter(pk__in=[i.pk for i in result.invited]).update(status="cancelled")
        Slot.objects.filter(session=session).update(booked=0)
        return picked

    assert pick(hamlet="thon 3") == [thon3.pk]
    assert pick(hamlet="Thôn 4") == sorted(c.pk for c in family)
    assert pick(household_id=household.pk) == sorted(c.pk for c in family)
    assert pick(priority="frail_elderly") == [frail.pk]
    assert pick(priority="school") == [student.pk]
    assert pick(school="thpt le quy don") == [student.pk]
    assert pick(age_from=70) == [old.pk]
    assert pick(age_from=14, age_to=17) == [student.pk]
    with pytest.raises(InvitationError, match="Unknown priority group"):
        pick(priority="vip")


def test_a_citizen_invited_twice_is_a_clear_error_and_a_batch_skips_them(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew, site="Nhà văn hóa thôn 3")
    person = factories.citizen(unit=world.commune_a, full_name="Đỗ Văn Hai")
    first = inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[person.pk])
    code = inv.code_display(first.invited[0].code)
    with pytest.raises(inv.AlreadyInvited) as caught:
        inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[person.pk])
    assert caught.value.message == (
        f"Đỗ Văn Hai is already invited in this campaign: Nhà văn hóa thôn 3 on "
        f"{session.day:%d/%m/%Y} at 07:30 (invitation {code})."
    )
    with pytest.raises(inv.AlreadyInvited):
        inv.invitation_book(actor=alice, slot_id=first.invited[0].slot_id, citizen_id=person.pk)
    other = factories.citizen(unit=world.commune_a, full_name="Đỗ Văn Ba")
    batch = inv.invitations_create(
        actor=alice, session_id=session.pk, citizen_ids=[person.pk, other.pk]
    )
    assert batch.skipped == [person.pk]
    assert [i.citizen_id for i in batch.invited] == [other.pk]
    assert Invitation.objects.filter(citizen=person).count() == 1
    assert sf.slots(session) == [("07:30", "08:00", 5, 2), ("08:00", "08:30", 6, 0)]


def test_booking_a_full_slot_changes_nothing(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    slot = Slot.objects.filter(session=session).order_by("start").first()
    people = sf.citizens(world.commune_a, 6)
    for person in people[:5]:
        inv.invitation_book(actor=alice, slot_id=slot.pk, citizen_id=person.pk)
    with pytest.raises(SlotFull) as caught:
        inv.invitation_book(actor=alice, slot_id=slot.pk, citizen_id=people[5].pk)
    assert caught.value.message == "This time slot is full; nothing was changed."
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked) == (5, 5)
    assert not Invitation.objects.filter(citizen=people[5]).exists()


def test_a_reschedule_into_a_full_slot_is_refused_and_nothing_changes(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    early, late = Slot.objects.filter(session=session).order_by("start")
    people = sf.citizens(world.commune_a, 7)
    moving = inv.invitation_book(actor=alice, slot_id=early.pk, citizen_id=people[0].pk)
    for person in people[1:7]:
        inv.invitation_book(actor=alice, slot_id=late.pk, citizen_id=person.pk)
    with pytest.raises(SlotFull):
        inv.invitation_reschedule(actor=alice, invitation_id=moving.pk, slot_id=late.pk)
    moving.refresh_from_db()
    assert (moving.slot_id, moving.status) == (early.pk, "invited")
    assert sf.slots(session) == [("07:30", "08:00", 5, 1), ("08:00", "08:30", 6, 6)]


def test_a_reschedule_moves_the_place_atomically(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    s2 = sf.session(alice, scene.camp, world.commune_a, scene.crew, on=sf.day(8))
    person = factories.citizen(unit=world.commune_a)
    invitation = inv.invitations_create(actor=alice, session_id=s1.pk,
                                        citizen_ids=[person.pk]).invited[0]  # fmt: skip
    target = Slot.objects.filter(session=s2).order_by("start").last()
    moved = inv.invitation_reschedule(actor=alice, invitation_id=invitation.pk, slot_id=target.pk)
    assert (moved.status, moved.session_id, moved.slot_id) == ("rescheduled", s2.pk, target.pk)
    assert sf.slots(s1) == [("07:30", "08:00", 5, 0), ("08:00", "08:30", 6, 0)]
    assert sf.slots(s2) == [("07:30", "08:00", 5, 0), ("08:00", "08:30", 6, 1)]
    subject = f"campaign:{scene.camp.slug}"
    by_day = dict(
        DailyRollup.objects.filter(subject=subject, measure="invited").values_list("day", "value")
    )
    assert by_day == {s1.day: 0, s2.day: 1}
    with pytest.raises(InvitationError, match="already at this time"):
        inv.invitation_reschedule(actor=alice, invitation_id=invitation.pk, slot_id=target.pk)


def test_marks_follow_the_table_and_free_places(world, alice, bob, hana):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    people = sf.citizens(world.commune_a, 2)
    made = inv.invitations_create(
        actor=alice, session_id=session.pk, citizen_ids=[c.pk for c in people]
    ).invited
    inv.invitation_mark(actor=alice, invitation_id=made[0].pk, status="reminded")
    inv.invitation_mark(actor=alice, invitation_id=made[0].pk, status="no_show")
    inv.invitation_mark(actor=alice, invitation_id=made[1].pk, status="cancelled")
    assert sf.slots(session)[0] == ("07:30", "08:00", 5, 0)
    with pytest.raises(InvitationError) as caught:
        inv.invitation_mark(actor=alice, invitation_id=made[1].pk, status="reminded")
    assert caught.value.message == "An invitation that is cancelled cannot become reminded."
    with pytest.raises(InvitationError, match="Choose reminded"):
        inv.invitation_mark(actor=alice, invitation_id=made[1].pk, status="attended")
    with pytest.raises(PermissionDenied):
        inv.invitation_mark(actor=bob, invitation_id=made[0].pk, status="cancelled")
    carl = factories.user(unit=world.camau, role="province_manager")
    with pytest.raises(OutOfScope):
        inv.invitation_mark(actor=carl, invitation_id=made[0].pk, status="cancelled")
    # A no-show may book again: the same invitation takes a place.
    late = Slot.objects.filter(session=session).order_by("start").last()
    again = inv.invitation_reschedule(actor=alice, invitation_id=made[0].pk, slot_id=late.pk)
    assert again.status == "rescheduled"
    assert sf.slots(session) == [("07:30", "08:00", 5, 0), ("08:00", "08:30", 6, 1)]
    rollups = dict(
        DailyRollup.objects.filter(
            day=session.day, measure__in=["no_show", "cancelled", "reminded"]
        ).values_list("measure", "value")
    )
    assert rollups == {"no_show": 1, "cancelled": 1, "reminded": 1}


def test_invitation_reads_are_scoped(world, alice, bob, hana):
    scene = sf.scene(world, alice, hana)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    person = factories.citizen(unit=world.commune_a)
    inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[person.pk])
    assert inv.invitations_visible(user=alice, session_id=session.pk).count() == 1
    assert inv.invitations_visible(user=hana).count() == 1
    assert inv.invitations_visible(user=bob).count() == 0
    with pytest.raises(OutOfScope):
        inv.invitations_create(actor=bob.__class__.objects.get(username="hana"),
                               session_id=session.pk + 999)  # fmt: skip


# --- Home visits and school sessions ----------------------------------------------------


def test_home_visits_are_planned_from_the_priority_groups(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    a = world.commune_a
    bedridden = factories.citizen(unit=a, full_name="Ngô Thị Liệt", serious_illness=True,
                                  current_address="Thôn 5, Xã Thạch Hà")  # fmt: skip
    veteran = factories.citizen(unit=a, full_name="Bùi Văn Công", war_merit=True,
                                current_address="Thôn 1, Xã Thạch Hà")  # fmt: skip
    eighty = factories.citizen(unit=a, full_name="Đinh Thị Thọ", birth_date=dt.date(1935, 2, 2),
                               current_address="Thôn 2, Xã Thạch Hà")  # fmt: skip
    factories.citizen(unit=a, full_name="Người bình thường")
    session = svc.home_visits_plan(
        actor=alice, campaign_id=scene.camp.pk, unit_id=a.pk, day=sf.day(), team_id=scene.crew.pk
    )
    assert (session.site_kind, session.mobile, session.capacity) == (SiteKind.HOME, True, 3)
    assert sf.slots(session) == [
        ("08:00", "08:30", 1, 1), ("08:30", "09:00", 1, 1), ("09:00", "09:30", 1, 1),
    ]  # fmt: skip
    order = list(
        Invitation.objects.filter(session=session).order_by("slot__start")
        .values_list("citizen_id", "priority")
    )  # fmt: skip
    # Hamlet by hamlet: Thôn 1, 2, 5.
    assert order == [(veteran.pk, "home_visit"), (eighty.pk, "home_visit"),
                     (bedridden.pk, "home_visit")]  # fmt: skip
    # Planned again: nobody is left to visit.
    with pytest.raises(SessionError, match="Nobody in Xã Thạch Hà needs a home visit"):
        svc.home_visits_plan(actor=alice, campaign_id=scene.camp.pk, unit_id=a.pk,
                             day=sf.day(9), team_id=scene.crew.pk)  # fmt: skip


def test_a_school_session_invites_its_students(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    a = world.commune_a
    born = sf.day() - dt.timedelta(days=16 * 366)
    students = [
        factories.citizen(
            unit=a, full_name=f"Học Sinh {n}", birth_date=born, school="THPT Thạch Hà", grade="10A"
        )
        for n in range(3)
    ]
    factories.citizen(unit=a, full_name="Học Sinh Khác", birth_date=born, school="THCS Thạch Kênh")
    factories.citizen(unit=a, full_name="Người lớn")
    session = svc.school_session_plan(
        actor=alice, campaign_id=scene.camp.pk, unit_id=a.pk, school="THPT Thạch Hà",
        day=sf.day(), team_id=scene.crew.pk, start_time="07:30", end_time="08:00",
    )  # fmt: skip
    assert (session.site_kind, session.site_name, session.capacity) == (
        "school",
        "THPT Thạch Hà",
        5,
    )
    # Everyone is at school: planned at 100 %, 5 places for 5 served.
    assert sf.slots(session) == [("07:30", "08:00", 5, 3)]
    invited = set(Invitation.objects.filter(session=session).values_list("citizen_id", flat=True))
    assert invited == {s.pk for s in students}


# --- API --------------------------------------------------------------------------------


def test_the_api_invites_books_and_refuses_a_full_slot(client, world, alice, bob, hana):
    scene = sf.scene(world, alice, hana)
    client.force_login(alice)
    response = client.post(
        "/api/v1/campaigns/sessions",
        {"campaign_id": scene.camp.pk, "unit_id": world.commune_a.pk, "team_id": scene.crew.pk,
         "site_kind": "village_hall", "site_name": "Nhà văn hóa thôn 3", "day": str(sf.day()),
         "start_time": "07:30", "end_time": "08:00"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["capacity"], [(s["capacity"], s["booked"]) for s in body["slots"]]) == (
        5,
        [(5, 0)],
    )
    session_id, slot_id = body["id"], body["slots"][0]["id"]
    people = sf.citizens(world.commune_a, 6)
    invited = client.post(
        f"/api/v1/campaigns/sessions/{session_id}/invitations",
        {"citizen_ids": [p.pk for p in people[:5]]},
        content_type="application/json",
    ).json()
    assert [i["citizen_id"] for i in invited["invited"]] == [p.pk for p in people[:5]]
    full = client.post(
        "/api/v1/campaigns/invitations", {"slot_id": slot_id, "citizen_id": people[5].pk},
        content_type="application/json",
    )  # fmt: skip
    assert full.status_code == 400
    with translation.override("vi"):  # the API answers in the site's language
        assert full.json() == {"detail": SlotFull().message}
    listed = client.get(f"/api/v1/campaigns/invitations?session_id={session_id}").json()
    assert len(listed) == 5
    marked = client.post(
        f"/api/v1/campaigns/invitations/{listed[0]['id']}/status", {"status": "cancelled"},
        content_type="application/json",
    )  # fmt: skip
    assert marked.json()["status"] == "cancelled"
    client.force_login(bob)
    assert client.get(f"/api/v1/campaigns/sessions/{session_id}").status_code == 404
    assert client.get(f"/api/v1/campaigns/invitations/{listed[1]['id']}").status_code == 404
