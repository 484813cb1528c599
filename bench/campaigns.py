"""Issuance campaigns: the daily quota report and the dashboard over 10 M enrolments, bulk
invitation notices, and concurrent bookers on the last slots.

1. **Reports.** A campaign over a 2025 province with more than 100 communes (Nghệ An,
   130 communes), 120 days in, with `enrolments` (10 M) completed applications in the
   database. Everything is generated in SQL from the application's index (no
   randomness, so every run builds the same data, and a finished build is reused):

   * a pool of citizens in the province's communes (an application needs one; the
     applications are all "delivered", i.e. closed, so one citizen may have several
     without tripping the one-open-application constraint);
   * one station per commune and one operator;
   * the `enrolment_application` rows, spread over the communes by weights from 70 to
     130 (some communes ahead of their quota, some behind) and uniformly over the 120
     days, completed between 07:00 and 17:00 local time;
   * the rollups those enrolments would have produced through the enrolment service
     (`enrolment.completed`: subject "enrolment", measure "enrolled", per commune and
     local day, plus the month rows "month|enrolment"), computed from the same formula,
     not read back from the applications.

   The report (`campaigns.reports.daily_report`) and the dashboard (`reports.dashboard`
   plus its three SVG charts) read only rollups and the campaign's small tables. The
   baseline counts the applications with a GROUP BY unit and local day (scoped, as a
   selector would) and builds the same report from those counts. Both must agree,
   figure for figure, before anything is recorded.

2. **Notices.** `notices_start` for 10,000 invitations, run through the notices task, with
   its progress polled from the `NoticeJob` row.

3. **Bookers.** 50 threads book into the last free places of a session's slots at once;
   the slots must never pass their capacity, and every place must be taken exactly once.

Scale: `BENCH_ENROLMENTS` (default 10,000,000), `BENCH_NOTICES` (default 10,000).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from bench.report import timed
from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.campaigns import exports, lifecycle
from cancuoc.campaigns import reports as campaign_reports
from cancuoc.campaigns.models import (
    Campaign,
    CampaignStatus,
    Invitation,
    NoticeJob,
    Session,
    SiteKind,
    Slot,
    Team,
)
from cancuoc.campaigns.notices import notices_start
from cancuoc.campaigns.services import campaigns as campaign_services
from cancuoc.campaigns.services import invitations as invitation_services
from cancuoc.campaigns.services import resources as resource_services
from cancuoc.campaigns.services import sessions as session_services
from cancuoc.campaigns.services._common import SlotFull
from cancuoc.core.events import MONTH_SUBJECT_PREFIX
from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import prefix_q, scope_queryset
from cancuoc.core.workdays import VN_TZ
from cancuoc.enrolment.models import Application, ApplicationStatus, Station
from cancuoc.registry.models import Citizen
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

PROVINCE = "40"  # Nghệ An (2025): 130 communes and wards
SLUG = "bench-campaign"
START = dt.date(2025, 9, 3)  # after the 2/9 holidays, so all 120 days are open
DAYS = 120
ON = START + dt.timedelta(days=DAYS - 1)  # the evening of the 120th day
DEADLINE = START + dt.timedelta(days=149)
TARGET = 12_000_000
CITIZENS = 500_000
CITIZEN_PREFIX = "99"  # id numbers "99xxxxxxxxxx": no real 12-digit number starts so
# Application ids: "be0c" then the index in hex, so the bench rows form one key range
# (the primary key index is appended to, not scattered over).
UUID_PREFIX = "be0c"
UUID_LOW = UUID_PREFIX + "0" * 28
UUID_HIGH = "be0d" + "0" * 28
CHUNK = 1_000_000
HEAT_DAYS = 21  # as the dashboard page (campaigns/views/reports.py)


def _series(first: int, last: int) -> str:
    if connection.vendor == "postgresql":
        return f"SELECT i FROM generate_series({first}::bigint, {last - 1}) AS s(i)"
    return (
        f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s "
        f"WHERE i < {last - 1}) SELECT i FROM s"
    )


# --- Setup ------------------------------------------------------------------------------


def _setup() -> tuple[Unit, list[Unit], User]:
    units_import(edition="2025")
    province = Unit.objects.get(edition="2025", code=PROVINCE)
    communes = list(province.children.order_by("code"))
    manager, _ = User.objects.get_or_create(
        username=f"bench.campaigns.{PROVINCE}",
        defaults={"role": Role.PROVINCE_MANAGER, "unit": province, "full_name": "Bench"},
    )
    for commune in communes:
        Station.objects.get_or_create(
            code=f"BENCH-{commune.code}",
            defaults={
                "name": f"Bench {commune.name}",
                "kind": "fixed",
                "unit": commune,
                "unit_path": commune.path,
                "province_code": PROVINCE,
            },
        )
    return province, communes, manager


def _weight(index: int) -> int:
    """A commune's share of the enrolments, 70–130: some ahead of the quota, some behind."""
    return 70 + (index * 37) % 61


