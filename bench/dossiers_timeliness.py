"""One-stop desk: the timeliness report of a province over a year, against a naive GROUP BY.

The data: `dossiers` dossiers received over the working days of 2025 in the communes of
Hà Tĩnh (2025 edition), over twelve bench procedures of 1–15 working days, through
eight channels; most returned on time, a fifth early, a few late, a few withdrawn, the
last weeks' still open. Everything is generated in SQL from the dossier's index (no
randomness, so every run builds the same data):

* the minimal `Dossier` rows, for the naive baseline;
* the rollups those dossiers would have produced through the services (receipt,
  due, return, withdrawal: the contract "Dossier events and rollups"), summed per
  commune × day × procedure × measure, zero-valued due_open rows included, as the
  incremental path leaves them.

The report (`dossiers.reports.timeliness_report`) reads only the rollups; the baseline
counts the same columns with one GROUP BY over the dossiers. Both must agree before any
figure is written.

Two rollup layouts are measured. Day rows only (what `core.events` keeps today): a year
of a province is ~2.4 M rows to sum. Day + month rows (the proposed `core.events` change:
every increment also lands on a row per calendar month, subject prefixed "month|"): whole
months come from ~150 k month rows and only the edges of the period from day rows. When
`core.events.MONTH_SUBJECT_PREFIX` exists the second layout is the real one and is the
only one measured.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from bench.report import timed
from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import prefix_q, scope_queryset
from cancuoc.core.workdays import VN_TZ, default_calendar
from cancuoc.dossiers.models import Channel, Dossier, Procedure, ProcedureVersion
from cancuoc.dossiers.reports import timeliness_report
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

PROVINCE = "42"
YEAR = 2025
CODE_PREFIX = "BENCH-"
# (code, name, working days, weight per mille): a few procedures carry most of the work.
PROCEDURES = [
    ("B.000001", "Chứng thực bản sao từ bản chính", 1, 300),
    ("B.000002", "Đăng ký khai sinh", 3, 150),
    ("B.000003", "Đăng ký thường trú", 7, 120),
    ("B.000004", "Xác nhận tình trạng hôn nhân", 3, 90),
    ("B.000005", "Đăng ký kết hôn", 5, 80),
    ("B.000006", "Đăng ký khai tử", 3, 60),
    ("B.000007", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 15, 50),
    ("B.000008", "Đăng ký hộ kinh doanh", 3, 50),
    ("B.000009", "Trợ cấp xã hội hằng tháng", 10, 40),
    ("B.000010", "Chứng thực hợp đồng, giao dịch", 2, 30),
    ("B.000011", "Đăng ký tạm trú", 3, 20),
    ("B.000012", "Cấp bản sao trích lục hộ tịch", 1, 10),
]
# Channel shares per hundred, in Channel order.
CHANNEL_SHARES = [
    ("counter", 55),
    ("mobile", 5),
    ("home_visit", 1),
    ("school", 1),
    ("post", 5),
    ("online_full", 15),
    ("online_partial", 15),
    ("hamlet", 3),
]
CHUNK = 1_000_000


def _setup() -> tuple[Unit, list[Unit], User, list[dt.date], int]:
    units_import(edition="2025")
    province = Unit.objects.get(edition="2025", code=PROVINCE)
    communes = list(province.children.order_by("code"))
    manager, _ = User.objects.get_or_create(
        username=f"bench.dossiers.{PROVINCE}",
        defaults={"role": Role.PROVINCE_MANAGER, "unit": province, "full_name": "Bench"},
    )
    for code, name, days, _weight in PROCEDURES:
        procedure, _ = Procedure.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "search_name": name.lower(),
                "field": "Bench",
                "competent_level": "commune",
            },
        )
        ProcedureVersion.objects.get_or_create(
            procedure=procedure,
            valid_from=dt.date(2020, 1, 1),
            area="",
            defaults={"processing_days": days},
        )
    calendar = default_calendar()
    day, workdays = dt.date(YEAR, 1, 1), []
    while day < dt.date(YEAR + 1, 4, 1):  # past the year: due and return days of late receipts
        if calendar.is_working_day(day):
            workdays.append(day)
        day += dt.timedelta(days=1)
    in_year = sum(1 for d in workdays if d.year == YEAR)
    return province, communes, manager, workdays, in_year


def _helper_tables(communes: list[Unit], workdays: list[dt.date]) -> None:
    versions = {
        v.procedure.code: v
        for v in ProcedureVersion.objects.select_related("procedure").filter(
            procedure__code__in=[p[0] for p in PROCEDURES]
        )
    }
    with connection.cursor() as cursor:
        for table in ("bench_wd", "bench_commune", "bench_proc", "bench_channel"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute("CREATE TABLE bench_wd (idx integer PRIMARY KEY, day date NOT NULL)")
        cursor.executemany("INSERT INTO bench_wd VALUES (%s, %s)", list(enumerate(workdays)))
        cursor.execute(
            "CREATE TABLE bench_commune (idx integer PRIMARY KEY, unit_id bigint, "
            "unit_path varchar(64))"
        )
        cursor.executemany(
            "INSERT INTO bench_commune VALUES (%s, %s, %s)",
            [(i, c.pk, c.path) for i, c in enumerate(communes)],
        )
        cursor.execute(
            "CREATE TABLE bench_proc (lo integer, hi integer, procedure_id bigint, "
            "version_id bigint, days integer, subject varchar(100))"
        )
        rows, lo = [], 0
        for code, _name, days, weight in PROCEDURES:
            version = versions[code]
            rows.append((lo, lo + weight, version.procedure_id, version.pk, days, f"proc:{code}"))
            lo += weight
        cursor.executemany("INSERT INTO bench_proc VALUES (%s, %s, %s, %s, %s, %s)", rows)
        cursor.execute("CREATE TABLE bench_channel (lo integer, hi integer, channel varchar(14))")
        shares, lo = [], 0
        for channel, share in CHANNEL_SHARES:
            shares.append((lo, lo + share, channel))
            lo += share
        cursor.executemany("INSERT INTO bench_channel VALUES (%s, %s, %s)", shares)


def _generated(first: int, last: int, in_year: int) -> str:
    """SELECT of one row per dossier index in [first, last): where, what, and what became of it.

    Hashes of the index pick the commune, procedure, channel, receipt day and outcome:
    per thousand, 5 withdrawn the next working day, 30 late by 1–5 working days, 200
    early, the rest on time; a dossier whose end would fall after the year is still open.
    """
    if connection.vendor == "postgresql":
        # bigint: the hashes below overflow a 32-bit integer.
        series = f"SELECT i FROM generate_series({first}::bigint, {last - 1}) AS s(i)"
    else:
        series = (
            f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s "
            f"WHERE i < {last - 1}) SELECT i FROM s"
        )
    communes = Unit.objects.filter(edition="2025", parent__code=PROVINCE).count()
    return f"""
      SELECT g.i, c.unit_id, c.unit_path, p.procedure_id, p.version_id, p.subject, ch.channel,
             g.recv, g.recv + p.days AS due,
             CASE WHEN g.o < 5 THEN g.recv + 1
                  WHEN g.o < 35 THEN g.recv + p.days + 1 + g.o % 5
                  WHEN g.o < 235 THEN g.recv + p.days - 1 - g.o % p.days
                  ELSE g.recv + p.days END AS fin,
             CASE WHEN g.o < 5 THEN 'withdrawn' WHEN g.o < 35 THEN 'late'
                  WHEN g.o < 235 THEN 'early' ELSE 'on_time' END AS kind,
             g.m
      FROM (SELECT i,
                   (i * 7919) % {communes} AS ci,
                   (i * 104729 + 7) % 1000 AS pi,
                   ((i * 15485863) % 1000003) % {in_year} AS recv,
                   ((i * 32452843) % 1000033) % 100 AS chi,
                   ((i * 49979687) % 1000037) % 1000 AS o,
                   (i * 31) % 420 AS m
            FROM ({series}) AS s) AS g
      JOIN bench_commune c ON c.idx = g.ci
      JOIN bench_proc p ON g.pi >= p.lo AND g.pi < p.hi
      JOIN bench_channel ch ON g.chi >= ch.lo AND g.chi < ch.hi
    """


def _timestamps() -> tuple[str, str]:
    """SQL for a receipt moment (08:00–15:00 local) and a return moment (10:00 local)."""
    if connection.vendor == "postgresql":
        return (
            "((rd.day + time '01:00' + x.m * interval '1 minute') AT TIME ZONE 'UTC')",
            "((fd.day + time '03:00') AT TIME ZONE 'UTC')",
        )
    return (
        "(rd.day || printf(' %02d:%02d:00', 1 + x.m / 60, x.m % 60))",
        "(fd.day || ' 03:00:00')",
    )


def _bulk_load(cursor: Any) -> None:
    """On PostgreSQL, skip the per-row foreign-key triggers of a bulk load (the generated
    rows point at units, procedures and a user that exist); SQLite checks none anyway."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL session_replication_role = replica")


