"""Citizen name search over a province of 1.1 M people, against naive baselines.

The measured call is the one the page and the API make: `citizen_search` for a
province manager (scope = the province prefix), audit row included. About 200
realistic queries are drawn from the names actually stored: full names with and
without diacritics, upper case, "middle given", the given name alone, family name
and given name.

Baselines in the same run:
- the same selector with the word index of migration registry 0002 dropped
  (PostgreSQL; inside a transaction that is rolled back, so the index is back afterwards);
- the naive page most code would write: `icontains`, ORDER BY name, and a Paginator
  that runs COUNT(*) over every match, then reads page 1.

The population comes from `cancuoc.registry.population.population_generate` (helper
RC). If that module is missing, a small built-in generator fills the province so
this benchmark still runs on its own.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Iterator

from django.core.paginator import Paginator
from django.db import connection, transaction
from django.utils import timezone

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.scoping import scope_queryset
from cancuoc.core.text import fold
from cancuoc.registry.models import Citizen
from cancuoc.registry.selectors import SEARCH_CAP, citizen_search
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

PROVINCE = "42"  # Hà Tĩnh: about 1.1 M people before the 2025 merger wave
QUERIES = 200
SEED = 42
WORD_INDEX = "citizen_name_words"  # migration registry 0002


# --- Population -----------------------------------------------------------------------------

_FAMILY = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Phan", 4),
    ("Vũ", 4), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 1), ("Ngô", 1),
    ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Đoàn", 1), ("Lương", 1), ("Trương", 1),
]  # fmt: skip
_MIDDLE = {
    "M": ["Văn", "Đức", "Minh", "Hữu", "Quang", "Công", "Xuân", "Thanh", "Đình", "Ngọc"],
    "F": ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Thùy", "Kim", "Mỹ", "Hồng"],
}
_GIVEN = {
    "M": ["An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Hiếu", "Hoàng", "Hùng",
          "Huy", "Khánh", "Khoa", "Lâm", "Long", "Mạnh", "Nam", "Nghĩa", "Phong", "Phúc",
          "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tuấn",
          "Tùng", "Việt", "Vinh", "Vũ", "Hưng", "Lộc", "Đạt", "Duy", "Kiên", "Hậu"],
    "F": ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng",
          "Huệ", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân",
          "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thu", "Thủy", "Trang", "Trinh",
          "Tuyết", "Uyên", "Vân", "Yến", "Nhàn", "Lụa", "Hậu", "Xuân", "Diệp", "Duyên"],
}  # fmt: skip


def _name(rng: random.Random, sex: str) -> str:
    family = rng.choices([f for f, _ in _FAMILY], weights=[w for _, w in _FAMILY])[0]
    return f"{family} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"


def _rows(communes: list[Unit], start: int, people: int) -> Iterator[tuple]:
    """Minimal citizens: what search reads, and valid 12-digit IDs unique per index."""
    rng = random.Random(SEED + start)
    now = timezone.now()
    for index in range(start, people):
        sex = "M" if rng.random() < 0.5 else "F"
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(365 * 95))
        gene = 2 * ((born.year - 1900) // 100) + (0 if sex == "M" else 1)
        # The serial holds 1 M numbers: past that, the next prefix (Thanh Hóa, 038) continues.
        prefix, serial = ("042", index) if index < 1_000_000 else ("038", index - 1_000_000)
        id_number = f"{prefix}{gene}{born.year % 100:02d}{serial:06d}"
        unit = communes[index % len(communes)]
        name = _name(rng, sex)
        yield (
            "42", id_number, name, fold(name), born, "day", born.year, sex, "Kinh", "",
            "Việt Nam", "", "", unit.pk, "", unit.pk, "", unit.path, "", "", "alive",
            False, False, False, False, False, "", "", now, now,
        )  # fmt: skip


_COLUMNS = (
    "province_code, id_number, full_name, search_name, birth_date, birth_precision, "
    "birth_year, sex, ethnicity, religion, nationality, birth_registration_place, "
    "place_of_origin, permanent_unit_id, permanent_address, current_unit_id, current_address, "
    "unit_path, relationship, phone, life_status, frail_elderly, disability, serious_illness, "
    "living_alone, war_merit, school, grade, created_at, updated_at"
)


def _fill_builtin(province: Unit, people: int, have: int) -> None:
    communes = list(Unit.objects.filter(parent=province).order_by("code"))
    rows = _rows(communes, have, people)
    table = Citizen._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(_COLUMNS.split(",")))
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(f"INSERT INTO {table} ({_COLUMNS}) VALUES ({marks})", batch)
                    batch = []
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({_COLUMNS}) VALUES ({marks})", batch)


def _populate(province: Unit, people: int) -> str:
    have = Citizen.objects.filter(province_code=province.code).count()
    if have >= people:
        return f"{have:,} citizens already there"
    try:
        from cancuoc.registry.population import population_generate
    except ImportError:
        _fill_builtin(province, people, have)
        source = "built-in generator"
    else:
        population_generate(province=province, people=people, seed=SEED)
        source = "population_generate"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Citizen._meta.db_table}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return f"{Citizen.objects.filter(province_code=province.code).count():,} citizens ({source})"


# --- Queries --------------------------------------------------------------------------------


def _queries(province: Unit) -> list[str]:
    """About 200 queries built from stored names, in the ways officers type them."""
    rng = random.Random(SEED)
    top = Citizen.objects.filter(province_code=province.code).order_by("-pk").values("pk")[:1]
    last = top[0]["pk"]
    names: list[str] = []
    while len(names) < QUERIES:
        row = Citizen.objects.filter(pk__gte=rng.randrange(1, last)).values("full_name").first()
        if row and len(row["full_name"].split()) >= 3:
            names.append(row["full_name"])
    makers: list[Callable[[str], str]] = [
        lambda n: n,  # Nguyễn Thị Hằng
        lambda n: fold(n),  # nguyen thi hang
        lambda n: fold(n).upper(),  # NGUYEN THI HANG
        lambda n: " ".join(n.split()[-2:]),  # Thị Hằng
        lambda n: fold(" ".join(n.split()[-2:])),  # thi hang
        lambda n: n.split()[-1].lower(),  # hằng
        lambda n: fold(f"{n.split()[0]} {n.split()[-1]}"),  # nguyen hang
        lambda n: fold(n)[: max(4, len(fold(n)) - 3)],  # as-you-type: nguyen thi h
    ]
    return [makers[i % len(makers)](name) for i, name in enumerate(names)]


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(0.95 * (len(samples) - 1))],
        "max": samples[-1],
    }


def _time_each(queries: list[str], fn: Callable[[str], object]) -> dict[str, float]:
    for q in queries[:5]:  # warm the caches the way a running server has them
        fn(q)
    samples = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def _naive(user: User, q: str) -> list:
    """The page most code would write: icontains, ORDER BY, and a Paginator's COUNT(*)."""
    rows = scope_queryset(Citizen.objects.all(), user=user).filter(search_name__icontains=fold(q))
    return list(Paginator(rows.order_by("search_name", "pk"), 50).page(1))


