"""The late-dossier list: each late dossier with its officer and working days late.

Built through the real services in March 2026 (Mon 2 → Fri 20 March; no holiday):
* L1 (commune A): received Mon 2/3, due Wed 4/3, apology on 3/3 with a new date of 9/3,
  returned Tue 10/3 → late by 4 working days (5, 6, 9, 10 March);
* L2 (commune A): received Mon 2/3, due Wed 4/3, still in appraisal on Fri 20/3 →
  overdue by 12 working days;
* OK (commune A): returned on its due date → not listed;
* LB (commune B): returned Thu 5/3, due 4/3 → late by 1; only the province sees it.
"""

from __future__ import annotations

import datetime as dt
import json
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from cancuoc.core.errors import OutOfScope
from cancuoc.dossiers import services
from cancuoc.dossiers.reports import late_dossiers, timeliness_report
from tests.dossiers.factories import Desk, local, procedure

pytestmark = pytest.mark.django_db

MARCH = {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31)}
TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def late_world(world):
    proc = procedure(code="1.000111", name="Đăng ký kết hôn", days=2)
    desk_a, desk_b = Desk(world.commune_a, "a"), Desk(world.commune_b, "b")

    def receive(desk, applicant):
        return services.dossier_receive(
            actor=desk.clerk,
            procedure_code=proc.code,
            applicant_name=applicant,
            at=local(2026, 3, 2),
        )

    l1 = receive(desk_a, "Trần Thị Lan")
    l1 = desk_a.advance(l1, until="in_appraisal", at=local(2026, 3, 2, 10))
    l1 = services.dossier_apologise(
        actor=desk_a.approver,
        dossier_id=l1.pk,
        new_date=dt.date(2026, 3, 9),
        reason="Chờ xác minh",
        at=local(2026, 3, 3),
    )
    l1 = desk_a.advance(l1, at=local(2026, 3, 10, 14))
    l2 = receive(desk_a, "Lê Văn Hùng")
    desk_a.advance(l2, until="in_appraisal", at=local(2026, 3, 3))
    ok = receive(desk_a, "Phạm Minh")
    desk_a.advance(ok, at=local(2026, 3, 4, 16))
    lb = receive(desk_b, "Hoàng Yến")
    desk_b.advance(lb, at=local(2026, 3, 5, 9))
    return {"l1": l1, "l2": l2, "ok": ok, "lb": lb, "desk_a": desk_a, "desk_b": desk_b}


def _listed(items):
    return [(i.dossier.code, i.state, i.days_late, i.officer) for i in items]


def test_the_commune_lists_its_late_and_overdue_dossiers_with_officer_and_days(
    late_world, world, alice
):
    l1, l2 = late_world["l1"], late_world["l2"]
    appraiser = late_world["desk_a"].appraiser
    items = late_dossiers(user=alice, unit=world.commune_a, today=TODAY, **MARCH)
    assert _listed(items) == [
        (l1.code, "late", 4, appraiser.full_name),
        (l2.code, "overdue", 12, appraiser.full_name),
    ]
    assert items[0].dossier.apology_due_date == dt.date(2026, 3, 9)
    report = timeliness_report(user=alice, unit=world.commune_a, today=TODAY, **MARCH)
    assert (report.total.late, report.total.overdue, report.total.apologised) == (1, 1, 1)
    assert (report.total.on_time, report.total.received, report.total.open) == (1, 3, 1)


def test_the_province_sees_both_communes_and_nobody_sees_across(late_world, world, hana, bob, carl):
    items = late_dossiers(user=hana, unit=world.hatinh, today=TODAY, **MARCH)
    # Returned ones in the order they were returned, then the open ones by due date.
    assert [(i.dossier.code, i.days_late) for i in items] == [
        (late_world["lb"].code, 1),
        (late_world["l1"].code, 4),
        (late_world["l2"].code, 12),
    ]
    for user, unit in ((bob, world.commune_a), (carl, world.hatinh), (carl, world.commune_b)):
        with pytest.raises(OutOfScope):
            late_dossiers(user=user, unit=unit, today=TODAY, **MARCH)
    assert late_dossiers(user=bob, unit=world.commune_b, today=TODAY, **MARCH)[0].days_late == 1


def test_a_period_before_the_return_lists_nothing_returned(late_world, world, alice):
    february = {"date_from": dt.date(2026, 2, 1), "date_to": dt.date(2026, 2, 28)}
    assert late_dossiers(user=alice, unit=world.commune_a, today=TODAY, **february) == []


def test_page_excel_api_and_command_list_the_same_dossiers(late_world, world, hana):
    l1, l2, lb = late_world["l1"], late_world["l2"], late_world["lb"]
    client = Client()
    client.force_login(hana)
    params = {"unit": world.hatinh.pk, "from": "2026-03-01", "to": "2026-03-31"}
    body = client.get("/desk/reports/late/", params).content.decode()
    for dossier in (l1, l2, lb):
        assert f'data-code="{dossier.code}"' in body
    assert late_world["ok"].code not in body

    sheet = load_workbook(
        BytesIO(client.get("/desk/reports/late/", {**params, "format": "xlsx"}).content)
    ).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [lb.code, l1.code, l2.code]
    assert (rows[1][9], rows[2][9]) == (1, 4)  # working days late

    api = client.get("/api/v1/dossiers/reports/late", {"unit": "42", "from": "2026-03-01"}).json()
    assert [(r["code"], r["state"]) for r in api] == [
        (lb.code, "late"),
        (l1.code, "late"),
        (l2.code, "overdue"),
    ]
    assert api[1]["due_date"] == "2026-03-04" and api[1]["apology_due_date"] == "2026-03-09"

    out = StringIO()
    call_command(
        "report",
        "late",
        "--unit",
        "18100",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
        stdout=out,
    )
    assert [r["code"] for r in json.loads(out.getvalue())] == [l1.code, late_world["l2"].code]
