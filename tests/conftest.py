"""Personas, shared by every test module.

The world: the nation; province Hà Tĩnh (42) with communes A (Thạch Hà) and
B (Cẩm Xuyên); province Cà Mau (96) with commune C. Alice works in commune A,
Bob in commune B, Hana manages the province, Carl manages Cà Mau.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.units.models import Unit
from tests import factories


@dataclass
class World:
    nation: Unit
    hatinh: Unit
    commune_a: Unit
    commune_b: Unit
    camau: Unit
    commune_c: Unit


@pytest.fixture
def world(db) -> World:
    nation = factories.nation()
    hatinh = factories.unit(parent=nation, code="42", name="Tỉnh Hà Tĩnh")
    camau = factories.unit(parent=nation, code="96", name="Tỉnh Cà Mau")
    return World(
        nation=nation,
        hatinh=hatinh,
        commune_a=factories.unit(parent=hatinh, code="18100", name="Xã Thạch Hà"),
        commune_b=factories.unit(parent=hatinh, code="18200", name="Xã Cẩm Xuyên"),
        camau=camau,
        commune_c=factories.unit(parent=camau, code="32000", name="Xã Tân Thuận"),
    )


@pytest.fixture
def alice(world) -> User:
    """Unit manager of commune A."""
    return factories.user(unit=world.commune_a, role=Role.UNIT_MANAGER, username="alice")


@pytest.fixture
def bob(world) -> User:
    """Clerk of commune B: alice must never see or touch him."""
    return factories.user(unit=world.commune_b, role=Role.ONE_STOP_CLERK, username="bob")


@pytest.fixture
def hana(world) -> User:
    """Province manager of Hà Tĩnh."""
    return factories.user(unit=world.hatinh, role=Role.PROVINCE_MANAGER, username="hana")


@pytest.fixture
def carl(world) -> User:
    """Province manager of Cà Mau."""
    return factories.user(unit=world.camau, role=Role.PROVINCE_MANAGER, username="carl")


@pytest.fixture
def root(world) -> User:
    """National system administrator."""
    return factories.user(unit=world.nation, role=Role.SYSTEM_ADMIN, username="root")
