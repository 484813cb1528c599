"""Small, explicit builders for test data. No randomness unless a test asks for it."""

from __future__ import annotations

import datetime as dt
import itertools

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.text import fold
from cancuoc.units.models import Edition, Level, Unit, UnitType

PASSWORD = "correct-horse-battery-42"
_seq = itertools.count(1)


def nation() -> Unit:
    unit, _ = Unit.objects.get_or_create(
        path="/",
        defaults={
            "edition": Edition.NATION,
            "code": "VN",
            "name": "Việt Nam",
            "search_name": "viet nam",
            "unit_type": UnitType.NATION,
            "level": Level.NATION,
        },
    )
    return unit


def unit(
    *,
    parent: Unit,
    code: str,
    name: str,
    edition: str = Edition.Y2025,
    unit_type: str | None = None,
    level: int | None = None,
) -> Unit:
    if level is None:
        # 2025 communes sit right under their province; 2021 had districts between.
        two_levels = edition == Edition.Y2025 and parent.level == Level.PROVINCE
        level = (
            Level.PROVINCE
            if parent.level == Level.NATION
            else (Level.COMMUNE if two_levels else parent.level + 1)
        )
    unit_type = (
        unit_type
        or {
            Level.PROVINCE: UnitType.PROVINCE,
            Level.DISTRICT: UnitType.RURAL_DISTRICT,
            Level.COMMUNE: UnitType.COMMUNE,
        }[level]
    )
    base = f"/{edition}/" if parent.level == Level.NATION else parent.path
    return Unit.objects.create(
        edition=edition,
        code=code,
        name=name,
        search_name=fold(name),
        unit_type=unit_type,
        level=level,
        parent=parent,
        path=f"{base}{code}/",
        province_code=code if level == Level.PROVINCE else parent.province_code,
        valid_from=dt.date(2025, 7, 1) if edition == Edition.Y2025 else None,
        valid_to=None if edition == Edition.Y2025 else dt.date(2025, 6, 30),
    )


def user(*, unit: Unit, role: str = Role.ONE_STOP_CLERK, username: str | None = None) -> User:
    person = User(
        username=username or f"user{next(_seq)}",
        role=role,
        unit=unit,
        full_name=f"{Role(role).label} {unit.name}",
    )
    person.set_password(PASSWORD)
    person.save()
    return person


def citizen(
    *,
    unit: Unit,
    full_name: str = "Nguyễn Văn An",
    birth_date: dt.date = dt.date(1990, 5, 17),
    sex: str = "M",
    id_number: str | None = None,
    **fields: object,
):  # type: ignore[no-untyped-def]
    """A citizen living in `unit`, with a valid ID number that agrees with birth and sex.

    The ID's prefix is Hà Tĩnh's (042) unless given; the serial comes from a counter so
    numbers never collide.
    """
    from cancuoc.registry.idnumber import generate
    from cancuoc.registry.models import Citizen

    if id_number is None:
        id_number = generate("042", "male" if sex == "M" else "female", birth_date.year, next(_seq))
    return Citizen.objects.create(
        province_code=unit.province_code or "",
        id_number=id_number,
        full_name=full_name,
        search_name=fold(full_name),
        birth_date=birth_date,
        birth_year=birth_date.year,
        sex=sex,
        permanent_unit=unit,
        current_unit=unit,
        unit_path=unit.path,
        **fields,
    )