def _without_index(queries: list[str], fn: Callable[[str], object]) -> dict[str, float] | None:
    """The same selector with the word index dropped, rolled back afterwards."""
    if connection.vendor != "postgresql":
        return None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {WORD_INDEX}")
        result = _time_each(queries, fn)
        transaction.set_rollback(True)
    return result


def _user(unit: Unit, role: str) -> User:
    user, _ = User.objects.get_or_create(
        username=f"bench.rs.{unit.code}", defaults={"role": role, "unit": unit}
    )
    return user


def _ms(stats: dict[str, float]) -> str:
    return f"p50 {stats['p50']:.1f} ms · p95 {stats['p95']:.1f} ms · max {stats['max']:.0f} ms"


def run(*, people: int, **_scale: int) -> list[tuple[str, str, str]]:
    units_import(edition="2025")
    province = Unit.objects.get(edition="2025", code=PROVINCE)
    population = _populate(province, people)
    manager = _user(province, Role.PROVINCE_MANAGER)
    commune = Unit.objects.filter(parent=province).order_by("code").first()
    assert commune is not None
    officer = _user(commune, Role.UNIT_MANAGER)
    queries = _queries(province)

    def search(q: str) -> object:
        return citizen_search(user=manager, q=q)

    sizes = [citizen_search(user=manager, q=q, audit=False) for q in queries]
    # Every query must find the citizen it was drawn from, or the timings mean nothing.
    assert all(page.total > 0 for page in sizes), "a benchmark query found nobody"
    capped = sum(page.capped for page in sizes)
    fast = _time_each(queries, search)
    unindexed = _without_index(queries[:40], search)
    naive = _time_each(queries[:40], lambda q: _naive(manager, q))
    in_commune = _time_each(queries, lambda q: citizen_search(user=officer, q=q))
    sample = Citizen.objects.filter(province_code=PROVINCE).order_by("pk").first()
    assert sample is not None
    by_id = _time_each([sample.id_number] * 50, search)
    baseline = (
        f"{_ms(unindexed)} same selector without the word index (40 queries)"
        if unindexed
        else f"{_ms(naive)} naive (COUNT + ORDER BY, 40 queries)"
    )
    return [
        (f"population of province {PROVINCE}", population, "—"),
        (
            f"name search, province manager, {len(queries)} queries "
            f"({capped} capped at {SEARCH_CAP:,} matches)",
            _ms(fast),
            baseline,
        ),
        (
            "naive search page: icontains + ORDER BY + Paginator COUNT(*), 40 queries",
            _ms(naive),
            "—",
        ),
        (f"name search, commune officer ({commune.name})", _ms(in_commune), "—"),
        ("exact personal ID number", _ms(by_id), "—"),
    ]
