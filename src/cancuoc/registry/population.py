"""A realistic synthetic population for a province: the demo registry and the benchmarks.

`population_generate` bulk-inserts citizens, households and identity documents spread over
the province's communes (2025 edition); `population_rows` yields the same people as rows in
the import column format (registry import template), so a benchmark can write a CSV.

What "realistic" means here:

- Ages follow the shape of Vietnam's 2019 census pyramid (5-year bands), with more boys
  among the young and more women among the old. Ages are drawn first, then people are
  grouped into households of 1–7 (head, spouse, children, a parent, grandchildren; the
  elderly often alone), so the pyramid holds exactly and households look like families.
- Names are Vietnamese (family, middle, given; children carry the father's family name),
  built from Faker's ``vi_VN`` word lists plus more common names. Faker itself is never
  called per person: it is slow and its ``vi_VN`` formats put the family name last.
- ID numbers are valid (prefix of the province where the birth was registered, century/sex
  digit and year agreeing with the record); about 93 % carry the province's own prefix.
- Documents as of `REFERENCE_DATE`: most adults hold a chip CCCD (2021–6/2024) or a căn
  cước card (from 7/2024), some a barcode CCCD (2016–2020), about 5 % only an old CMND,
  a few have applied (enrolled / in production) or lost their card; some children hold a
  căn cước card. Card expiry dates follow the law (`cohort_rules.card_expiry`).
- Each data-quality rule code of the registry (see `PLANTED`) is planted at a small share.
  Planting is deterministic per seed and nothing else in the data trips a rule, so the
  quality report finds exactly the planted counts returned here (``cmnd9_only`` is not
  planted: it is the 9-digit part of the natural CMND-only share).

Same seed, same province, same people: ID numbers and household numbers derive from the
seed and each person's position, so a second run with the same seed finds the first
household and inserts nothing. One database should hold one seed per province: two seeds
draw from the same ID-number space and may collide.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from faker.providers.person.vi_VN import Provider as _VietnameseNames

from cancuoc.core.text import fold
from cancuoc.registry.cohort_rules import birthday, card_expiry
from cancuoc.registry.idnumber import province_prefixes

__all__ = [
    "PLANTED",
    "REFERENCE_DATE",
    "population_generate",
    "population_rows",
]

#: The day the generated registry describes: ages, document statuses and expiry are as of
#: this date. Fixed so a seed always yields the same people (and the same ID numbers).
REFERENCE_DATE = date(2026, 7, 1)

#: Person-level data-quality problems and their share of citizens; household-level ones and
#: their share of households. Rule codes are the registry's quality rule codes.
PLANTED: dict[str, float] = {
    "id_malformed": 0.003,
    "id_unknown_prefix": 0.003,
    "id_sex_mismatch": 0.004,
    "id_year_mismatch": 0.004,
    "duplicate_person": 0.003,
    "impossible_date": 0.002,
    "missing_required": 0.005,
    "deceased_with_valid_card": 0.002,
    "phone_invalid": 0.006,
}
PLANTED_HOUSEHOLD: dict[str, float] = {
    "household_without_head": 0.005,
    "household_several_heads": 0.004,
}

# Vietnam 2019 census, share of the population by 5-year band (0-4 … 95+), in per mille,
# and the male share of each band.
_PYRAMID = (
    (82, 0.525),
    (86, 0.522),
    (76, 0.520),
    (69, 0.515),
    (70, 0.505),
    (80, 0.500),
    (84, 0.500),
    (79, 0.500),
    (73, 0.498),
    (66, 0.495),
    (59, 0.485),
    (52, 0.475),
    (43, 0.465),
    (30, 0.450),
    (19, 0.430),
    (13, 0.400),
    (10, 0.370),
    (6, 0.340),
    (3, 0.300),
    (1, 0.250),
)
MAX_AGE = 5 * len(_PYRAMID) - 1

# Family names with rough national frequencies (per mille); Faker's vi_VN list is included.
_FAMILY = {
    "Nguyễn": 315, "Trần": 109, "Lê": 95, "Phạm": 70, "Hoàng": 51, "Phan": 45, "Vũ": 39,
    "Võ": 20, "Đặng": 21, "Bùi": 20, "Đỗ": 14, "Hồ": 13, "Ngô": 13, "Dương": 10, "Lý": 5,
    "Đinh": 10, "Trương": 10, "Đoàn": 8, "Lương": 6, "Mai": 5, "Cao": 5, "Thái": 5, "Hà": 5,
    "Tạ": 3, "Chu": 3, "Lưu": 3, "Kiều": 2, "Huỳnh": 5, "Đào": 6, "Phùng": 3,
}  # fmt: skip
for _name in _VietnameseNames.last_names:
    _FAMILY.setdefault(_name, 5)
_MIDDLE_MALE = (
    "Văn", "Văn", "Văn", "Văn", "Đức", "Hữu", "Minh", "Quang", "Xuân", "Công", "Đình",
    "Ngọc", "Thanh", "Mạnh", "Hoàng", "Duy", "Tuấn", "Anh", "Trọng", "Quốc", "Bá", "Thế",
    "Tiến", "Hải", "Trí", "Tấn", "Phú",
)  # fmt: skip
_MIDDLE_FEMALE = (
    "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Hồng", "Kim",
    "Diệu", "Bảo", "Hoài", "Khánh", "Mai", "Quỳnh", "Thùy", "Hải", "Lan", "Xuân",
)  # fmt: skip
_GIVEN_MALE = tuple(
    dict.fromkeys(
        (
            *_VietnameseNames.first_names_male,
            *_VietnameseNames.first_names_unisex,
            "Bình", "Cường", "Dũng", "Đạt", "Hiếu", "Hòa", "Khánh", "Lâm", "Long", "Lộc",
            "Mạnh", "Nghĩa", "Nhân", "Phong", "Quân", "Sơn", "Tài", "Thắng", "Thịnh", "Tiến",
            "Toàn", "Tuấn", "Việt", "Vinh", "Hùng", "Kiên", "Đông", "Hiệp", "Hậu", "Luân",
            "Sang", "Thuận", "Trường", "Tâm", "Đức", "Hào", "Khải", "Lực", "Nhật", "Tín",
        )
    )
)  # fmt: skip
_GIVEN_FEMALE = tuple(
    dict.fromkeys(
        (
            *_VietnameseNames.first_names_female,
            *_VietnameseNames.first_names_unisex,
            "Anh", "Bích", "Diệp", "Dung", "Giang", "Hạnh", "Hằng", "Hiền", "Hoa", "Huyền",
            "Liên", "Loan", "Ly", "My", "Nga", "Nhung", "Nhi", "Oanh", "Phượng", "Quyên",
            "Quỳnh", "Tâm", "Thanh", "Thơ", "Thủy", "Trang", "Trâm", "Uyên", "Vy", "Nhàn",
            "Thắm", "Tuyết", "Thư", "Lý", "Sen", "Huệ", "Cúc", "Đào", "Hoài", "Thương",
        )
    )
)  # fmt: skip
_ETHNICITY = (("Kinh", 960), ("Thái", 12), ("Mường", 10), ("Chứt", 6), ("Lào", 4), ("Tày", 8))
_RELIGION = (("Không", 850), ("Công giáo", 110), ("Phật giáo", 40))
_MOBILE = (
    "032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078",
    "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093",
    "094", "096", "097", "098",
)  # fmt: skip
_ISSUER_CHIP = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
_ISSUER_CANCUOC = "Bộ Công an"

_CHIP_FROM, _CHIP_TO = date(2021, 1, 1), date(2024, 6, 30)
_CANCUOC_FROM = date(2024, 7, 1)
_BARCODE_FROM, _BARCODE_TO = date(2016, 1, 1), date(2020, 12, 31)
_CMND9_FROM, _CMND12_FROM, _CMND_TO = date(1999, 1, 1), date(2012, 1, 1), date(2015, 12, 31)
_RELATIONSHIP_VI = {
    "head": "Chủ hộ",
    "spouse": "Vợ/Chồng",
    "child": "Con",
    "parent": "Bố/Mẹ",
    "grandchild": "Cháu",
    "sibling": "Anh/Chị/Em",
    "other": "Khác",
}


_SIZE_CUM = (12, 32, 52, 77, 90, 97, 100)  # households of 1..7 people, cumulative %


class _CommuneLike(Protocol):
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class _Commune:
    code: str
    name: str
    path: str
    pk: int | None
    short: str  # the name without "Xã"/"Phường"
    ward: bool


@dataclass(slots=True)
class Document:
    kind: str
    number: str
    issued: date | None
    place: str
    expiry: date | None
    status: str


@dataclass(slots=True)
class Person:
    index: int
    id_number: str
    full_name: str
    search_name: str
    birth_date: date | None
    precision: str
    birth_year: int | None
    sex: str  # "M", "F" or "" (missing)
    ethnicity: str
    religion: str
    birth_place: str
    origin: str
    commune: int
    address: str
    current: int | None
    current_address: str
    relationship: str
    phone: str
    deceased: bool
    death_date: date | None
    frail: bool
    disability: bool
    illness: bool
    alone: bool
    war_merit: bool
    school: str
    grade: str
    documents: list[Document] = field(default_factory=list)


@dataclass(slots=True)
class HouseholdRecord:
    index: int
    number: str
    commune: int
    address: str
    members: list[Person]
    head: Person | None


def _weighted(pairs: Sequence[tuple[str, int]]) -> tuple[tuple[str, ...], list[int]]:
    names = tuple(name for name, _ in pairs)
    cum = list(itertools.accumulate(weight for _, weight in pairs))
    return names, cum


def _short(name: str) -> str:
    for stem in ("Phường ", "Xã ", "Thị trấn ", "Đặc khu "):
        if name.startswith(stem):
            return name[len(stem) :]
    return name


def _communes(communes: Sequence[Any]) -> list[_Commune]:
    result = []
    for item in communes:
        if isinstance(item, str):
            code, name, path, pk = item, f"Xã {item}", "", None
        else:
            code, name = item.code, item.name
            path, pk = getattr(item, "path", ""), getattr(item, "pk", None)
        result.append(
            _Commune(code, name, path, pk, _short(name), name.startswith(("Phường", "Thị trấn")))
        )
    if not result:
        raise ValueError("a population needs at least one commune")
    return result


class _Generator:
    """Builds the population household by household; deterministic for a seed."""

    def __init__(
        self,
        *,
        province_code: str,
        province_name: str,
        communes: Sequence[Any],
        people: int,
        seed: int,
        quality_problems: bool,
    ) -> None:
        if people < 0:
            raise ValueError("people must be 0 or more")
        self.code = province_code
        self.province_name = province_name
        self.communes = _communes(communes)
        self.people = people
        self.seed = seed
        self.quality = quality_problems
        # Seeded on purpose: the same seed must give the same people.
        self.rng = random.Random(f"cancuoc-population:{province_code}:{seed}")  # noqa: S311
        self._random = self.rng.random
        prefixes = province_prefixes()
        own = f"0{province_code}"
        self.own_prefix = own if own in prefixes else next(iter(sorted(prefixes)))
        self.other_prefixes = sorted(p for p in prefixes if p != self.own_prefix)
        self.prefix_names = prefixes
        self.as_of = REFERENCE_DATE
        # Commune sizes vary: wards are denser. Weights drawn once.
        weights = [
            self.rng.lognormvariate(0, 0.45) * (1.6 if c.ward else 1.0) for c in self.communes
        ]
        self.commune_cum = list(itertools.accumulate(weights))
        self.family, self.family_cum = _weighted(list(_FAMILY.items()))
        self.family_folded = {name: fold(name) for name in self.family}
        self.folded = {
            n: fold(n) for n in (*_MIDDLE_MALE, *_MIDDLE_FEMALE, *_GIVEN_MALE, *_GIVEN_FEMALE)
        }
        self.ethnicity, self.ethnicity_cum = _weighted(_ETHNICITY)
        self.religion, self.religion_cum = _weighted(_RELIGION)
        self.serial_counters: dict[tuple[str, int, int], int] = {}
        self.serial_offset = self.rng.randrange(800_000)
        self.seen_keys: set[int] = set()
        self.counts: dict[str, int] = dict.fromkeys(
            ["citizens", "households", "documents", *PLANTED, *PLANTED_HOUSEHOLD, "cmnd9_only"],
            0,
        )
        self._draw_ages()
        self._plan_problems()

    # --- fast draws (random.choices and randrange cost several times more per call) ----

    def _below(self, n: int) -> int:
        return int(self._random() * n)

    def _pick(self, names: tuple[str, ...], cum: list[int]) -> str:
        return names[bisect.bisect_right(cum, self._random() * cum[-1])]

    # --- ages and planted problems ------------------------------------------------------

    def _draw_ages(self) -> None:
        """remaining[sex][age]: how many people of each sex and age are still to place."""
        ages = list(range(MAX_AGE + 1))
        weights = [_PYRAMID[a // 5][0] / 5 for a in ages]
        drawn = self.rng.choices(ages, weights=weights, k=self.people)
        self.remaining = [[0] * (MAX_AGE + 1), [0] * (MAX_AGE + 1)]  # 0 male, 1 female
        for age in drawn:
            male = self.rng.random() < _PYRAMID[age // 5][1]
            self.remaining[0 if male else 1][age] += 1
        self.left = self.people

    def _plan_problems(self) -> None:
        self.planted: dict[int, str] = {}
        if not self.quality or self.people < 100:
            return
        pool = self.rng.sample(range(self.people), k=self.people)
        start = 0
        for rule, share in PLANTED.items():
            count = max(1, round(self.people * share))
            for index in pool[start : start + count]:
                self.planted[index] = rule
            start += count

    # --- drawing people -----------------------------------------------------------------

    def _take(self, target: int, sex: int | None = None) -> tuple[int, int] | None:
        """Take a person of the nearest available age to ``target`` (and sex if possible)."""
        if self.left == 0:
            return None
        target = min(max(target, 0), MAX_AGE)
        if sex is None:
            sex = 0 if self._random() < 0.5 else 1
        # Nearest age of the wanted sex within 12 years, else the nearest age of either sex.
        for want, reach in ((sex, 12), (1 - sex, MAX_AGE), (sex, MAX_AGE)):
            row = self.remaining[want]
            for offset in range(reach + 1):
                for age in (target - offset, target + offset) if offset else (target,):
                    if 0 <= age <= MAX_AGE and row[age]:
                        row[age] -= 1
                        self.left -= 1
                        return age, want
        return None

    def _household_shape(self) -> list[tuple[str, int, int | None]]:
        """(relationship, target age, wanted sex) for each member; the head first."""
        rng = self.rng
        size = 1 + bisect.bisect_right(_SIZE_CUM, self._random() * 100)
        head_age = int(rng.triangular(22, 88, 42))
        if size == 1:
            head_age = rng.choice((head_age, int(rng.triangular(60, 95, 72))))
        head_sex = 0 if rng.random() < 0.78 else 1
        shape: list[tuple[str, int, int | None]] = [("head", head_age, head_sex)]
        if size >= 2 and rng.random() < 0.88:
            shape.append(("spouse", head_age + rng.randint(-6, 3), 1 - head_sex))
        if size >= 5 and head_age < 50 and rng.random() < 0.5:
            shape.append(("parent", head_age + rng.randint(24, 32), None))
        if head_age >= 55 and size - len(shape) >= 3:
            child = head_age - rng.randint(24, 32)
            shape.append(("child", child, None))
            shape.append(("other", child + rng.randint(-3, 3), None))  # the child's spouse
            while len(shape) < size:
                shape.append(("grandchild", child - rng.randint(20, 30), None))
        while len(shape) < size:
            shape.append(("child", head_age - rng.randint(20, 36), None))
        return shape

    def _name(self, sex: int, family: str, age: int) -> tuple[str, str]:
        rng = self.rng
        middle_pool = _MIDDLE_MALE if sex == 0 else _MIDDLE_FEMALE
        middle = middle_pool[self._below(len(middle_pool))]
        if sex == 1 and age < 30 and middle == "Thị" and rng.random() < 0.6:
            middle = middle_pool[4 + self._below(len(middle_pool) - 4)]
        given_pool = _GIVEN_MALE if sex == 0 else _GIVEN_FEMALE
        given = given_pool[self._below(len(given_pool))]
        full = f"{family} {middle} {given}"
        folded = f"{self.family_folded[family]} {self.folded[middle]} {self.folded[given]}"
        return full, folded

    def _family_name(self) -> str:
        return self._pick(self.family, self.family_cum)

    def _id_number(self, prefix: str, sex: int, year: int) -> str:
        century, yy = divmod(year - 1900, 100)
        g = 2 * century + sex
        key = (prefix, g, yy)
        count = self.serial_counters.get(key, 0)
        self.serial_counters[key] = count + 1
        if prefix == self.own_prefix:
            # A bijection of 0..799999, shifted above 100000 so it never meets the small
            # serials that tests build by counting.
            serial = 100_000 + (count * 7919 + self.serial_offset) % 800_000
        else:
            # 9PPccc: another province's prefix; PP (this province) keeps provinces apart.
            if count >= 1000:
                raise ValueError("too many people from one other province in one birth year")
            serial = 900_000 + int(self.code) % 100 * 1000 + count
        return f"{prefix}{g}{yy:02d}{serial:06d}"

    def _birth(self, age: int) -> date:
        latest = self.as_of.replace(year=self.as_of.year - age)
        return latest - timedelta(days=self._below(365))

    def _rand_date(self, start: date, end: date) -> date:
        return start + timedelta(days=self._below((end - start).days + 1))

    # --- documents ----------------------------------------------------------------------

    def _card(self, person: Person, kind: str, start: date, end: date) -> Document | None:
        if start > end:
            return None
        assert person.birth_date is not None
        issued = self._rand_date(start, end)
        expiry = card_expiry(person.birth_date, issued)
        status = "valid" if expiry is None or expiry > self.as_of else "expired"
        place = _ISSUER_CANCUOC if kind == "cancuoc" else _ISSUER_CHIP
        return Document(kind, person.id_number, issued, place, expiry, status)

    def _cmnd(self, person: Person, twelve: bool, fourteen: date) -> Document | None:
        start = max(fourteen, _CMND12_FROM if twelve else _CMND9_FROM)
        if start > _CMND_TO:
            return None
        issued = self._rand_date(start, _CMND_TO)
        expiry = birthday(issued, 15)
        number = (
            person.id_number
            if twelve
            else f"{18 + self.rng.randrange(10)}{self.rng.randrange(10**7):07d}"
        )
        # The 9-digit CMND is invalid from 1/1/2025 whatever its printed expiry.
        valid = twelve and expiry > self.as_of
        return Document(
            "cmnd12" if twelve else "cmnd9",
            number,
            issued,
            f"Công an {self.province_name}",
            expiry,
            "valid" if valid else "expired",
        )

    def _documents(self, person: Person, age: int) -> None:
        rng = self.rng
        birth = person.birth_date
        assert birth is not None
        docs = person.documents
        fourteen = birthday(birth, 14)
        if age < 14:
            if rng.random() < 0.1:
                card = self._card(person, "cancuoc", max(birth, _CANCUOC_FROM), self.as_of)
                if card:
                    docs.append(card)
            return
        r = rng.random()
        if age <= 15 and r < 0.45:
            return
        if r < 0.05:
            doc = self._cmnd(person, rng.random() < 0.2, fourteen)
            doc = doc or self._cmnd(person, False, fourteen)
            if doc is not None:
                docs.append(doc)
                return
        elif r < 0.12:
            card = self._card(person, "cccd_barcode", max(fourteen, _BARCODE_FROM), _BARCODE_TO)
            if card is not None:
                docs.append(card)
                return
        elif r < 0.135:
            return
        if age >= 40 and rng.random() < 0.35:
            old = self._cmnd(person, False, fourteen)
            if old is not None:
                old.status = "cancelled"
                docs.append(old)
        chip = rng.random() < 0.75
        card = None
        if chip:
            # Most chip cards came in the 2021 campaign.
            end = date(2021, 12, 31) if rng.random() < 0.6 else _CHIP_TO
            card = self._card(person, "cccd_chip", max(fourteen, _CHIP_FROM), end)
            card = card or self._card(person, "cccd_chip", max(fourteen, _CHIP_FROM), _CHIP_TO)
        card = card or self._card(person, "cancuoc", max(fourteen, _CANCUOC_FROM), self.as_of)
        if card is not None:
            docs.append(card)
        r = rng.random()
        if r < 0.006:
            docs.append(Document("cancuoc", person.id_number, None, "", None, "enrolled"))
        elif r < 0.010:
            docs.append(Document("cancuoc", person.id_number, None, "", None, "in_production"))
        elif r < 0.013 and card is not None:
            card.status = "lost"

    # --- people -------------------------------------------------------------------------

    def _person(
        self,
        index: int,
        relationship: str,
        age: int,
        sex: int,
        family: str,
        origin: str,
        commune: int,
        address: str,
    ) -> Person:
        rng = self.rng
        c = self.communes[commune]
        r = rng.random()
        if r < 0.93:
            prefix = self.own_prefix
            birth_place = f"{c.name}, {self.province_name}"
        else:
            prefix = self.other_prefixes[self._below(len(self.other_prefixes))]
            birth_place = self.prefix_names[prefix]
        birth = self._birth(age)
        while True:
            full, folded = self._name(sex, family, age)
            key = hash((folded, birth, origin))
            if key not in self.seen_keys:
                self.seen_keys.add(key)
                break
        precision = "day"
        if age >= 70:
            r = rng.random()
            if r < 0.08:
                precision, birth = "year", date(birth.year, 1, 1)
            elif r < 0.12:
                precision, birth = "month", date(birth.year, birth.month, 1)
        id_number = self._id_number(prefix, sex, birth.year)
        phone = ""
        if age >= 16 and rng.random() < 0.85:
            phone = f"{_MOBILE[self._below(len(_MOBILE))]}{self._below(10**7):07d}"
        school = grade = ""
        if 6 <= age <= 17 and rng.random() < 0.94:
            level = (
                "Trường Tiểu học" if age <= 10 else "Trường THCS" if age <= 14 else "Trường THPT"
            )
            school, grade = f"{level} {c.short}", str(min(12, age - 5))
        current, current_address = None, ""
        if 18 <= age <= 40 and len(self.communes) > 1 and rng.random() < 0.03:
            current = rng.randrange(len(self.communes))
            if current == commune:
                current = (current + 1) % len(self.communes)
            other = self.communes[current]
            current_address = f"Tổ {rng.randint(1, 20)}, {other.name}, {self.province_name}"
        person = Person(
            index=index,
            id_number=id_number,
            full_name=full,
            search_name=folded,
            birth_date=birth,
            precision=precision,
            birth_year=birth.year,
            sex="M" if sex == 0 else "F",
            ethnicity=self._pick(self.ethnicity, self.ethnicity_cum),
            religion=self._pick(self.religion, self.religion_cum),
            birth_place=birth_place,
            origin=origin,
            commune=commune,
            address=address,
            current=current,
            current_address=current_address,
            relationship=relationship,
            phone=phone,
            deceased=False,
            death_date=None,
            frail=(age >= 80 and rng.random() < 0.45) or (70 <= age < 80 and rng.random() < 0.1),
            disability=rng.random() < (0.03 if age >= 60 else 0.006),
            illness=rng.random() < (0.03 if age >= 60 else 0.004),
            alone=False,
            war_merit=False,
            school=school,
            grade=grade,
        )
        self._documents(person, age)
        if age >= 70 and relationship != "head" and rng.random() < 0.03:
            person.deceased = True
            person.death_date = self._rand_date(
                self.as_of - timedelta(days=3 * 365), self.as_of - timedelta(days=1)
            )
            for doc in person.documents:
                if doc.status in ("valid", "expired", "enrolled", "in_production"):
                    doc.status = "cancelled"
        return person

    def _origin(self) -> str:
        if self.rng.random() < 0.9:
            c = self.communes[self._below(len(self.communes))]
            return f"{c.name}, {self.province_name}"
        return self.prefix_names[self.other_prefixes[self._below(len(self.other_prefixes))]]

    def _plant(self, person: Person, rule: str, previous: Person | None) -> str:
        """Give ``person`` exactly one data-quality problem; returns the rule applied."""
        rng = self.rng
        if rule == "id_malformed":
            # 11 digits, unique: own prefix, century/sex, year and a counter.
            person.id_number = f"{person.id_number[:6]}{self.counts[rule]:05d}"
        elif rule == "id_unknown_prefix":
            # 5PP is no province (001-096) and no country (101-295) prefix.
            # A fresh number in this province's own serial space keeps it unique.
            sex_bit = int(person.id_number[3]) % 2
            own = self._id_number(self.own_prefix, sex_bit, person.birth_year or 1900)
            person.id_number = f"{500 + int(self.code) % 100}{own[3:]}"
        elif rule == "id_sex_mismatch":
            person.sex = "F" if person.sex == "M" else "M"
        elif rule == "id_year_mismatch":
            assert person.birth_date is not None
            person.birth_date = birthday(person.birth_date, -1)
            person.birth_year = person.birth_date.year
        elif rule == "duplicate_person":
            if previous is None or person.relationship == "head":
                return ""
            # The same person registered twice: same name, birth and origin, another number.
            person.full_name, person.search_name = previous.full_name, previous.search_name
            person.birth_date, person.precision = previous.birth_date, previous.precision
            person.birth_year, person.origin = previous.birth_year, previous.origin
            person.sex = previous.sex
            assert person.birth_date is not None
            prefix = (
                person.id_number[:3]
                if person.id_number[:3] in self.prefix_names
                else self.own_prefix
            )
            person.id_number = self._id_number(
                prefix, 0 if person.sex == "M" else 1, person.birth_date.year
            )
            if person.relationship == "head":
                return ""  # keep households whole; planting happens on the next candidate
            person.documents.clear()
            person.deceased, person.death_date = False, None
            person.relationship = "other"
        elif rule == "impossible_date":
            assert person.birth_date is not None
            person.deceased = True
            person.death_date = person.birth_date - timedelta(days=rng.randint(1, 400))
            for doc in person.documents:
                if doc.status in ("valid", "expired", "enrolled", "in_production"):
                    doc.status = "cancelled"
        elif rule == "missing_required":
            person.origin = ""
        elif rule == "deceased_with_valid_card":
            person.deceased = True
            person.death_date = self._rand_date(
                self.as_of - timedelta(days=700), self.as_of - timedelta(days=1)
            )
            held = [
                d for d in person.documents if d.kind in ("cccd_chip", "cancuoc", "cccd_barcode")
            ]
            for doc in person.documents:
                if doc.status in ("enrolled", "in_production"):
                    doc.status = "cancelled"
            if held:
                held[-1].status = "valid"
            else:
                person.documents.append(
                    Document(
                        "cancuoc",
                        person.id_number,
                        person.death_date - timedelta(days=30),
                        _ISSUER_CANCUOC,
                        None,
                        "valid",
                    )
                )
        elif rule == "phone_invalid":
            person.phone = rng.choice(
                (
                    f"84{rng.randrange(10**9):09d}",
                    f"0{rng.randrange(10**8):08d}",
                    f"09{rng.randrange(10**7):07d}x",
                )
            )
        return rule

    def households(self) -> Iterator[HouseholdRecord]:
        rng = self.rng
        index = 0
        number = 0
        pending: list[str] = []
        while self.left:
            number += 1
            commune = bisect.bisect_left(self.commune_cum, rng.random() * self.commune_cum[-1])
            commune = min(commune, len(self.communes) - 1)
            c = self.communes[commune]
            hamlet = "Tổ dân phố" if c.ward else "Thôn"
            address = f"{hamlet} {rng.randint(1, 18)}, {c.name}, {self.province_name}"
            members: list[Person] = []
            fathers_family = self._family_name()
            origin = self._origin()
            head_family = fathers_family
            previous: Person | None = None
            for relationship, target, want in self._household_shape():
                taken = self._take(target, want)
                if taken is None:
                    break
                age, sex = taken
                if relationship in ("child", "grandchild") or (relationship == "head" and sex == 0):
                    family, person_origin = fathers_family, origin
                elif relationship == "parent" and sex == 0:
                    family, person_origin = head_family, origin
                else:
                    family, person_origin = self._family_name(), self._origin()
                if relationship == "spouse" and sex == 0:
                    fathers_family, origin = family, person_origin
                person = self._person(
                    index, relationship, age, sex, family, person_origin, commune, address
                )
                planned = self.planted.get(index)
                if planned is not None:
                    pending.append(planned)
                applied = self._plant(person, pending[0], previous) if pending else ""
                if applied:
                    pending.pop(0)
                    self.counts[applied] += 1
                else:
                    # Only an untouched person may be copied by a planted duplicate.
                    previous = person
                members.append(person)
                index += 1
            if not members:
                break
            first = members[0]
            head: Person | None = first
            if (
                len(members) == 1
                and first.birth_date is not None
                and self.as_of.year - first.birth_date.year >= 60
            ):
                first.alone = True
            if (
                first.relationship == "head"
                and self.as_of.year - (first.birth_year or self.as_of.year) >= 60
                and rng.random() < 0.06
            ):
                for member in members:
                    if member.relationship in ("head", "spouse"):
                        member.war_merit = True
            if self.quality and self.people >= 100:
                r = rng.random()
                if r < PLANTED_HOUSEHOLD["household_without_head"]:
                    members[0].relationship = "other"
                    head = None
                    self.counts["household_without_head"] += 1
                elif r < sum(PLANTED_HOUSEHOLD.values()) and len(members) >= 2:
                    members[1].relationship = "head"
                    self.counts["household_several_heads"] += 1
            self.counts["households"] += 1
            self.counts["citizens"] += len(members)
            self.counts["documents"] += sum(len(m.documents) for m in members)
            self.counts["cmnd9_only"] += sum(
                1 for m in members if m.documents and all(d.kind == "cmnd9" for d in m.documents)
            )
            yield HouseholdRecord(
                index=number,
                number=f"HK{self.code}-{self.seed}-{number:07d}",
                commune=commune,
                address=address,
                members=members,
                head=head,
            )


# --- Import rows --------------------------------------------------------------------------


def _dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day is not None else ""


def _birth_text(person: Person) -> str:
    if person.birth_date is None:
        return ""
    if person.precision == "year":
        return str(person.birth_date.year)
    if person.precision == "month":
        return person.birth_date.strftime("%m/%Y")
    return _dmy(person.birth_date)


def _row(person: Person, household: HouseholdRecord, communes: list[_Commune]) -> dict[str, str]:
    docs = [d for d in person.documents if d.status not in ("enrolled", "in_production")]
    main = max(docs, key=lambda d: d.issued or date.min) if docs else None
    old = next((d for d in docs if d.kind in ("cmnd9", "cmnd12") and d is not main), None)
    flag = {True: "x", False: ""}
    current = communes[person.current] if person.current is not None else None
    return {
        "so_dinh_danh": person.id_number,
        "ho_ten": person.full_name,
        "ngay_sinh": _birth_text(person),
        "gioi_tinh": {"M": "Nam", "F": "Nữ"}.get(person.sex, ""),
        "dan_toc": person.ethnicity,
        "ton_giao": person.religion,
        "quoc_tich": "Việt Nam",
        "noi_dang_ky_khai_sinh": person.birth_place,
        "que_quan": person.origin,
        "ma_xa_thuong_tru": communes[person.commune].code,
        "dia_chi_thuong_tru": person.address,
        "ma_xa_tam_tru": current.code if current else "",
        "dia_chi_tam_tru": person.current_address,
        "so_ho": household.number,
        "quan_he_chu_ho": _RELATIONSHIP_VI.get(person.relationship, "Khác"),
        "so_dien_thoai": person.phone,
        "tinh_trang": "Đã chết" if person.deceased else "Còn sống",
        "ngay_mat": _dmy(person.death_date),
        "nguoi_cao_tuoi": flag[person.frail],
        "khuyet_tat": flag[person.disability],
        "benh_nang": flag[person.illness],
        "song_mot_minh": flag[person.alone],
        "gia_dinh_chinh_sach": flag[person.war_merit],
        "truong_hoc": person.school,
        "lop": person.grade,
        "cmnd_cu": old.number if old is not None else "",
        "loai_giay_to": main.kind if main else "",
        "so_giay_to": main.number if main else "",
        "ngay_cap": _dmy(main.issued) if main else "",
        "noi_cap": main.place if main else "",
        "ngay_het_han": _dmy(main.expiry) if main else "",
        "trang_thai_giay_to": main.status if main else "",
    }


IMPORT_COLUMNS = (
    "so_dinh_danh", "ho_ten", "ngay_sinh", "gioi_tinh", "dan_toc", "ton_giao", "quoc_tich",
    "noi_dang_ky_khai_sinh", "que_quan", "ma_xa_thuong_tru", "dia_chi_thuong_tru",
    "ma_xa_tam_tru", "dia_chi_tam_tru", "so_ho", "quan_he_chu_ho", "so_dien_thoai",
    "tinh_trang", "ngay_mat", "nguoi_cao_tuoi", "khuyet_tat", "benh_nang", "song_mot_minh",
    "gia_dinh_chinh_sach", "truong_hoc", "lop", "cmnd_cu", "loai_giay_to", "so_giay_to",
    "ngay_cap", "noi_cap", "ngay_het_han", "trang_thai_giay_to",
)  # fmt: skip


def _province_name(province_code: str) -> str:
    name = province_prefixes().get(f"0{province_code}")
    return name or f"Tỉnh {province_code}"


def population_rows(
    *,
    province_code: str,
    communes: Sequence[Any],
    people: int,
    seed: int = 42,
    quality_problems: bool = True,
    province_name: str | None = None,
) -> Iterator[dict[str, str]]:
    """The population as rows in the import column format (`IMPORT_COLUMNS`), lazily.

    ``communes`` are Unit rows (or anything with ``code`` and ``name``) or bare 5-digit
    codes. The same arguments yield the same people as `population_generate`.
    """
    generator = _Generator(
        province_code=province_code,
        province_name=province_name or _province_name(province_code),
        communes=communes,
        people=people,
        seed=seed,
        quality_problems=quality_problems,
    )
    for household in generator.households():
        for person in household.members:
            yield _row(person, household, generator.communes)


# --- Bulk insert --------------------------------------------------------------------------

_CITIZEN_FIELDS = (
    "id", "province_code", "id_number", "full_name", "search_name", "birth_date",
    "birth_precision", "birth_year", "sex", "ethnicity", "religion", "nationality",
    "birth_registration_place", "place_of_origin", "permanent_unit", "permanent_address",
    "current_unit", "current_address", "unit_path", "household", "relationship", "phone",
    "life_status", "death_date", "frail_elderly", "disability", "serious_illness",
    "living_alone", "war_merit", "school", "grade", "created_at", "updated_at",
)  # fmt: skip
_DOCUMENT_FIELDS = (
    "citizen", "province_code", "kind", "number", "issue_date", "issue_place", "expiry_date",
    "status",
)  # fmt: skip
_HOUSEHOLD_FIELDS = ("id", "province_code", "number", "unit", "unit_path", "address", "head")
BATCH = 20_000


class _Sink(Protocol):
    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None: ...


def _columns(model: Any, names: Sequence[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


class _PostgresSink:
    """COPY … FROM STDIN: an order of magnitude faster than INSERT for a million rows."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'COPY "{table}" ({names}) FROM STDIN'
        with self.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


