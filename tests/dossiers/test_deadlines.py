"""Due dates through the services and the database calendar, asserted as exact dates.

The pure rule is tested in tests/core/test_workdays.py; here the dates come out of
``dossier_receive`` / ``dossier_supplement_receive`` with the adjustments that migration
0003 seeded into ``WorkdayAdjustment`` and that an administrator can edit.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.core.errors import DomainError, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import services
from cancuoc.dossiers.calendar import (
    work_calendar,
    workday_adjustment_delete,
    workday_adjustment_set,
)
from cancuoc.dossiers.models import WorkdayAdjustment
from tests.dossiers.factories import Desk, local, procedure, received_dossier

D = dt.date


@pytest.fixture
def desk(world):
    return Desk(world.commune_a, "a")


def due(desk, days: int, at: dt.datetime) -> dt.date:
    return received_dossier(actor=desk.clerk, proc=procedure(days=days), at=at).due_date


def test_the_seeded_adjustments_are_in_the_database(db):
    rows = dict(WorkdayAdjustment.objects.values_list("day", "is_working_day"))
    assert rows[D(2025, 4, 26)] is True
    assert rows[D(2025, 5, 2)] is False
    assert rows[D(2026, 1, 10)] is True
    assert rows[D(2026, 1, 2)] is False
    assert len(rows) == 8


def test_across_tet_2021(desk):
    # Tết 2021: 10–16/2 off. Tuesday 9/2 + 3 working days = 17, 18, 19/2.
    assert due(desk, 3, local(2021, 2, 9, 9)) == D(2021, 2, 19)


def test_across_tet_2026(desk):
    # Tết 2026: 16–20/2 (Monday–Friday) off. Friday 13/2 + 2 = Monday 23, Tuesday 24/2.
    assert due(desk, 2, local(2026, 2, 13, 10)) == D(2026, 2, 24)
    # Received on the last day before Tết after 15:00: counts from Monday 23/2.
    assert due(desk, 1, local(2026, 2, 13, 15, 30)) == D(2026, 2, 24)


def test_holiday_on_a_weekend_is_made_up_on_the_next_working_day(desk):
    # 1/5/2021 fell on a Saturday: Monday 3/5/2021 was the make-up day off.
    assert due(desk, 1, local(2021, 4, 29, 9)) == D(2021, 5, 4)


def test_working_saturday_swap(desk):
    # 2025: Saturday 26/4 worked in exchange for Friday 2/5 (30/4 and 1/5 are holidays).
    assert due(desk, 1, local(2025, 4, 25, 9)) == D(2025, 4, 26)
    assert due(desk, 3, local(2025, 4, 25, 9)) == D(2025, 4, 29)
    assert due(desk, 4, local(2025, 4, 25, 9)) == D(2025, 5, 5)
    # 2026: Saturday 10/1 worked in exchange for Friday 2/1.
    assert due(desk, 1, local(2026, 1, 9, 9)) == D(2026, 1, 10)
    assert due(desk, 1, local(2025, 12, 31, 16)) == D(2026, 1, 6)


def test_the_15h_rule(desk):
    # Friday 7/3/2025: 15:00 still counts the same day, 15:00:01 from Monday.
    assert due(desk, 1, local(2025, 3, 7, 15, 0, 0)) == D(2025, 3, 10)
    assert due(desk, 1, local(2025, 3, 7, 15, 0, 1)) == D(2025, 3, 11)


def test_same_day_procedure_received_on_a_day_off_is_due_the_next_working_day(desk):
    # N = 0 ("on the day"): received on Saturday 1/3/2025, due Monday 3/3.
    assert due(desk, 0, local(2025, 3, 1, 9)) == D(2025, 3, 3)
    assert due(desk, 0, local(2025, 3, 3, 9)) == D(2025, 3, 3)
    assert due(desk, 0, local(2025, 3, 3, 16)) == D(2025, 3, 4)


def test_paused_supplement_request_across_tet_2026(desk):
    # Monday 9/2/2026, N = 7: 10–13/2, then Tết, then 23, 24, 25/2.
    dossier = received_dossier(actor=desk.clerk, proc=procedure(days=7), at=local(2026, 2, 9, 9))
    assert dossier.due_date == D(2026, 2, 25)
    desk.advance(dossier, until=lc.IN_APPRAISAL, at=local(2026, 2, 10, 9))
    services.dossier_supplement_request(
        actor=desk.clerk, dossier_id=dossier.pk, missing=["Sổ hộ khẩu"], at=local(2026, 2, 11, 9)
    )
    # Supplied Tuesday 24/2: (11/2, 24/2] holds 12, 13, 23, 24/2 = 4 working days.
    dossier = services.dossier_supplement_receive(
        actor=desk.clerk, dossier_id=dossier.pk, at=local(2026, 2, 24, 9)
    )
    assert dossier.paused_days == 4
    assert dossier.due_date == D(2026, 3, 3)
    step = dossier.transitions.get(action="supplement_receive")
    assert step.data == {
        "paused_working_days": 4,
        "old_due_date": "2026-02-25",
        "due_date": "2026-03-03",
    }


def test_two_pauses_add_up(desk):
    dossier = received_dossier(actor=desk.clerk, proc=procedure(days=5), at=local(2025, 3, 3, 9))
    desk.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    for asked, supplied in (
        (local(2025, 3, 4, 9), local(2025, 3, 5, 9)),
        (local(2025, 3, 6, 9), local(2025, 3, 10, 9)),
    ):
        services.dossier_supplement_request(
            actor=desk.clerk, dossier_id=dossier.pk, missing="x", at=asked
        )
        dossier = services.dossier_supplement_receive(
            actor=desk.clerk, dossier_id=dossier.pk, at=supplied
        )
    # 1 + 2 (Friday 7 and Monday 10/3) paused working days: 10/3 + 3 = 13/3.
    assert dossier.paused_days == 3
    assert dossier.due_date == D(2025, 3, 13)


def test_an_administrator_edits_the_calendar_and_new_deadlines_follow(desk, hana):
    earlier = received_dossier(actor=desk.clerk, proc=procedure(days=5), at=local(2025, 3, 3, 9))
    assert earlier.due_date == D(2025, 3, 10)
    with pytest.raises(PermissionDenied):
        workday_adjustment_set(actor=desk.clerk, day=D(2025, 3, 7), is_working_day=False, note="x")
    with pytest.raises(DomainError):
        workday_adjustment_set(actor=hana, day=D(2025, 3, 7), is_working_day=False, note=" ")
    assert not WorkdayAdjustment.objects.filter(day=D(2025, 3, 7)).exists()

    workday_adjustment_set(
        actor=hana, day=D(2025, 3, 7), is_working_day=False, note="Nghỉ bù thử", source="test"
    )
    assert not work_calendar().is_working_day(D(2025, 3, 7))
    assert due(desk, 5, local(2025, 3, 3, 9)) == D(2025, 3, 11)
    # The dossier received earlier keeps its date.
    earlier.refresh_from_db()
    assert earlier.due_date == D(2025, 3, 10)
    assert AuditEntry.objects.filter(action="calendar.adjustment_set").count() == 1

    workday_adjustment_delete(actor=hana, day=D(2025, 3, 7))
    assert work_calendar().is_working_day(D(2025, 3, 7))
    assert due(desk, 5, local(2025, 3, 3, 9)) == D(2025, 3, 10)
    with pytest.raises(DomainError):
        workday_adjustment_delete(actor=hana, day=D(2025, 3, 7))
    assert AuditEntry.objects.filter(action="calendar.adjustment_delete").count() == 1


def test_a_working_saturday_added_by_an_administrator(desk, root):
    workday_adjustment_set(actor=root, day=D(2025, 3, 8), is_working_day=True, note="Làm bù")
    assert due(desk, 1, local(2025, 3, 7, 9)) == D(2025, 3, 8)
