import datetime as dt

from cancuoc.accounts.roles import Role
from cancuoc.core.scoping import _minimal_prefixes, scope_prefixes, scope_queryset, unit_in_scope
from cancuoc.units.models import Edition, Unit, UnitSuccession
from tests import factories


def test_minimal_prefixes_drop_covered_paths():
    assert _minimal_prefixes(["/2025/42/", "/2025/42/18100/", "/2021/42/"]) == (
        "/2021/42/",
        "/2025/42/",
    )
    assert _minimal_prefixes(["/", "/2025/42/"]) == ("/",)


def test_a_commune_prefix_does_not_match_a_longer_code(world):
    # "/2025/42/1810/" must not see "/2025/42/18100/": paths end with a slash.
    lookalike = factories.unit(parent=world.hatinh, code="1810", name="Xã Giống")
    officer = factories.user(unit=lookalike, role=Role.UNIT_MANAGER)
    assert list(scope_queryset(Unit.objects.all(), user=officer)) == [lookalike]


def test_a_merged_province_also_sees_its_predecessors_history(world):
    old_namdinh = factories.unit(
        parent=world.nation, code="36", name="Tỉnh Nam Định", edition=Edition.Y2021
    )
    old_district = factories.unit(
        parent=old_namdinh, code="356", name="Huyện Mỹ Lộc", edition=Edition.Y2021
    )
    ninhbinh = factories.unit(parent=world.nation, code="37", name="Tỉnh Ninh Bình")
    UnitSuccession.objects.create(
        predecessor=old_namdinh, successor=ninhbinh, effective=dt.date(2025, 7, 1)
    )
    manager = factories.user(unit=ninhbinh, role=Role.PROVINCE_MANAGER)
    assert scope_prefixes(manager) == ("/2021/36/", "/2025/37/")
    assert unit_in_scope(manager, old_district)
    assert not unit_in_scope(manager, world.hatinh)
    assert set(scope_queryset(Unit.objects.all(), user=manager)) == {
        old_namdinh,
        old_district,
        ninhbinh,
    }


def test_inactive_and_anonymous_users_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    officer = factories.user(unit=world.hatinh, role=Role.PROVINCE_MANAGER)
    officer.is_active = False
    assert scope_queryset(Unit.objects.all(), user=officer).count() == 0
    assert scope_queryset(Unit.objects.all(), user=AnonymousUser()).count() == 0


def test_the_national_administrator_sees_everything(world, root):
    assert scope_queryset(Unit.objects.all(), user=root).count() == Unit.objects.count() == 6