def _insert_dossiers(first: int, last: int, in_year: int, manager: User) -> None:
    received_at, finished_at = _timestamps()
    last_idx = in_year - 1
    sql = f"""
      INSERT INTO dossiers_dossier (
        code, province_code, unit_id, unit_path, receiving_unit_id, procedure_id,
        procedure_version_id, channel, status, applicant_name, applicant_id_number,
        applicant_phone, applicant_address, received_at, received_by_id, due_date,
        paused_days, returned_at, timeliness, return_method, delivery_address,
        tracking_number, delivery_status, fee_amount, fee_status, fee_exemption_reason,
        fee_receipt_number, note, updated_at)
      SELECT '{CODE_PREFIX}' || x.i, '{PROVINCE}', x.unit_id, x.unit_path, x.unit_id,
        x.procedure_id, x.version_id, x.channel,
        CASE WHEN x.fin > {last_idx} THEN 'in_appraisal'
             WHEN x.kind = 'withdrawn' THEN 'withdrawn' ELSE 'returned' END,
        'Bench', '', '', '', {received_at}, {manager.pk}, dd.day, 0,
        CASE WHEN x.fin > {last_idx} OR x.kind = 'withdrawn' THEN NULL ELSE {finished_at} END,
        CASE WHEN x.fin > {last_idx} OR x.kind = 'withdrawn' THEN '' ELSE x.kind END,
        'counter', '', '', '', 0, 'none', '', '', '',
        CASE WHEN x.fin > {last_idx} THEN {received_at} ELSE {finished_at} END
      FROM ({_generated(first, last, in_year)}) AS x
      JOIN bench_wd rd ON rd.idx = x.recv
      JOIN bench_wd dd ON dd.idx = x.due
      JOIN bench_wd fd ON fd.idx = CASE WHEN x.fin > {last_idx} THEN x.recv ELSE x.fin END
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_load(cursor)
        cursor.execute(sql)


def _insert_rollups(first: int, last: int, in_year: int) -> None:
    """The rollups the services would have written for these dossiers, added in."""
    last_idx = in_year - 1
    # One row per (dossier, measure) change, like the events: receipt, due, end.
    changes = f"""
      SELECT x.unit_id, x.unit_path, x.recv AS d, x.subject, 'received' AS measure, 1 AS v FROM g x
      UNION ALL SELECT x.unit_id, x.unit_path, x.recv, x.subject, 'received_' || x.channel, 1
        FROM g x
      UNION ALL SELECT x.unit_id, x.unit_path, x.due, x.subject, 'due_open', 1 FROM g x
      UNION ALL SELECT x.unit_id, x.unit_path, x.due, x.subject, 'due_open', -1 FROM g x
        WHERE x.fin <= {last_idx}
      UNION ALL SELECT x.unit_id, x.unit_path, x.fin, x.subject, 'withdrawn', 1 FROM g x
        WHERE x.fin <= {last_idx} AND x.kind = 'withdrawn'
      UNION ALL SELECT x.unit_id, x.unit_path, x.fin, x.subject, 'resolved', 1 FROM g x
        WHERE x.fin <= {last_idx} AND x.kind <> 'withdrawn'
      UNION ALL SELECT x.unit_id, x.unit_path, x.fin, x.subject, 'resolved_' || x.kind, 1
        FROM g x WHERE x.fin <= {last_idx} AND x.kind <> 'withdrawn'
    """
    sql = f"""
      WITH g AS MATERIALIZED ({_generated(first, last, in_year)})
      INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value)
      SELECT ch.unit_id, ch.unit_path, wd.day, ch.subject, ch.measure, SUM(ch.v)
      FROM ({changes}) AS ch JOIN bench_wd wd ON wd.idx = ch.d
      GROUP BY ch.unit_id, ch.unit_path, wd.day, ch.subject, ch.measure
      ON CONFLICT (unit_id, day, subject, measure)
      DO UPDATE SET value = core_dailyrollup.value + excluded.value
    """
    if connection.vendor == "sqlite":
        # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT (parsing ambiguity).
        sql = sql.replace("GROUP BY ch.unit_id", "WHERE true GROUP BY ch.unit_id")
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_load(cursor)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '1GB'")  # one hash aggregate over 10 M dossiers
        cursor.execute(sql)


def _seed(
    total: int, communes: list[Unit], workdays: list[dt.date], in_year: int, manager: User
) -> bool:
    """Build what is missing: dossiers in resumable chunks, then all their rollups at once
    (adding chunk by chunk would rewrite every rollup row ten times)."""
    subjects = [f"proc:{p[0]}" for p in PROCEDURES]
    have = Dossier.objects.filter(code__startswith=CODE_PREFIX).count()
    counted = (
        DailyRollup.objects.filter(subject__in=subjects, measure="received").aggregate(
            n=Sum("value")
        )["n"]
        or 0
    )
    if have == total and counted == total:
        return False
    if have > total or (have % CHUNK and have != total):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM dossiers_dossier WHERE code LIKE %s", [f"{CODE_PREFIX}%"])
        have = 0
    _helper_tables(communes, workdays)
    for first in range(have, total, CHUNK):
        last = min(first + CHUNK, total)
        _insert_dossiers(first, last, in_year, manager)
        print(f"  … {last:,} dossiers", flush=True)
    DailyRollup.objects.filter(subject__in=subjects).delete()
    _insert_rollups(0, total, in_year)
    print("  … their rollups", flush=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE core_dailyrollup")
            cursor.execute("VACUUM ANALYZE dossiers_dossier")
        else:
            cursor.execute("ANALYZE")
    return True


# The month grain proposed for core.events (see dossiers.reports._month_prefix): the same
# rollups summed per calendar month, dated the 1st, under this subject prefix.
PROPOSED_MONTH_PREFIX = "month|"


def _month_rollups(prefix: str) -> None:
    """Add the month rows the rollup layer would keep beside these day rows (idempotent)."""
    subjects = [f"proc:{p[0]}" for p in PROCEDURES]
    DailyRollup.objects.filter(subject__in=[prefix + s for s in subjects]).delete()
    first_of_month = (
        "CAST(date_trunc('month', day) AS date)"
        if connection.vendor == "postgresql"
        else "date(day, 'start of month')"
    )
    marks = ", ".join(["%s"] * len(subjects))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value)
                SELECT unit_id, unit_path, {first_of_month}, %s || subject, measure, SUM(value)
                FROM core_dailyrollup WHERE subject IN ({marks})
                GROUP BY unit_id, unit_path, {first_of_month}, subject, measure""",
            [prefix, *subjects],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE core_dailyrollup")


