"""Acceptance: the Hiệp Xương desk (Phú Tân, An Giang) figures, reproduced by the report.

Domain §1 (seed article): "of 1,286 cases, 1,003 returned on time and 283 early"; the
"Hai hỗ trợ công dân" model filed 126 dossiers for citizens at the hamlet office, and 120
results were taken to the home. The 1,286 dossiers, all returned in Jan–Sep 2024:

* 126 hamlet dossiers (civil-status extract, marital-status confirmation; 3 working days)
  through the real services along the main path — 100 returned on their due date, 26 a
  day early; 120 by post;
* 160 on the spot ("5 tại chỗ") through the real service: 123 of a same-day procedure (due
  the day they come in, so on time) and 37 of a one-day procedure (returned the day they
  come in, so early);
* the other 1,000 on-the-spot dossiers (780 same-day, 220 one-day) as the events that
  service appends — `dossier.receive` (received, received_counter) and `dossier.return`
  (resolved, resolved_<class>) on the day — through `core.events.event_append`, because
  1,000 more service calls would take most of a minute. The report reads rollups only,
  so it cannot tell the two apart; the 286 real dossiers prove the services write the
  same events.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cancuoc.core.errors import OutOfScope
from cancuoc.core.events import event_append
from cancuoc.core.workdays import VN_TZ
from cancuoc.dossiers import services
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.models import Channel, Dossier, ReturnMethod
from cancuoc.dossiers.reports import late_dossiers, timeliness_report
from tests import factories
from tests.dossiers.factories import Desk, procedure

pytestmark = pytest.mark.django_db

PERIOD = {"date_from": dt.date(2024, 1, 1), "date_to": dt.date(2024, 9, 30)}
TODAY = dt.date(2024, 10, 15)


def _working_days() -> list[dt.date]:
    calendar = work_calendar()
    day, days = PERIOD["date_from"], []
    while day <= dt.date(2024, 9, 20):
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 0), tzinfo=VN_TZ) + dt.timedelta(minutes=minutes)


@pytest.fixture
def hiep_xuong(world):
    angiang = factories.unit(parent=world.nation, code="89", name="Tỉnh An Giang")
    commune = factories.unit(parent=angiang, code="30500", name="Xã Hiệp Xương")
    desk = Desk(commune, "hx")
    manager = factories.user(unit=angiang, role="province_manager", username="angiang")
    extract = procedure(code="2.000635", name="Cấp bản sao trích lục hộ tịch", days=3)
    marital = procedure(code="1.004873", name="Xác nhận tình trạng hôn nhân", days=3)
    copy = procedure(code="2.000815", name="Chứng thực bản sao", days=0, on_the_spot=True)
    signature = procedure(code="2.000884", name="Chứng thực chữ ký", days=1, on_the_spot=True)
    days = _working_days()
    calendar = work_calendar()

    # "Hai hỗ trợ công dân": filed at the hamlet office, 120 results posted to the home.
    for i in range(126):
        received = _at(days[i % len(days)], 60 + i % 240)
        dossier = services.dossier_receive(
            actor=desk.clerk,
            procedure_code=(extract if i % 2 else marital).code,
            applicant_name=f"Người dân {i}",
            applicant_address="Ấp Hiệp Hòa, xã Hiệp Xương",
            channel=Channel.HAMLET,
            return_method=ReturnMethod.POST if i < 120 else ReturnMethod.COUNTER,
            at=received,
        )
        back = dossier.due_date if i < 100 else calendar.add_working_days(received.date(), 2)
        desk.advance(dossier, at=dt.datetime.combine(back, dt.time(16, 0), tzinfo=VN_TZ))

    # At the counter, on the spot: a sample through the service, the bulk as its events.
    for i in range(160):
        services.dossier_on_the_spot(
            actor=desk.clerk,
            procedure_code=(copy if i < 123 else signature).code,
            applicant_name=f"Công dân {i}",
            channel=Channel.COUNTER,
            at=_at(days[(i * 7) % len(days)], i % 400),
        )
    for i in range(1000):
        day = days[(i * 11) % len(days)]
        code, kind = (copy.code, "on_time") if i < 780 else (signature.code, "early")
        for name, measures in (
            ("receive", {"received": 1, "received_counter": 1}),
            ("return", {"resolved": 1, f"resolved_{kind}": 1}),
        ):
            event_append(
                kind=f"dossier.{name}",
                unit=commune,
                day=day,
                subject=f"proc:{code}",
                measures=measures,
                actor=desk.clerk,
            )
    return world, angiang, commune, manager


def test_the_report_reproduces_the_hiep_xuong_figures_exactly(hiep_xuong):
    world, angiang, commune, manager = hiep_xuong
    assert Dossier.objects.filter(unit=commune, status="returned").count() == 286
    report = timeliness_report(user=manager, unit=angiang, today=TODAY, **PERIOD)
    [row] = report.by_unit
    assert row.label == "Xã Hiệp Xương"
    assert row.as_dict() == {
        "key": "30500",
        "label": "Xã Hiệp Xương",
        "carried_over": 0,
        "received": 1286,
        "received_by_channel": {
            "counter": 1160,
            "mobile": 0,
            "home_visit": 0,
            "school": 0,
            "post": 0,
            "online_full": 0,
            "online_partial": 0,
            "hamlet": 126,
        },
        "resolved": 1286,
        "early": 283,
        "on_time": 1003,
        "late": 0,
        "withdrawn": 0,
        "open": 0,
        "within_term": 0,
        "overdue": 0,
        "apologised": 0,
        "rejected_intake": 0,
        "on_time_rate": 100.0,
    }
    assert report.total.as_dict() | {"key": "30500", "label": "Xã Hiệp Xương"} == row.as_dict()
    assert row.on_time_rate == Decimal("100.0")
    by_code = {r.key: (r.received, r.early, r.on_time) for r in report.by_procedure}
    assert by_code == {
        "1.004873": (63, 13, 50),
        "2.000635": (63, 13, 50),
        "2.000815": (903, 0, 903),
        "2.000884": (257, 257, 0),
    }
    assert late_dossiers(user=manager, unit=angiang, today=TODAY, **PERIOD) == []
    assert Dossier.objects.filter(unit=commune, return_method="post").count() == 120

    # Scope, both sides (one build of the 1,286 dossiers serves both; it takes a while).
    hana = factories.user(unit=world.hatinh, role="province_manager", username="hana")
    carl = factories.user(unit=world.camau, role="province_manager", username="carl")
    for user in (hana, carl):
        with pytest.raises(OutOfScope):
            timeliness_report(user=user, unit=commune, today=TODAY, **PERIOD)
    elsewhere = timeliness_report(user=hana, unit=world.hatinh, today=TODAY, **PERIOD)
    assert (elsewhere.total.received, elsewhere.total.resolved) == (0, 0)
    assert [r.key for r in elsewhere.by_procedure] == []