def _helper_tables(communes: list[Unit]) -> int:
    """bench_cu: communes with their weight ranges and stations; bench_cd: the days;
    bench_cc: the citizen pool by index. Returns the total weight."""
    stations = dict(
        Station.objects.filter(code__startswith="BENCH-", unit__in=communes).values_list(
            "unit_id", "pk"
        )
    )
    with connection.cursor() as cursor:
        for table in ("bench_cu", "bench_cd", "bench_cc"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            "CREATE TABLE bench_cu (lo integer, hi integer, unit_id bigint, "
            "unit_path varchar(64), station_id bigint)"
        )
        rows, lo = [], 0
        for index, commune in enumerate(communes):
            weight = _weight(index)
            rows.append((lo, lo + weight, commune.pk, commune.path, stations[commune.pk]))
            lo += weight
        cursor.executemany("INSERT INTO bench_cu VALUES (%s, %s, %s, %s, %s)", rows)
        cursor.execute("CREATE TABLE bench_cd (idx integer PRIMARY KEY, day date NOT NULL)")
        cursor.executemany(
            "INSERT INTO bench_cd VALUES (%s, %s)",
            [(i, START + dt.timedelta(days=i)) for i in range(DAYS)],
        )
        cursor.execute(
            "CREATE TABLE bench_cc AS SELECT CAST(id_number AS bigint) - "
            f"{int(CITIZEN_PREFIX) * 10**10} AS idx, id FROM registry_citizen "
            "WHERE id_number LIKE %s",
            [f"{CITIZEN_PREFIX}%"],
        )
        cursor.execute("CREATE UNIQUE INDEX bench_cc_idx ON bench_cc (idx)")
    return lo