def naive_totals(*, user: Any, unit: Unit, date_from: dt.date, date_to: dt.date) -> dict:
    """The same columns counted from the dossiers themselves, grouped by unit and procedure."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=VN_TZ)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=VN_TZ)
    as_of = date_to

    def ended_before(moment: dt.datetime) -> Q:
        return Q(returned_at__lt=moment) | Q(status="withdrawn", updated_at__lt=moment)

    in_period = Q(received_at__gte=start, received_at__lt=end)
    aggregates = {
        "carried_over": Count("id", filter=Q(received_at__lt=start) & ~ended_before(start)),
        "received": Count("id", filter=in_period),
        **{f"received_{c}": Count("id", filter=in_period & Q(channel=c)) for c in Channel.values},
        **{
            k: Count("id", filter=Q(returned_at__gte=start, returned_at__lt=end, timeliness=k))
            for k in ("early", "on_time", "late")
        },
        "withdrawn": Count(
            "id", filter=Q(status="withdrawn", updated_at__gte=start, updated_at__lt=end)
        ),
        "open": Count("id", filter=Q(received_at__lt=end) & ~ended_before(end)),
        "overdue": Count(
            "id", filter=Q(received_at__lt=end, due_date__lt=as_of) & ~ended_before(end)
        ),
    }
    rows = (
        scope_queryset(Dossier.objects.all(), user=user)
        .filter(prefix_q("unit_path", unit.path))
        .values("unit_id", "procedure_id")
        .annotate(**aggregates)
        .order_by()
    )
    totals = dict.fromkeys(aggregates, 0)
    for row in rows:
        counted: dict[str, int] = dict(row)  # type: ignore[arg-type]
        for key in aggregates:
            totals[key] += counted[key]
    return totals


def _report_totals(report: Any) -> dict:
    t = report.total
    return {
        "carried_over": t.carried_over,
        "received": t.received,
        **{f"received_{c}": t.received_by_channel.get(c, 0) for c in Channel.values},
        "early": t.early,
        "on_time": t.on_time,
        "late": t.late,
        "withdrawn": t.withdrawn,
        "open": t.open,
        "overdue": t.overdue,
    }


def run(*, dossiers: int, **_scale: int) -> list[tuple[str, str, str]]:
    province, communes, manager, workdays, in_year = _setup()
    started = time.perf_counter()
    built = _seed(dossiers, communes, workdays, in_year, manager)
    seconds = time.perf_counter() - started
    year = {"date_from": dt.date(YEAR, 1, 1), "date_to": dt.date(YEAR, 12, 31)}
    today = dt.date(YEAR + 1, 6, 30)  # asked after the year: open dossiers as of 31 December

    def report() -> Any:
        return timeliness_report(
            user=manager,
            unit=province,
            date_from=year["date_from"],
            date_to=year["date_to"],
            today=today,
        )

    def naive() -> dict:
        return naive_totals(user=manager, unit=province, **year)

    from cancuoc.core import events

    slow = timed(naive, repeat=3)
    from_dossiers = naive()
    # Both sides must count the same, non-empty thing, or the comparison means nothing.
    assert from_dossiers["received"] == dossiers, (from_dossiers["received"], dossiers)
    subjects = [f"proc:{p[0]}" for p in PROCEDURES]
    day_rows = DailyRollup.objects.filter(subject__in=subjects).count()
    build = f"built in {seconds:,.0f} s" if built else "reused"
    scene = (
        f"Hà Tĩnh ({len(communes)} communes × {len(PROCEDURES)} procedures), year {YEAR}, "
        f"{dossiers:,} dossiers ({build})"
    )
    rows: list[tuple[str, str, str]] = []
    has_months = getattr(events, "MONTH_SUBJECT_PREFIX", None)
    grains: list[tuple[str, str | None]] = [("day rollups", None)]
    if has_months:
        grains = [("day + month rollups", has_months)]
    else:
        grains.append(("day + month rollups (proposed core.events change)", PROPOSED_MONTH_PREFIX))
    for label, prefix in grains:
        if prefix:
            _month_rollups(prefix)
            events.MONTH_SUBJECT_PREFIX = prefix  # type: ignore[attr-defined]
        try:
            fast = timed(report, repeat=30)
            result = report()
        finally:
            if prefix and not has_months:
                del events.MONTH_SUBJECT_PREFIX  # type: ignore[attr-defined]
        assert _report_totals(result) == from_dossiers, (_report_totals(result), from_dossiers)
        months = (
            DailyRollup.objects.filter(subject__in=[prefix + s for s in subjects]).count()
            if prefix
            else 0
        )
        stored = f"{day_rows:,} day rows" + (f" + {months:,} month rows" if months else "")
        rows += [
            (
                f"timeliness report from {label}: {scene}; {stored}; "
                f"on-time rate {result.total.on_time_rate} %; p50",
                f"{fast['p50']:.1f} ms",
                f"{slow['p50']:,.0f} ms GROUP BY over dossiers",
            ),
            (
                f"same, p95 ({label})",
                f"{fast['p95']:.1f} ms",
                f"{slow['p95']:,.0f} ms GROUP BY over dossiers",
            ),
        ]
    return rows
