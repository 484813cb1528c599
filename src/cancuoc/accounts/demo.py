"""Demo steps: the units, and one account per role in the demo province, two of its
communes and a second province."""

from django.db import transaction

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.accounts.services import user_create
from cancuoc.core.demo import DEMO_PASSWORD, DemoContext, demo_step
from cancuoc.core.errors import DomainError
from cancuoc.units.importers import units_import
from cancuoc.units.models import Edition, Level, Unit

# Username stems per role; the unit's stem goes in front: "hatinh.manager".
ROLE_STEMS = {
    Role.PROVINCE_MANAGER: "manager",
    Role.UNIT_MANAGER: "unitmanager",
    Role.STATION_OPERATOR: "operator",
    Role.ONE_STOP_CLERK: "clerk",
    Role.APPRAISER: "appraiser",
    Role.APPROVER: "approver",
    Role.INSPECTOR: "inspector",
    Role.SYSTEM_ADMIN: "admin",
}
# A commune has no province manager; a province has every role.
PROVINCE_ROLES = list(ROLE_STEMS)
COMMUNE_ROLES = [role for role in ROLE_STEMS if role != Role.PROVINCE_MANAGER]


@demo_step("units")
def load_units(ctx: DemoContext) -> None:
    for edition in (Edition.Y2025, Edition.Y2021):
        summary = units_import(edition=edition)
        ctx.out(f"units {edition}: {summary['created']} created, {summary['unchanged']} unchanged")
    current = Unit.objects.filter(edition=Edition.Y2025, level=Level.PROVINCE)
    province = current.get(code=ctx.province_code)
    communes = list(province.children.order_by("code")[:2])
    ctx.units.update(
        nation=Unit.objects.get(path="/"),
        province=province,
        commune=communes[0],
        commune_b=communes[1],
        second_province=current.get(code=ctx.second_province_code),
    )


def _stem(unit: Unit) -> str:
    # "Tỉnh Hà Tĩnh" → "hatinh"; "Phường Thành Sen" → "thanhsen".
    from cancuoc.core.text import fold

    words = fold(unit.name).split()
    drop = {"tinh", "thanh", "pho", "xa", "phuong", "dac", "khu"}
    kept = [w for w in words[1:] if w] if words and words[0] in drop else words
    if words[:2] == ["thanh", "pho"]:
        kept = words[2:]
    return "".join(kept) or unit.code


def _ensure(ctx: DemoContext, *, username: str, role: str, unit: Unit, full_name: str) -> None:
    if not User.objects.filter(username=username).exists():
        try:
            user_create(
                actor=None,
                username=username,
                role=role,
                unit=unit,
                password=DEMO_PASSWORD,
                full_name=full_name,
            )
        except DomainError as exc:  # pragma: no cover - only on a broken database
            raise RuntimeError(f"demo account {username}: {exc.message}") from exc
    ctx.logins.append((username, str(Role(role).label), unit.name))


@demo_step("accounts")
@transaction.atomic
def load_accounts(ctx: DemoContext) -> None:
    _ensure(
        ctx,
        username="admin",
        role=Role.SYSTEM_ADMIN,
        unit=ctx.units["nation"],
        full_name="Quản trị hệ thống",
    )
    places = [
        (ctx.units["province"], PROVINCE_ROLES),
        (ctx.units["commune"], COMMUNE_ROLES),
        (ctx.units["commune_b"], [Role.UNIT_MANAGER, Role.ONE_STOP_CLERK]),
        (ctx.units["second_province"], PROVINCE_ROLES),
    ]
    for unit, roles in places:
        stem = _stem(unit)
        for role in roles:
            _ensure(
                ctx,
                username=f"{stem}.{ROLE_STEMS[role]}",
                role=role,
                unit=unit,
                full_name=f"{Role(role).label} — {unit.name}",
            )