def _citizens(communes: list[Unit]) -> None:
    """The citizen pool, in SQL (skipped when present)."""
    have = _count(
        "SELECT COUNT(*) FROM registry_citizen WHERE id_number LIKE %s", [CITIZEN_PREFIX + "%"]
    )
    if have == CITIZENS:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM registry_citizen WHERE id_number LIKE %s", [CITIZEN_PREFIX + "%"]
        )
        cursor.execute("DROP TABLE IF EXISTS bench_cx")
        cursor.execute(
            "CREATE TABLE bench_cx (idx integer PRIMARY KEY, unit_id bigint, unit_path varchar(64))"
        )
        cursor.executemany(
            "INSERT INTO bench_cx VALUES (%s, %s, %s)",
            [(i, c.pk, c.path) for i, c in enumerate(communes)],
        )
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    birth = (
        "DATE '1960-01-01' + CAST(s.i % 20000 AS integer)"
        if connection.vendor == "postgresql"
        else "date('1960-01-01', '+' || (s.i % 20000) || ' days')"
    )
    year = "CAST(1960 + (s.i % 20000) / 365.25 AS integer)"
    padded = (
        "lpad(CAST(s.i AS text), 10, '0')"
        if connection.vendor == "postgresql"
        else "printf('%010d', s.i)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_load(cursor)
        cursor.execute(
            f"""
            INSERT INTO registry_citizen (
              province_code, id_number, full_name, search_name, birth_date, birth_precision,
              birth_year, sex, ethnicity, religion, nationality, birth_registration_place,
              place_of_origin, permanent_address, current_address, unit_path, relationship,
              phone, life_status, death_date, frail_elderly, disability, serious_illness,
              living_alone, war_merit, school, grade, created_at, updated_at,
              current_unit_id, permanent_unit_id, household_id)
            SELECT '{PROVINCE}', '{CITIZEN_PREFIX}' || {padded},
              'Công dân ' || s.i, 'cong dan ' || s.i, {birth}, 'day', {year},
              CASE WHEN s.i % 2 = 0 THEN 'M' ELSE 'F' END, 'Kinh', '', 'Việt Nam', '', '',
              '', '', x.unit_path, 'other', '', 'alive', NULL, false, false, false, false,
              false, '', '', {now}, {now}, x.unit_id, x.unit_id, NULL
            FROM ({_series(0, CITIZENS)}) AS s
            JOIN bench_cx x ON x.idx = s.i % {len(communes)}
            """
        )
    print(f"  … {CITIZENS:,} citizens", flush=True)


def _count(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.fetchone()[0] or 0)


def _bulk_load(cursor: Any) -> None:
    """On PostgreSQL, skip the per-row foreign-key triggers of a bulk load (the generated
    rows point at units, stations, citizens and a user that exist)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL session_replication_role = replica")


def _generated(first: int, last: int, weight: int) -> str:
    """One row per application index in [first, last): commune, day, minute, citizen."""
    return f"""
      SELECT g.i, u.unit_id, u.unit_path, u.station_id, d.day, g.m, g.ci
      FROM (SELECT i,
                   (i * 7919) % {weight} AS wi,
                   ((i * 15485863) % 1000003) % {DAYS} AS di,
                   (i * 31) % 600 AS m,
                   (i * 104729) % {CITIZENS} AS ci
            FROM ({_series(first, last)}) AS s) AS g
      JOIN bench_cu u ON g.wi >= u.lo AND g.wi < u.hi
      JOIN bench_cd d ON d.idx = g.di
    """


def _uuid(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST('{UUID_PREFIX}' || lpad(to_hex({expr}), 28, '0') AS uuid)"
    # SQLite stores Django's UUIDField as 32 hex digits without dashes.
    return (
        f"('{UUID_PREFIX}' || substr('0000000000000000000000000000' || printf('%x', {expr}), -28))"
    )


def _completed_at() -> str:
    """07:00 local plus the row's minute, as the stored UTC moment."""
    if connection.vendor == "postgresql":
        return (
            "((x.day + time '07:00' + x.m * interval '1 minute') AT TIME ZONE 'Asia/Ho_Chi_Minh')"
        )
    return "(x.day || printf(' %02d:%02d:00', x.m / 60, x.m % 60))"  # 07:00 local = 00:00 UTC


def _insert_applications(first: int, last: int, weight: int, operator: User) -> None:
    done = _completed_at()
    started = (
        f"({done} - interval '6 minutes')"
        if connection.vendor == "postgresql"
        else f"datetime({done}, '-6 minutes')"
    )
    sql = f"""
      INSERT INTO enrolment_application (
        id, citizen_id, province_code, unit_id, unit_path, station_id, session_id,
        operator_id, kind, law, status, step, guardian_name, guardian_id_number,
        confirmed_data, started_at, completed_at, offline, received_at, dossier_id,
        conflict_with_id, note)
      SELECT {_uuid("x.i")}, c.id, '{PROVINCE}', x.unit_id, x.unit_path, x.station_id, NULL,
        {operator.pk}, 'first', '2023', 'delivered', 'sign', '', '', '{{}}', {started},
        {done}, false, {done}, NULL, NULL, ''
      FROM ({_generated(first, last, weight)}) AS x
      JOIN bench_cc c ON c.idx = x.ci
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_load(cursor)
        cursor.execute(sql)


def _insert_rollups(total: int, weight: int) -> None:
    """The day and month rollups the enrolment service would have written for them."""
    month = (
        "CAST(date_trunc('month', x.day) AS date)"
        if connection.vendor == "postgresql"
        else "date(x.day, 'start of month')"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_load(cursor)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '512MB'")
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE bench_counts AS
            SELECT x.unit_id, x.unit_path, x.day, COUNT(*) AS n
            FROM ({_generated(0, total, weight)}) AS x
            GROUP BY x.unit_id, x.unit_path, x.day
            """
        )
        cursor.execute(
            """INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value)
               SELECT unit_id, unit_path, day, 'enrolment', 'enrolled', n FROM bench_counts"""
        )
        cursor.execute(
            f"""INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value)
               SELECT x.unit_id, x.unit_path, {month}, %s, 'enrolled', SUM(x.n)
               FROM bench_counts x GROUP BY x.unit_id, x.unit_path, {month}""",
            [MONTH_SUBJECT_PREFIX + "enrolment"],
        )
        cursor.execute("DROP TABLE bench_counts")


