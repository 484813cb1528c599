"""Sessions: capacity, slots, the checks at creation, changes that move citizens."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.campaigns.models import (
    EquipmentSet,
    Invitation,
    NoticeJob,
    OutboundMessage,
    Session,
    Slot,
)
from cancuoc.campaigns.services import invitations as inv
from cancuoc.campaigns.services import sessions as svc
from cancuoc.campaigns.services._common import SessionError
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import DailyRollup
from tests.campaigns import session_factories as sf

T = dt.time


@pytest.fixture(autouse=True)
def english():
    """Messages are checked in English (the msgids), whatever the catalogue holds."""
    with translation.override("en"):
        yield


# --- Pure maths -------------------------------------------------------------------------


def test_capacity_is_sets_times_minutes_over_service_minutes():
    assert svc.session_capacity(sets=2, minutes_open=240, service_minutes=6) == 80
    assert svc.session_capacity(sets=3, minutes_open=4 * 60, service_minutes=Decimal("6.5")) == 110
    assert svc.session_capacity(sets=1, minutes_open=5, service_minutes=6) == 0


def test_slots_carry_the_show_up_rate_and_add_up_exactly():
    specs = svc.slots_plan(
        windows=[(T(7, 30), T(8, 30))], slot_minutes=30, sets=1, service_minutes=6,
        show_up_rate=85,
    )  # fmt: skip
    # 5 served per half hour; invited: floor(30/6/0.85)=5, then floor(60/6/0.85)=11 → 6.
    assert [(s.start, s.end, s.capacity, s.serves) for s in specs] == [
        (T(7, 30), T(8, 0), 5, 5),
        (T(8, 0), T(8, 30), 6, 5),
    ]


@given(
    sets=st.integers(1, 8),
    minutes=st.lists(st.integers(1, 300), min_size=1, max_size=3),
    slot=st.integers(5, 90),
    service=st.sampled_from([Decimal("4"), Decimal("5.5"), Decimal("6"), Decimal("7.3"), 9]),
    rate=st.integers(40, 100),
)
def test_slots_always_sum_to_the_session_figures(sets, minutes, slot, service, rate):
    windows, at = [], 6 * 60
    for length in minutes:
        start = at
        at = min(start + length, 23 * 60 + 59)
        if at > start:
            windows.append((T(start // 60, start % 60), T(at // 60, at % 60)))
        at += 15
        if at >= 23 * 60:
            break
    total = sum((b.hour * 60 + b.minute) - (a.hour * 60 + a.minute) for a, b in windows)
    specs = svc.slots_plan(
        windows=windows, slot_minutes=slot, sets=sets, service_minutes=service, show_up_rate=rate
    )
    assert sum(s.serves for s in specs) == svc.session_capacity(
        sets=sets, minutes_open=total, service_minutes=service
    )
    from fractions import Fraction

    expected = int(Fraction(sets * total) / Fraction(str(service)) / Fraction(rate, 100))
    assert sum(s.capacity for s in specs) == expected
    assert all(s.capacity > 0 for s in specs)
    assert all(s.end <= windows[-1][1] for s in specs)


# --- Create -----------------------------------------------------------------------------


def test_a_session_gets_slots_and_capacity(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    s = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:30", end="11:30",
                   sets=2)  # fmt: skip
    assert s.capacity == 80  # 2 sets × 240 min ÷ 6
    assert s.service_minutes == Decimal("6.0")
    rows = sf.slots(s)
    assert len(rows) == 8
    assert rows[0] == ("07:30", "08:00", 11, 0)  # 10 served ÷ 0.85 = 11.76
    assert sum(r[2] for r in rows) == 94  # floor(80 ÷ 0.85)
    rollup = DailyRollup.objects.get(
        unit=world.commune_a, day=s.day, subject=f"campaign:{scene.camp.slug}", measure="capacity"
    )
    assert rollup.value == 80


def test_shifts_leave_the_break_without_slots(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s = sf.session(
        alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="15:00",
        shifts=[{"start": "13:00", "end": "14:00", "staff": 3},
                {"start": "07:00", "end": "08:00", "staff": 3}],
    )  # fmt: skip
    assert [r[:3] for r in sf.slots(s)] == [
        ("07:00", "07:30", 5), ("07:30", "08:00", 5), ("13:00", "13:30", 5), ("13:30", "14:00", 5),
    ]  # fmt: skip
    assert s.capacity == 20
    assert s.shifts[0] == {"start": "07:00", "end": "08:00", "staff": 3}


def test_the_measured_median_service_time_can_be_given(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="08:00",
                   service_minutes=Decimal("7.5"))  # fmt: skip
    assert s.capacity == 8
    assert [r[2] for r in sf.slots(s)] == [4, 4]


def test_a_session_at_a_unit_outside_the_campaign_is_refused(world, alice, hana):
    camp = sf.campaign(world.commune_a, hana)
    crew = sf.team(world.hatinh)
    with pytest.raises(SessionError) as caught:
        sf.session(hana, camp, world.commune_b, crew)
    assert caught.value.message == f"Xã Cẩm Xuyên is outside the campaign {camp.name}."
    assert Session.objects.count() == 0
    assert Slot.objects.count() == 0


def test_overlapping_sessions_for_one_team_are_refused_naming_the_other(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    first = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:30",
                       end="11:30", site="Nhà văn hóa thôn 3")  # fmt: skip
    with pytest.raises(SessionError) as caught:
        sf.session(alice, scene.camp, world.commune_a, scene.crew, start="11:00", end="12:00")
    assert caught.value.message == (
        f"The team Tổ lưu động số 1 already has a session at that time: Nhà văn hóa thôn 3 on "
        f"{first.day:%d/%m/%Y}, 07:30–11:30 (session {first.pk})."
    )
    assert Session.objects.count() == 1
    # Back to back is fine.
    second = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="11:30", end="12:00")
    assert second.pk != first.pk


def test_who_may_plan_sessions(world, alice, bob, hana):
    scene = sf.scene(world, alice, hana)
    with pytest.raises(PermissionDenied):
        sf.session(bob, scene.camp, world.commune_b, scene.crew)
    with pytest.raises(OutOfScope):
        sf.session(alice, scene.camp, world.commune_b, scene.crew)
    assert Session.objects.count() == 0


def test_a_day_outside_the_campaign_and_bad_times_are_refused(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    with pytest.raises(SessionError, match="within the campaign"):
        sf.session(alice, scene.camp, world.commune_a, scene.crew, on=sf.day(-3))
    with pytest.raises(SessionError, match="end after it starts"):
        sf.session(alice, scene.camp, world.commune_a, scene.crew, start="09:00", end="08:00")
    with pytest.raises(SessionError, match="HH:MM"):
        sf.session(alice, scene.camp, world.commune_a, scene.crew, start="7h30")
    with pytest.raises(SessionError, match="overlap"):
        sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="10:00",
                   shifts=[{"start": "07:00", "end": "08:30", "staff": 2},
                           {"start": "08:00", "end": "09:00", "staff": 2}])  # fmt: skip
    assert Session.objects.count() == 0


def test_equipment_must_be_the_teams_and_free(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    kit = EquipmentSet.objects.create(serial="K-1", unit=world.commune_a,
                                      unit_path=world.commune_a.path, team=scene.crew)  # fmt: skip
    stray = EquipmentSet.objects.create(serial="K-2", unit=world.commune_a,
                                        unit_path=world.commune_a.path)  # fmt: skip
    with pytest.raises(SessionError, match="not with the team"):
        sf.session(alice, scene.camp, world.commune_a, scene.crew, equipment_ids=[stray.pk])
    first = sf.session(alice, scene.camp, world.commune_a, scene.crew, equipment_ids=[kit.pk])
    assert list(first.equipment.all()) == [kit]
    other = sf.team(world.commune_a)
    kit.team = other
    kit.save()
    with pytest.raises(SessionError) as caught:
        sf.session(alice, scene.camp, world.commune_a, other, equipment_ids=[kit.pk])
    assert f"(session {first.pk})" in caught.value.message


# --- Change -----------------------------------------------------------------------------


def _invite_all(actor, session, people):
    result = inv.invitations_create(
        actor=actor, session_id=session.pk, citizen_ids=[c.pk for c in people]
    )
    return {i.citizen_id: i for i in result.invited}


def test_shortening_a_session_moves_exactly_the_citizens_of_the_lost_slot(
    world, alice, hana, django_capture_on_commit_callbacks
):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:30", end="08:30")
    s2 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="09:00", end="10:00",
                    site="Nhà văn hóa thôn 3")  # fmt: skip
    people = sf.citizens(world.commune_a, 10, phone="0912345678")
    first = _invite_all(alice, s1, people)
    assert sf.slots(s1) == [("07:30", "08:00", 5, 5), ("08:00", "08:30", 5, 5)]
    in_late_slot = sorted(c for c, i in first.items() if i.slot.start == T(8, 0))
    assert in_late_slot == sorted(c.pk for c in people[5:])

    with django_capture_on_commit_callbacks(execute=True):
        result = svc.session_change(actor=alice, session_id=s1.pk, end_time="08:00")

    assert (result.capacity_before, result.capacity_after) == (10, 5)
    assert sorted(m.citizen_id for m in result.moved) == in_late_slot
    assert result.unplaced == []
    assert {(m.new_session_id, m.new_start) for m in result.moved} == {(s2.pk, T(9, 0))}
    # Old invitations cancelled, new ones (new codes) in the next session.
    for move in result.moved:
        old = Invitation.objects.get(pk=move.old_invitation_id)
        new = Invitation.objects.get(pk=move.new_invitation_id)
        assert old.status == "cancelled"
        assert (new.status, new.session_id, new.citizen_id) == ("invited", s2.pk, old.citizen_id)
        assert new.code != old.code
    # The early slot's citizens did not move.
    stayed = Invitation.objects.filter(session=s1, status="invited")
    assert sorted(stayed.values_list("citizen_id", flat=True)) == sorted(c.pk for c in people[:5])
    assert sf.slots(s1) == [("07:30", "08:00", 5, 5), ("08:00", "08:30", 0, 0)]
    assert sf.slots(s2) == [("09:00", "09:30", 5, 5), ("09:30", "10:00", 5, 0)]
    # New notices and messages for the five who moved.
    job = result.notice_job
    job.refresh_from_db()
    assert (job.total, job.done, job.status) == (5, 5, NoticeJob.Status.DONE)
    assert sorted(job.invitation_ids) == sorted(m.new_invitation_id for m in result.moved)
    sent = OutboundMessage.objects.filter(invitation_id__in=job.invitation_ids)
    assert sent.count() == 5
    assert all("da doi sang 09:00" in m.text for m in sent)
    # The expected counts follow the citizens.
    subject = f"campaign:{scene.camp.slug}"
    invited = DailyRollup.objects.get(
        unit=world.commune_a, day=s1.day, subject=subject, measure="invited"
    )
    assert invited.value == 10  # both sessions are on the same day: 10 − 5 + 5


def test_fewer_sets_move_the_latest_invited_and_fill_the_same_session_first(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="08:00",
                    sets=2)  # fmt: skip
    people = sf.citizens(world.commune_a, 12)
    _invite_all(alice, s1, people)  # 10 + 10 places: 10 in the first slot, 2 in the second
    assert sf.slots(s1) == [("07:00", "07:30", 10, 10), ("07:30", "08:00", 10, 2)]
    first = {i.citizen_id: i for i in Invitation.objects.filter(session=s1)}
    result = svc.session_change(actor=alice, session_id=s1.pk, sets=1)
    # The first slot keeps its 5 earliest; of the 5 others, 3 fit in the free places at
    # 07:30 (which keeps its own 2) and 2 have nowhere to go (no later session).
    assert [m.citizen_id for m in result.moved] == [c.pk for c in people[5:8]]
    assert {(m.new_session_id, m.new_start) for m in result.moved} == {(s1.pk, T(7, 30))}
    assert result.unplaced == [first[c.pk].pk for c in people[8:10]]
    assert sf.slots(s1) == [("07:00", "07:30", 5, 5), ("07:30", "08:00", 5, 5)]
    assert Invitation.objects.filter(session=s1, status="invited").count() == 10
    assert Invitation.objects.filter(session=s1, status="cancelled").count() == 5


def test_citizens_with_nowhere_to_go_are_cancelled_and_reported(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="08:00")
    people = sf.citizens(world.commune_a, 10)
    first = _invite_all(alice, s1, people)
    result = svc.session_change(actor=alice, session_id=s1.pk, start_time="07:30")
    assert result.moved == []
    assert sorted(result.unplaced) == sorted(first[c.pk].pk for c in people[:5])
    assert sf.slots(s1) == [("07:00", "07:30", 0, 0), ("07:30", "08:00", 5, 5)]


def test_a_change_that_would_drop_attended_citizens_is_refused(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="08:00")
    people = sf.citizens(world.commune_a, 2)
    first = _invite_all(alice, s1, people)
    Invitation.objects.filter(pk=first[people[0].pk].pk).update(status="attended")
    with pytest.raises(SessionError, match="already attended at 07:00"):
        svc.session_change(actor=alice, session_id=s1.pk, start_time="07:30")
    s1.refresh_from_db()
    assert (s1.start_time, s1.capacity) == (T(7, 0), 10)
    assert sf.slots(s1) == [("07:00", "07:30", 5, 2), ("07:30", "08:00", 5, 0)]


def test_closing_a_session_marks_the_absent_and_frees_their_places(world, alice, hana):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00", end="07:30")
    people = sf.citizens(world.commune_a, 3)
    first = _invite_all(alice, s1, people)
    Invitation.objects.filter(pk=first[people[0].pk].pk).update(status="attended")
    svc.session_status_set(actor=alice, session_id=s1.pk, status="open")
    svc.session_status_set(actor=alice, session_id=s1.pk, status="closed")
    statuses = dict(Invitation.objects.values_list("citizen_id", "status"))
    assert statuses == {people[0].pk: "attended", people[1].pk: "no_show",
                        people[2].pk: "no_show"}  # fmt: skip
    assert sf.slots(s1) == [("07:00", "07:30", 5, 1)]
    with pytest.raises(SessionError, match="cannot become"):
        svc.session_status_set(actor=alice, session_id=s1.pk, status="open")


def test_calendar_reads_are_scoped(world, alice, bob, hana):
    scene = sf.scene(world, alice, hana)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    assert list(svc.sessions_visible(user=alice, team_id=scene.crew.pk)) == [s1]
    assert list(svc.sessions_visible(user=hana, campaign_id=scene.camp.pk)) == [s1]
    assert list(svc.sessions_visible(user=bob)) == []
    with pytest.raises(OutOfScope):
        svc.session_get(user=bob, session_id=s1.pk)
