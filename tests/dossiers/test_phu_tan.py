"""A constructed year of one desk reproduces the Phú Tân figures from the rollups alone.

The source article reports for Phú Tân: 1,286 dossiers returned, 1,003 on time, 283
early, 0 late. Here every dossier goes through the real services (on-the-spot sittings,
the main path, supplement pauses, returns on the due date), with distractors that must
not count (open, withdrawn, refused at intake, routed away), and the figures are read
back with one small query on ``DailyRollup``, the way the reports read them.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db.models import Sum

from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import prefix_q
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import services
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.models import Dossier
from tests.dossiers.factories import Desk, procedure, received_dossier

VN = dt.timezone(dt.timedelta(hours=7))
MEASURES = ("resolved", "resolved_early", "resolved_on_time", "resolved_late")


def resolved_counts(unit, start: dt.date, end: dt.date) -> dict[str, int]:
    """The report's query: sum the return measures over the unit subtree and period."""
    rows = (
        DailyRollup.objects.filter(prefix_q("unit_path", unit.path))
        .filter(day__range=(start, end), subject__startswith="proc:", measure__in=MEASURES)
        .values("measure")
        .annotate(total=Sum("value"))
    )
    found = {row["measure"]: row["total"] for row in rows}
    return {measure: found.get(measure, 0) for measure in MEASURES}


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    calendar = work_calendar()
    days, day = [], start
    while day <= end:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=VN)


@pytest.mark.django_db
def test_phu_tan_figures_from_the_rollups(world):
    desk = Desk(world.commune_a, "pt")
    other = Desk(world.commune_b, "pt_b")
    same_day = procedure(code="2.000635", days=0, on_the_spot=True)  # on time when done at once
    next_day = procedure(code="1.001193", days=2, on_the_spot=True)  # early when done at once
    three_days = procedure(code="1.004873", days=3)
    days = itertools.cycle(working_days(dt.date(2024, 1, 2), dt.date(2024, 12, 20)))

    def on_the_spot(proc, n: int) -> None:
        for _ in range(n):
            services.dossier_on_the_spot(
                actor=desk.clerk,
                procedure_code=proc.code,
                applicant_name="Công dân",
                at=at(next(days), 9),
            )

    # 953 on time and 233 early in one sitting.
    on_the_spot(same_day, 953)
    on_the_spot(next_day, 233)

    # 50 on time along the main path: returned exactly on the due date (one in five
    # after a supplement pause that moved the due date).
    for i in range(50):
        day = next(days)
        dossier = received_dossier(actor=desk.clerk, proc=three_days, at=at(day, 10))
        desk.advance(dossier, until=lc.IN_APPRAISAL, at=at(day, 11))
        if i % 5 == 0:
            services.dossier_supplement_request(
                actor=desk.clerk, dossier_id=dossier.pk, missing="Bản sao", at=at(day, 14)
            )
            services.dossier_supplement_receive(
                actor=desk.clerk,
                dossier_id=dossier.pk,
                at=at(work_calendar().add_working_days(day, 2), 9),
            )
        dossier = Dossier.objects.get(pk=dossier.pk)
        desk.advance(dossier, at=at(dossier.due_date, 16))
    # 50 early along the main path (one refused, still resolved early).
    for i in range(50):
        day = next(days)
        dossier = received_dossier(actor=desk.clerk, proc=three_days, at=at(day, 8))
        if i == 0:
            desk.advance(dossier, until=lc.IN_APPRAISAL, at=at(day, 9))
            dossier = services.dossier_refuse(
                actor=desk.approver,
                dossier_id=dossier.pk,
                reason="Không đủ điều kiện",
                at=at(day, 10),
            )
        desk.advance(dossier, at=at(work_calendar().add_working_days(day, 1), 9))

    # Distractors: none of these is a returned dossier of this unit.
    d = received_dossier(actor=desk.clerk, proc=three_days, at=at(dt.date(2024, 3, 4), 9))
    services.dossier_withdraw(
        actor=desk.clerk, dossier_id=d.pk, reason="Rút", at=at(dt.date(2024, 3, 5), 9)
    )
    services.dossier_reject_at_intake(
        actor=desk.clerk,
        procedure_code=three_days.code,
        applicant_name="X",
        reason="Sai thẩm quyền",
        at=at(dt.date(2024, 3, 4), 9),
    )
    received_dossier(
        actor=desk.clerk, proc=three_days, at=at(dt.date(2024, 12, 2), 9)
    )  # still open, overdue
    routed = received_dossier(actor=desk.clerk, proc=three_days, at=at(dt.date(2024, 5, 6), 9))
    services.dossier_route(
        actor=desk.clerk,
        dossier_id=routed.pk,
        unit_id=world.commune_b.pk,
        at=at(dt.date(2024, 5, 6), 10),
    )
    other.advance(
        Dossier.objects.get(pk=routed.pk), at=at(dt.date(2024, 5, 20), 9)
    )  # late, but in commune B

    counts = resolved_counts(world.commune_a, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert counts == {
        "resolved": 1286,
        "resolved_early": 283,
        "resolved_on_time": 1003,
        "resolved_late": 0,
    }
    # The rollups agree with the dossiers themselves.
    returned = Dossier.objects.filter(unit=world.commune_a, status=lc.RETURNED)
    assert returned.count() == 1286
    assert returned.filter(timeliness="on_time").count() == 1003
    assert returned.filter(timeliness="early").count() == 283
    assert (
        resolved_counts(world.commune_b, dt.date(2024, 1, 1), dt.date(2024, 12, 31))[
            "resolved_late"
        ]
        == 1
    )