def _bench_applications() -> Any:
    return Application.objects.filter(id__gte=UUID_LOW, id__lt=UUID_HIGH)


def _seed(total: int, communes: list[Unit], province: Unit, operator: User) -> bool:
    """Build what is missing: citizens, applications in resumable chunks, their rollups."""
    paths = [c.path for c in communes]
    rollups = DailyRollup.objects.filter(
        subject="enrolment", measure="enrolled", unit_path__in=paths
    )
    have = _bench_applications().count()
    counted = rollups.aggregate(n=Sum("value"))["n"] or 0
    if have == total and counted == total:
        return False
    _citizens(communes)
    weight = _helper_tables(communes)
    if have > total or (have % CHUNK and have != total):
        _bench_applications().delete()
        have = 0
    for first in range(have, total, CHUNK):
        last = min(first + CHUNK, total)
        _insert_applications(first, last, weight, operator)
        print(f"  … {last:,} applications", flush=True)
    DailyRollup.objects.filter(
        subject__in=["enrolment", MONTH_SUBJECT_PREFIX + "enrolment"],
        unit_path__in=paths,
    ).delete()
    _insert_rollups(total, weight)
    print("  … their rollups", flush=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE core_dailyrollup")
            cursor.execute("VACUUM ANALYZE enrolment_application")
            cursor.execute("VACUUM ANALYZE registry_citizen")
        else:
            cursor.execute("ANALYZE")
    return True


def _campaign(province: Unit, communes: list[Unit], manager: User) -> Campaign:
    """The campaign over the province, its target shared equally by the communes."""
    campaign = Campaign.objects.filter(slug=SLUG).first()
    if campaign is None:
        campaign = campaign_services.campaign_create(
            actor=manager,
            slug=SLUG,
            name="Bench: 120 days of Nghệ An",
            unit_id=province.pk,
            start_date=START,
            deadline=DEADLINE,
            target=TARGET,
        )
    # Equal shares while the communes work at paces from 70 to 130: on day 120 the slower
    # ~40 % of them will miss the deadline at their pace (the forecast's costly path).
    share, extra = divmod(TARGET, len(communes))
    wanted = {c.pk: share + (i < extra) for i, c in enumerate(communes)}
    if dict(campaign.allocations.values_list("unit_id", "target")) != wanted:
        campaign_services.allocations_set(actor=manager, campaign_id=campaign.pk, targets=wanted)
    if campaign.status != CampaignStatus.ACTIVE:
        campaign_services.campaign_status_set(
            actor=manager, campaign_id=campaign.pk, status=CampaignStatus.ACTIVE
        )
    return campaign


# --- The naive baseline ----------------------------------------------------------------


def naive_counts(*, user: User, campaign: Campaign, on: dt.date) -> dict[tuple[int, dt.date], int]:
    """Completed enrolments per unit and local day, counted from the applications."""
    start = dt.datetime.combine(campaign.start_date, dt.time.min, tzinfo=VN_TZ)
    end = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min, tzinfo=VN_TZ)
    rows = (
        scope_queryset(Application.objects.all(), user=user, lookup="unit_path")
        .filter(prefix_q("unit_path", campaign.unit_path))
        .filter(
            status__in=[
                ApplicationStatus.COMPLETED,
                ApplicationStatus.APPROVED,
                ApplicationStatus.DELIVERED,
            ],
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .annotate(day=TruncDate("completed_at", tzinfo=VN_TZ))
        .values("unit_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(r["unit_id"], r["day"]): r["n"] for r in rows}


def naive_report(*, user: User, campaign: Campaign, on: dt.date) -> Any:
    """The daily report with its counts from the GROUP BY over the applications (the same
    quota arithmetic), to time against the rollups and to check them."""
    figures = campaign_reports.campaign_figures(user=user, campaign=campaign, on=on)
    by_unit = {u.unit.pk: u for u in figures.units}
    for u in figures.units:
        u.auto = {}
    for (unit_id, day), n in naive_counts(user=user, campaign=campaign, on=on).items():
        by_unit[unit_id].auto[day] = n
    # campaign_figures cached nothing per unit yet; the report walks the fresh counts.
    return campaign_reports.daily_report_from(figures, language="vi")


def _reports(scale: int, manager: User, campaign: Campaign, built: str) -> list:
    def report() -> Any:
        return campaign_reports.daily_report(
            user=manager, campaign_id=campaign.pk, day=ON, language="vi"
        )

    def board() -> Any:
        dashboard = campaign_reports.dashboard(
            user=manager, campaign_id=campaign.pk, on=ON, heat_days=HEAT_DAYS, language="vi"
        )
        return dashboard, exports.dashboard_charts(dashboard, language="vi")

    def naive() -> Any:
        return naive_report(user=manager, campaign=campaign, on=ON)

    slow = timed(naive, repeat=5)
    from_applications = naive()
    fast = report()
    # Both sides must count the same, non-empty thing, or the comparison means nothing.
    assert from_applications.total.cumulative == scale, (from_applications.total.cumulative, scale)
    assert fast.as_dict() == from_applications.as_dict()
    dashboard, charts = board()
    assert dashboard.cumulative[-1] == scale
    assert dashboard.report.as_dict() == fast.as_dict()
    assert charts.cumulative.startswith("<svg") and charts.heat.startswith("<svg")
    report_t = timed(report, repeat=30)
    board_t = timed(board, repeat=30)
    units = len(fast.rows)
    day_rows = DailyRollup.objects.filter(
        subject="enrolment", unit_path__startswith=campaign.unit_path
    ).count()
    outlook = dashboard.forecast.overall
    scene = (
        f"{campaign.unit.name} ({units} communes), day {DAYS} of the campaign, "
        f"{scale:,} enrolments in enrolment_application ({built}); {day_rows:,} day rollups; "
        f"cumulative {fast.total.cumulative:,}, {len(dashboard.forecast.at_risk)} units at risk, "
        f"overall finish {outlook.finish}"
    )
    base = "GROUP BY unit, day over the applications + the same report (5 runs)"
    return [
        (
            f"daily quota report from rollups: {scene}; p50",
            f"{report_t['p50']:.1f} ms",
            f"{slow['p50']:,.0f} ms {base}",
        ),
        ("same, p95", f"{report_t['p95']:.1f} ms", f"{slow['p95']:,.0f} ms {base}"),
        (
            "dashboard (report + forecast + series + heat table + 3 SVG charts), p50",
            f"{board_t['p50']:.1f} ms",
            f"{slow['p50']:,.0f} ms {base} (report alone)",
        ),
        ("same, p95", f"{board_t['p95']:.1f} ms", f"{slow['p95']:,.0f} ms {base} (report alone)"),
    ]


# --- 2. Bulk notices --------------------------------------------------------------------

NOTICE_SESSIONS = 10
NOTICE_DAY = ON + dt.timedelta(days=1)


def _team(manager: User, unit: Unit, name: str) -> Team:
    team = Team.objects.filter(name=name, unit=unit).first()
    if team is None:
        team = resource_services.team_create(actor=manager, name=name, unit_id=unit.pk)
    return team


def _fresh_citizens(campaign: Campaign, unit: Unit, n: int) -> list[int]:
    """Citizens of the pool living in `unit` with no invitation in the campaign yet."""
    return list(
        Citizen.objects.filter(unit_path=unit.path, id_number__startswith=CITIZEN_PREFIX)
        .exclude(invitations__campaign=campaign)
        .order_by("pk")
        .values_list("pk", flat=True)[:n]
    )


def _notice_invitations(
    campaign: Campaign, communes: list[Unit], manager: User, total: int
) -> list[int]:
    """`total` invitations over `NOTICE_SESSIONS` sessions of a day at commune offices
    (made once, through the services, and reused)."""
    per = -(-total // NOTICE_SESSIONS)
    ids: list[int] = []
    for k, unit in enumerate(communes[:NOTICE_SESSIONS]):
        team = _team(manager, unit, f"Bench notices {unit.code}")
        session = Session.objects.filter(campaign=campaign, team=team, day=NOTICE_DAY).first()
        if session is None:
            session = session_services.session_create(
                actor=manager,
                campaign_id=campaign.pk,
                unit_id=unit.pk,
                team_id=team.pk,
                site_kind=SiteKind.COMMUNE_OFFICE,
                site_name=f"Trụ sở {unit.name}",
                day=NOTICE_DAY,
                start_time="07:00",
                end_time="17:00",
                sets=10,  # 10 sets × 600 minutes ÷ 6 = 1,000 served, 1,176 invited
            )
        want = min(per, total - per * k)
        have = Invitation.objects.filter(session=session).count()
        if have < want:
            invitation_services.invitations_create(
                actor=manager,
                session_id=session.pk,
                citizen_ids=_fresh_citizens(campaign, unit, want - have),
            )
        ids += list(
            Invitation.objects.filter(session=session).order_by("pk").values_list("pk", flat=True)
        )[:want]
    return ids


def _notices(manager: User, campaign: Campaign, communes: list[Unit], total: int) -> list:
    """`notices_start` then the task run by a `db_worker` process; the progress is read
    from the job row as a page would poll it."""
    ids = _notice_invitations(campaign, communes, manager, total)
    assert len(ids) == total, (len(ids), total)
    rows = []
    for per_page in (1, 4):
        started = time.perf_counter()
        job = notices_start(
            actor=manager, campaign_id=campaign.pk, invitation_ids=ids, per_page=per_page
        )
        worker = _worker()
        seen = []
        while True:
            job.refresh_from_db()
            if job.status in (NoticeJob.Status.DONE, NoticeJob.Status.FAILED):
                break
            if job.done and (not seen or seen[-1][1] != job.done):
                seen.append((time.perf_counter() - started, job.done))
                print(f"  … notices {job.done:,}/{job.total:,}", flush=True)
            if worker.poll() is not None and job.status == NoticeJob.Status.QUEUED:
                raise RuntimeError("the task worker stopped before running the job")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        worker.wait(timeout=60)
        assert job.status == NoticeJob.Status.DONE, job.error_message
        assert job.done == job.total == total
        size = os.path.getsize(job.stored_path)
        pages = -(-total // per_page)
        rows.append(
            (
                f"invitation notices, {per_page} a page: {total:,} citizens → one PDF "
                f"({pages:,} pages, {size / 1e6:,.1f} MB, QR codes), notices_start → task "
                f"(db_worker) → done, progress seen {len(seen)} times",
                f"{seconds:,.1f} s",
                f"target ≤ 60 s; {total / seconds:,.0f} notices/s",
            )
        )
        os.remove(job.stored_path)
    return rows


def _worker() -> subprocess.Popen:
    """One batch task worker on the bench database (it exits when the queue is empty)."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker", "--batch", "--no-startup-delay"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cancuoc.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- 3. Concurrent bookers --------------------------------------------------------------

BOOKERS = 50
BOOKER_CITIZENS = 4  # each booker tries four citizens: 200 attempts for the last 50 places
LAST_PLACES = 50
ROUNDS = 5


def _booking_round(
    manager: User, slots: list[int], contenders: list[int]
) -> tuple[float, float, list[str]]:
    """The bookers start together; each tries its citizens one after the other, each into
    the latest slot with room (where the last places are), until booked or all are full."""
    barrier = threading.Barrier(BOOKERS)
    outcomes: list[str] = []
    filled: list[float] = []
    lock = threading.Lock()

    def booker(k: int) -> None:
        try:
            barrier.wait()
            for citizen in contenders[k * BOOKER_CITIZENS : (k + 1) * BOOKER_CITIZENS]:
                for slot_id in slots:
                    try:
                        invitation_services.invitation_book(
                            actor=manager, slot_id=slot_id, citizen_id=citizen
                        )
                        result = "booked"
                    except SlotFull:
                        result = "full"
                    with lock:
                        outcomes.append(result)
                        if result == "booked":
                            filled.append(time.perf_counter())
                    if result == "booked":
                        break
        finally:
            connections.close_all()

    threads = [threading.Thread(target=booker, args=(k,)) for k in range(BOOKERS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, max(filled, default=started) - started, outcomes


def _bookers(manager: User, campaign: Campaign, communes: list[Unit]) -> list:
    unit = communes[NOTICE_SESSIONS]
    attempts_total = booked_total = 0
    seconds_total = 0.0
    refused: Counter[str] = Counter()
    fills: list[float] = []
    for round_ in range(ROUNDS):
        # A fresh team and session each round (the previous runs' stay, harmless).
        team = resource_services.team_create(
            actor=manager, name=f"Bench bookers {uuid.uuid4().hex[:8]}", unit_id=unit.pk
        )
        session = session_services.session_create(
            actor=manager,
            campaign_id=campaign.pk,
            unit_id=unit.pk,
            team_id=team.pk,
            site_kind=SiteKind.VILLAGE_HALL,
            site_name=f"Nhà văn hoá, vòng {round_ + 1}",
            day=NOTICE_DAY,
            start_time="07:00",
            end_time="11:00",
            sets=2,  # 2 × 240 ÷ 6 = 80 served, 94 invited over 8 slots
        )
        capacity = sum(Slot.objects.filter(session=session).values_list("capacity", flat=True))
        citizens = _fresh_citizens(
            campaign, unit, capacity - LAST_PLACES + BOOKERS * BOOKER_CITIZENS
        )
        # Everything but the last places is taken beforehand.
        invitation_services.invitations_create(
            actor=manager, session_id=session.pk, citizen_ids=citizens[: capacity - LAST_PLACES]
        )
        contenders = citizens[capacity - LAST_PLACES :]
        slots = list(
            Slot.objects.filter(session=session).order_by("-start").values_list("pk", flat=True)
        )
        seconds, fill, outcomes = _booking_round(manager, slots, contenders)
        seconds_total += seconds
        fills.append(fill * 1000)
        counts = Counter(outcomes)
        live = Invitation.objects.filter(session=session, status__in=list(lifecycle.HOLDING))
        per_slot = Counter(live.values_list("slot_id", flat=True))
        for slot in Slot.objects.filter(session=session):
            # Never overbooked, and the counter matches the invitations that hold the slot.
            assert slot.booked <= slot.capacity, slot
            assert slot.booked == per_slot.get(slot.pk, 0), (slot, per_slot.get(slot.pk, 0))
        assert counts["booked"] == LAST_PLACES, counts
        assert live.count() == capacity
        attempts_total += len(outcomes)
        booked_total += counts["booked"]
        refused["full"] += counts["full"]
    return [
        (
            f"{BOOKERS} concurrent bookers (threads, one connection each) × {BOOKER_CITIZENS} "
            f"citizens for the last {LAST_PLACES} places of a session, {ROUNDS} rounds: "
            f"{booked_total} booked, {refused['full']:,} refused as full, never overbooked "
            "(slot counters = invitations holding them, ≤ capacity)",
            f"{attempts_total / seconds_total:,.0f} attempts/s",
            f"the last {LAST_PLACES} places taken in {statistics.median(fills):,.0f} ms "
            f"(median of the rounds); a round of {attempts_total // ROUNDS:,} attempts "
            f"{seconds_total / ROUNDS * 1000:,.0f} ms",
        )
    ]


def run(**_scale: int) -> list[tuple[str, str, str]]:
    scale = int(os.environ.get("BENCH_ENROLMENTS", 10_000_000))
    parts = os.environ.get("BENCH_CAMPAIGN_PARTS", "reports,notices,bookers").split(",")
    rows: list[tuple[str, str, str]] = []
    if "reports" in parts:
        province, communes, manager = _setup()
        started = time.perf_counter()
        built = _seed(scale, communes, province, manager)
        seconds = time.perf_counter() - started
        campaign = _campaign(province, communes, manager)
        built_note = f"built in {seconds:,.0f} s" if built else "reused"
        rows += _reports(scale, manager, campaign, built_note)
    if "notices" in parts or "bookers" in parts:
        province, communes, manager = _setup()
        _citizens(communes)
        campaign = _campaign(province, communes, manager)
        if "notices" in parts:
            rows += _notices(
                manager, campaign, communes, int(os.environ.get("BENCH_NOTICES", 10_000))
            )
        if "bookers" in parts:
            if connection.vendor == "postgresql":
                rows += _bookers(manager, campaign, communes)
            else:
                # As tests/campaigns/test_booking_concurrency.py: SQLite serialises writers.
                print("  (concurrent bookers: PostgreSQL only)")
    return rows