class _SqliteSink:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        converted = [
            tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in rows
        ]
        # Table and column names come from the models' meta, never from input.
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
        self.cursor.executemany(sql, converted)


def _next_id(cursor: Any, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
    return int(cursor.fetchone()[0]) + 1


def population_generate(
    *,
    province: Any,
    people: int,
    seed: int = 42,
    quality_problems: bool = True,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert ``people`` citizens (with households and documents) in ``province``'s communes.

    Returns counts: ``citizens``, ``households``, ``documents``, each planted rule code and
    ``cmnd9_only``. Idempotent per seed: when this seed's first household already exists,
    nothing is inserted and ``{"skipped": 1}`` plus zero counts is returned. Runs in one
    transaction; on PostgreSQL the tables are locked for writing meanwhile.
    """
    from django.db import connection, transaction

    from cancuoc.registry.models import Citizen, Household, IdentityDocument
    from cancuoc.units.models import Level

    communes = list(province.children.filter(level=Level.COMMUNE).order_by("code"))
    if not communes:
        raise ValueError(f"province {province.code} has no communes; import the units first")
    generator = _Generator(
        province_code=province.province_code or province.code,
        province_name=province.name,
        communes=communes,
        people=people,
        seed=seed,
        quality_problems=quality_problems,
    )
    first = f"HK{generator.code}-{seed}-{1:07d}"
    if people == 0 or Household.objects.filter(number=first).exists():
        return {**dict.fromkeys(generator.counts, 0), "skipped": 1}

    tables = {
        "citizen": Citizen._meta.db_table,
        "household": Household._meta.db_table,
        "document": IdentityDocument._meta.db_table,
    }
    citizen_columns = _columns(Citizen, _CITIZEN_FIELDS)
    document_columns = _columns(IdentityDocument, _DOCUMENT_FIELDS)
    household_columns = _columns(Household, _HOUSEHOLD_FIELDS)
    now: Any = datetime.now(UTC)
    postgres = connection.vendor == "postgresql"
    if not postgres:
        now = now.replace(tzinfo=None).isoformat(" ")
    units = generator.communes
    with transaction.atomic(), connection.cursor() as wrapper:
        raw = wrapper.cursor
        if postgres:
            for table in tables.values():
                wrapper.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
        sink: _Sink = _PostgresSink(raw) if postgres else _SqliteSink(raw)
        citizen_base = _next_id(wrapper, tables["citizen"])
        household_base = _next_id(wrapper, tables["household"])
        citizens: list[tuple[Any, ...]] = []
        documents: list[tuple[Any, ...]] = []
        households: list[tuple[Any, ...]] = []
        code = generator.code
        done = 0

        def flush(final: bool = False) -> None:
            nonlocal citizens, documents, households
            if citizens:
                sink.write(tables["citizen"], citizen_columns, citizens)
            if documents:
                sink.write(tables["document"], document_columns, documents)
            if households:
                sink.write(tables["household"], household_columns, households)
            citizens, documents, households = [], [], []
            if progress is not None:
                progress(done)

        for household in generator.households():
            household_id = household_base + household.index - 1
            unit = units[household.commune]
            head = household.head
            households.append(
                (
                    household_id,
                    code,
                    household.number,
                    unit.pk,
                    unit.path,
                    household.address,
                    citizen_base + head.index if head is not None else None,
                )
            )
            for p in household.members:
                citizen_id = citizen_base + p.index
                current = units[p.current] if p.current is not None else None
                citizens.append(
                    (
                        citizen_id, code, p.id_number, p.full_name, p.search_name, p.birth_date,
                        p.precision, p.birth_year, p.sex, p.ethnicity, p.religion, "Việt Nam",
                        p.birth_place, p.origin, unit.pk, p.address,
                        current.pk if current else unit.pk,
                        p.current_address or p.address,
                        current.path if current else unit.path,
                        household_id, p.relationship, p.phone,
                        "deceased" if p.deceased else "alive", p.death_date,
                        p.frail, p.disability, p.illness, p.alone, p.war_merit,
                        p.school, p.grade, now, now,
                    )
                )  # fmt: skip
                for d in p.documents:
                    documents.append(
                        (citizen_id, code, d.kind, d.number, d.issued, d.place, d.expiry, d.status)
                    )
            done += len(household.members)
            if len(citizens) >= BATCH:
                flush()
        flush()
        if postgres:
            for table in (tables["citizen"], tables["household"], tables["document"]):
                wrapper.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
            wrapper.execute(f'ANALYZE "{tables["citizen"]}"')
            wrapper.execute(f'ANALYZE "{tables["document"]}"')
    return dict(generator.counts)
