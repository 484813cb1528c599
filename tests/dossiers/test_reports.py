"""The timeliness report's arithmetic, from rollups written as the dossier services write them.

The events here follow the contract "Dossier events and rollups" to the letter (receipt,
due, return, withdrawal, intake refusal, apology), so the report is tested on its own;
tests/dossiers/test_reports_phu_tan.py drives the real services end to end.

The month: March 2026, asked on 20 March (so open dossiers are counted as of that day).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.events import event_append
from cancuoc.dossiers.models import Procedure
from cancuoc.dossiers.reports import (
    ReportPeriodInvalid,
    TimelinessRow,
    on_time_rate,
    timeliness_report,
)
from tests import factories

pytestmark = pytest.mark.django_db

P1, P2 = "1.000001", "2.000002"
TODAY = dt.date(2026, 3, 20)
MARCH = {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31), "today": TODAY}


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


# --- Events exactly as the contract says the services emit them ----------------------------


def receive(unit, code, day, due, channel="counter"):
    subject = f"proc:{code}"
    measures = {"received": 1, f"received_{channel}": 1}
    event_append(kind="dossier.receive", unit=unit, day=day, subject=subject, measures=measures)
    event_append(kind="dossier.due", unit=unit, day=due, subject=subject, measures={"due_open": 1})


def resolve(unit, code, day, due):
    kind = "early" if day < due else "on_time" if day == due else "late"
    subject = f"proc:{code}"
    measures = {"resolved": 1, f"resolved_{kind}": 1}
    event_append(kind="dossier.return", unit=unit, day=day, subject=subject, measures=measures)
    event_append(kind="dossier.due", unit=unit, day=due, subject=subject, measures={"due_open": -1})


def withdraw(unit, code, day, due):
    subject = f"proc:{code}"
    event_append(
        kind="dossier.withdraw", unit=unit, day=day, subject=subject, measures={"withdrawn": 1}
    )
    event_append(kind="dossier.due", unit=unit, day=due, subject=subject, measures={"due_open": -1})


def once(unit, code, day, measure):
    event_append(
        kind=f"dossier.{measure}", unit=unit, day=day, subject=f"proc:{code}", measures={measure: 1}
    )


@pytest.fixture
def march(world):
    """Fifteen dossiers: carried over from February, received, returned, open, elsewhere."""
    for code, name in ((P1, "Đăng ký khai sinh"), (P2, "Chứng thực bản sao")):
        Procedure.objects.create(
            code=code,
            name=name,
            search_name=name.lower(),
            field="Hộ tịch",
            competent_level="commune",
        )
    a, b, c = world.commune_a, world.commune_b, world.commune_c
    # February in commune A: five received; d1 early, d2 on time, d3 withdrawn; d4, d5 carried.
    for due in (d(2, 24), d(2, 24), d(2, 24), d(3, 5), d(3, 25)):
        receive(a, P1, d(2, 10), due)
    resolve(a, P1, d(2, 20), d(2, 24))
    resolve(a, P1, d(2, 24), d(2, 24))
    withdraw(a, P1, d(2, 15), d(2, 24))
    # March in commune A.
    resolve(a, P1, d(3, 10), d(3, 5))  # d4: late
    receive(a, P1, d(3, 2), d(3, 9))  # d6: open, overdue
    receive(a, P1, d(3, 3), d(3, 16), "online_full")  # d7: on time
    resolve(a, P1, d(3, 16), d(3, 16))
    receive(a, P1, d(3, 4), d(3, 18), "post")  # d8: early
    resolve(a, P1, d(3, 12), d(3, 18))
    receive(a, P1, d(3, 18), d(4, 1))  # d9: open, within term
    once(a, P1, d(3, 5), "rejected_intake")  # d10: refused at intake, never received
    receive(a, P1, d(3, 2), d(3, 10))  # d11: open, overdue, apologised
    once(a, P1, d(3, 9), "apologised")
    receive(a, P2, d(3, 6), d(3, 13), "online_partial")  # d12: on time
    resolve(a, P2, d(3, 13), d(3, 13))
    # Commune B.
    receive(b, P1, d(3, 2), d(3, 9))  # d13: on time
    resolve(b, P1, d(3, 9), d(3, 9))
    receive(b, P1, d(3, 19), d(4, 2))  # d14: open, within term
    # Cà Mau: never part of Hà Tĩnh's figures.
    receive(c, P1, d(3, 2), d(3, 9))
    resolve(c, P1, d(3, 12), d(3, 9))
    return world


def figures(row: TimelinessRow) -> dict:
    return {
        k: v
        for k, v in row.as_dict().items()
        if k not in ("key", "label", "received_by_channel") and v not in (0, None)
    }


def test_the_province_report_counts_every_column_exactly(march, hana):
    report = timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    assert report.as_of == TODAY
    a, b = (
        {row.key: row for row in report.by_unit}["18100"],
        {row.key: row for row in report.by_unit}["18200"],
    )
    assert [row.label for row in report.by_unit] == ["Xã Cẩm Xuyên", "Xã Thạch Hà"]
    assert figures(a) == {
        "carried_over": 2,
        "received": 6,
        "resolved": 4,
        "early": 1,
        "on_time": 2,
        "late": 1,
        "open": 4,
        "within_term": 2,
        "overdue": 2,
        "apologised": 1,
        "rejected_intake": 1,
        "on_time_rate": 75.0,
    }
    assert a.received_by_channel == {"counter": 3, "online_full": 1, "post": 1, "online_partial": 1}
    assert figures(b) == {
        "received": 2,
        "resolved": 1,
        "on_time": 1,
        "open": 1,
        "within_term": 1,
        "on_time_rate": 100.0,
    }
    assert figures(report.total) == {
        "carried_over": 2,
        "received": 8,
        "resolved": 5,
        "early": 1,
        "on_time": 3,
        "late": 1,
        "open": 5,
        "within_term": 3,
        "overdue": 2,
        "apologised": 1,
        "rejected_intake": 1,
        "on_time_rate": 80.0,
    }
    assert report.channels == ["counter", "post", "online_full", "online_partial"]


def test_the_procedure_rows_add_up_to_the_same_total(march, hana):
    report = timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    p1, p2 = report.by_procedure
    assert (p1.key, p1.label, p2.key) == (P1, "Đăng ký khai sinh", P2)
    assert (p1.carried_over, p1.received, p1.resolved, p1.open, p1.overdue) == (2, 7, 4, 5, 2)
    assert p1.on_time_rate == Decimal("75.0")
    assert (p2.carried_over, p2.received, p2.resolved, p2.on_time, p2.open) == (0, 1, 1, 1, 0)
    for field in ("carried_over", "received", "resolved", "open", "overdue", "within_term"):
        assert getattr(p1, field) + getattr(p2, field) == getattr(report.total, field)


def test_one_procedure_only(march, hana):
    report = timeliness_report(user=hana, unit=march.hatinh, procedure_code=P2, **MARCH)
    assert [row.key for row in report.by_procedure] == [P2]
    assert (report.total.received, report.total.resolved, report.total.carried_over) == (1, 1, 0)


def test_february_closes_with_what_march_carries_over(march, hana):
    feb = timeliness_report(
        user=hana, unit=march.hatinh, date_from=d(2, 1), date_to=d(2, 28), today=TODAY
    )
    assert feb.as_of == d(2, 28)
    assert (feb.total.received, feb.total.resolved, feb.total.withdrawn) == (5, 2, 1)
    assert (feb.total.early, feb.total.on_time, feb.total.open) == (1, 1, 2)
    march_report = timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    assert march_report.total.carried_over == feb.total.open == 2


def test_a_due_date_of_today_is_still_within_term(march, hana):
    # d11 is due 10 March: on the 10th it is within term, on the 11th overdue.
    on_tenth = timeliness_report(user=hana, unit=march.hatinh, **{**MARCH, "today": d(3, 10)})
    on_eleventh = timeliness_report(user=hana, unit=march.hatinh, **{**MARCH, "today": d(3, 11)})
    assert on_eleventh.total.overdue - on_tenth.total.overdue == 1


def test_a_commune_report_has_one_row_for_the_commune(march, alice):
    report = timeliness_report(user=alice, unit=march.commune_a, **MARCH)
    assert [(row.key, row.label) for row in report.by_unit] == [("18100", "Xã Thạch Hà")]
    assert (report.total.received, report.total.open, report.total.overdue) == (6, 4, 2)


def test_the_nation_report_has_a_row_per_province_and_keeps_provinces_apart(march, root):
    report = timeliness_report(user=root, unit=march.nation, **MARCH)
    rows = {row.key: row for row in report.by_unit}
    assert set(rows) == {"42", "96"}
    assert (rows["42"].received, rows["42"].late) == (8, 1)
    assert (rows["96"].received, rows["96"].late, rows["96"].on_time_rate) == (1, 1, Decimal("0.0"))
    assert report.total.received == 9


def test_nobody_reads_a_report_outside_their_unit(march, alice, bob, carl):
    for user, unit in (
        (alice, march.hatinh),
        (alice, march.commune_b),
        (bob, march.commune_a),
        (carl, march.hatinh),
    ):
        with pytest.raises(OutOfScope):
            timeliness_report(user=user, unit=unit, **MARCH)
    # Carl's own report never shows Hà Tĩnh's dossiers.
    camau = timeliness_report(user=carl, unit=march.camau, **MARCH)
    assert (camau.total.received, camau.total.late) == (1, 1)


def test_a_role_without_reports_is_refused(march):
    appraiser = factories.user(unit=march.commune_a, role="appraiser")
    with pytest.raises(PermissionDenied):
        timeliness_report(user=appraiser, unit=march.commune_a, **MARCH)


def test_a_period_ending_before_it_starts_is_refused(march, hana):
    with pytest.raises(ReportPeriodInvalid):
        timeliness_report(user=hana, unit=march.hatinh, date_from=d(3, 2), date_to=d(3, 1))


def test_the_report_costs_the_same_queries_for_one_or_two_hundred_communes(march, hana):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Catalogue, subtree paths, the rollup GROUP BYs over month and day rows (each in a
    # savepoint; PostgreSQL also turns JIT off for each), children, names. A first call
    # fills the process caches (content types, calendar), which are not per report.
    timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    with CaptureQueriesContext(connection) as few:
        timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    for n in range(200):
        factories.unit(parent=march.hatinh, code=f"19{n:03d}", name=f"Xã Số {n}")
    with CaptureQueriesContext(connection) as many:
        report = timeliness_report(user=hana, unit=march.hatinh, **MARCH)
    assert len(report.by_unit) == 202 and report.total.received == 8
    assert len(many) == len(few) <= 13


# --- The rate ----------------------------------------------------------------------------


def test_the_rate_has_one_decimal_rounded_half_up():
    assert on_time_rate(early=283, on_time=1003, resolved=1286) == Decimal("100.0")
    assert on_time_rate(early=1, on_time=1, resolved=3) == Decimal("66.7")
    assert on_time_rate(early=0, on_time=1, resolved=8) == Decimal("12.5")
    assert on_time_rate(early=1, on_time=0, resolved=16) == Decimal("6.3")  # 6.25 → 6.3
    assert on_time_rate(early=0, on_time=0, resolved=0) is None


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_the_rate_is_a_percentage_between_0_and_100(early, on_time, late):
    rate = on_time_rate(early=early, on_time=on_time, resolved=early + on_time + late)
    if early + on_time + late == 0:
        assert rate is None
    else:
        assert Decimal(0) <= rate <= Decimal(100)
        assert rate == rate.quantize(Decimal("0.1"))
        assert abs(rate - Decimal(100 * (early + on_time)) / (early + on_time + late)) <= Decimal(
            "0.05"
        )


# --- Page, Excel, API, command --------------------------------------------------------------


def test_the_page_shows_the_communes_and_the_total(march, hana):
    client = Client()
    client.force_login(hana)
    response = client.get(
        "/desk/reports/timeliness/",
        {"unit": march.hatinh.pk, "from": "2026-03-01", "to": "2026-03-31"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Báo cáo" in body or "Timeliness" in body
    assert 'data-key="18100"' in body and 'data-key="18200"' in body and "Xã Tân Thuận" not in body


def test_the_page_refuses_a_unit_outside_scope_and_a_role_without_reports(march, alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/desk/reports/timeliness/", {"unit": march.hatinh.pk}).status_code == 404
    assert client.get("/desk/reports/late/", {"unit": march.commune_b.pk}).status_code == 404
    client.force_login(factories.user(unit=march.commune_a, role="appraiser"))
    assert client.get("/desk/reports/timeliness/").status_code == 403
    assert Client().get("/desk/reports/timeliness/").status_code == 302


def test_the_excel_export_has_a_sheet_per_grouping_with_the_figures(march, hana):
    from io import BytesIO

    from openpyxl import load_workbook

    client = Client()
    client.force_login(hana)
    response = client.get(
        "/desk/reports/timeliness/",
        {"unit": march.hatinh.pk, "from": "2026-03-01", "to": "2026-03-31", "format": "xlsx"},
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    assert len(book.sheetnames) == 2
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    # Asked after March, so d5 (due 25 March, still open) is overdue as well.
    assert len(rows[1]) == 22  # code, name, carried over, received, 8 channels, 10 more
    # code, name, carried over, received, counter; then resolved … on-time rate.
    assert [row[:5] for row in rows[2:]] == [
        ("18200", "Xã Cẩm Xuyên", 0, 2, 2),
        ("18100", "Xã Thạch Hà", 2, 6, 3),
        (None, "Tổng cộng", 2, 8, 5),
    ]
    assert [row[12:] for row in rows[2:]] == [
        (1, 0, 1, 0, 0, 1, 1, 0, 0, 100.0),
        (4, 1, 2, 1, 0, 4, 1, 3, 1, 75.0),
        (5, 1, 3, 1, 0, 5, 2, 3, 1, 80.0),
    ]
    procedures = list(book.worksheets[1].iter_rows(values_only=True))
    assert [row[:4] for row in procedures[2:]] == [
        (P1, "Đăng ký khai sinh", 2, 7),
        (P2, "Chứng thực bản sao", 0, 1),
        (None, "Tổng cộng", 2, 8),
    ]


def test_the_api_returns_the_same_figures(march, hana):
    client = Client()
    client.force_login(hana)
    response = client.get(
        "/api/v1/dossiers/reports/timeliness",
        {"unit": "42", "from": "2026-03-01", "to": "2026-03-31"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["unit_code"] == "42"
    total = body["total"]
    assert (total["received"], total["resolved"], total["carried_over"]) == (8, 5, 2)
    assert total["received_by_channel"]["counter"] == 5


def test_the_api_refuses_another_province(march, carl):
    client = Client()
    client.force_login(carl)
    response = client.get("/api/v1/dossiers/reports/timeliness", {"unit": "42"})
    assert response.status_code == 404


def test_the_command_prints_json_and_csv(march):
    out = StringIO()
    call_command(
        "report",
        "timeliness",
        "--unit",
        "42",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
        stdout=out,
    )
    body = json.loads(out.getvalue())
    assert (body["total"]["received"], body["total"]["resolved"]) == (8, 5)
    out = StringIO()
    call_command(
        "report",
        "timeliness",
        "--unit",
        "42",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "csv",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("group,key,label,carried_over,received,resolved")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "unit",
        "unit",
        "procedure",
        "procedure",
        "total",
    ]


def test_the_command_runs_in_a_users_scope_and_fails_outside_it(march, alice):
    with pytest.raises(CommandError):
        call_command("report", "timeliness", "--unit", "42", "--user", "alice", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("report", "timeliness", "--unit", "99999", stdout=StringIO())


# --- Month rollups: whole months read from month rows give the same report -----------------


def _days(lo, hi):
    day = lo
    while day < hi:
        yield day
        day += dt.timedelta(days=1)


@given(
    st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)),
    st.integers(0, 800),
    st.booleans(),
)
def test_split_by_month_covers_each_day_exactly_once(lo, length, from_the_start):
    from collections import Counter

    from cancuoc.dossiers.reports import next_month, split_by_month

    hi = lo + dt.timedelta(days=length)
    start = None if from_the_start else lo
    split = split_by_month(start, hi)
    covered = Counter()
    beginning = dt.date(2023, 1, 1)  # "since the beginning", for counting
    if split.months is not None:
        first, end = split.months
        assert end.day == 1 and (first is None or first.day == 1)
        month = first or beginning
        while month < end:
            covered.update(_days(month, next_month(month)))
            month = next_month(month)
    for edge_lo, edge_hi in split.plus:
        covered.update(_days(edge_lo or beginning, edge_hi))
    for edge_lo, edge_hi in split.minus:
        covered.subtract(_days(edge_lo, edge_hi))
    # Single days stay few: at most about half a month at each end, unless no month fits.
    if split.months is not None:
        assert sum((b - a).days for a, b in split.plus + split.minus) <= 32
    assert +covered == Counter(_days(start or beginning, hi))
    assert -covered == Counter()


def _month_sums_of_days(prefix):
    """The month rows the rollup layer should hold: the day rows summed per month."""
    from collections import Counter

    from cancuoc.core.models import DailyRollup

    sums = Counter()
    for row in DailyRollup.objects.exclude(subject__startswith=prefix):
        sums[(row.unit_id, row.day.replace(day=1), prefix + row.subject, row.measure)] += row.value
    return sums


def test_the_rollup_layer_keeps_month_rows_equal_to_the_sum_of_days(march):
    from collections import Counter

    from cancuoc.core.events import MONTH_SUBJECT_PREFIX
    from cancuoc.core.models import DailyRollup

    months = Counter(
        {
            (row.unit_id, row.day, row.subject, row.measure): row.value
            for row in DailyRollup.objects.filter(subject__startswith=MONTH_SUBJECT_PREFIX)
        }
    )
    expected = _month_sums_of_days(MONTH_SUBJECT_PREFIX)
    assert months == expected and len(expected) > 0


def _summary(report):
    return [
        (row.key, row.as_dict()) for row in [*report.by_unit, *report.by_procedure, report.total]
    ]


@pytest.fixture
def month_rows(march):
    # The rollup layer keeps month rows beside the day rows (core.events).
    return march


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25, deadline=None
)
@given(
    st.dates(dt.date(2026, 1, 20), dt.date(2026, 4, 20)),
    st.integers(0, 70),
    st.dates(dt.date(2026, 2, 1), dt.date(2026, 5, 31)),
)
def test_month_rows_give_the_same_report_as_day_rows(
    month_rows, hana, monkeypatch, start, length, today
):
    from cancuoc.core import events

    period = {"date_from": start, "date_to": start + dt.timedelta(days=length), "today": today}
    with_months = timeliness_report(user=hana, unit=month_rows.hatinh, **period)
    monkeypatch.delattr(events, "MONTH_SUBJECT_PREFIX")
    days_only = timeliness_report(user=hana, unit=month_rows.hatinh, **period)
    monkeypatch.setattr(events, "MONTH_SUBJECT_PREFIX", "month|", raising=False)
    assert _summary(with_months) == _summary(days_only)


def test_month_rows_reproduce_the_march_figures(month_rows, hana):
    report = timeliness_report(user=hana, unit=month_rows.hatinh, **MARCH)
    assert (report.total.carried_over, report.total.received, report.total.resolved) == (2, 8, 5)
    assert (report.total.open, report.total.overdue, report.total.on_time_rate) == (
        5,
        2,
        Decimal("80.0"),
    )


def test_a_period_longer_than_three_years_is_refused(march, hana):
    with pytest.raises(ReportPeriodInvalid) as refused:
        timeliness_report(
            user=hana, unit=march.hatinh, date_from=d(1, 1), date_to=dt.date(2029, 6, 1)
        )
    assert refused.value.message == "Một báo cáo chỉ bao gồm tối đa ba năm."


def test_a_report_before_any_procedure_exists_is_all_zero_not_an_error(world, hana):
    report = timeliness_report(user=hana, unit=world.hatinh, **MARCH)
    assert report.total.received == 0
    assert report.total.resolved == 0
    assert report.by_procedure == []
