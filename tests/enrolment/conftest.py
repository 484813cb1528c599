"""Fixtures shared by the enrolment tests: a commune-A station with its operator and
supervisor, and the card procedures in the catalogue. A module may define its own
fixture of the same name (a mobile station, say); pytest then uses the module's."""

import pytest

from tests.enrolment import factories as ef


@pytest.fixture
def card_procedures(db):
    ef.load_card_procedures()


@pytest.fixture
def op_a(world):
    return ef.operator(world.commune_a, "op_a")


@pytest.fixture
def sup_a(world):
    return ef.supervisor(world.commune_a, "sup_a")


@pytest.fixture
def station_a(world, op_a):
    return ef.station(unit=world.commune_a, operators=[op_a], code="ST-A")
