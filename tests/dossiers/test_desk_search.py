"""The desk's search box finds applicants with or without diacritics."""

import pytest

from cancuoc.accounts.roles import Role
from cancuoc.dossiers.selectors import dossier_list
from tests import factories
from tests.dossiers import factories as desk

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed", ["nguyen thi hang", "Nguyễn Thị Hằng", "THI HANG", "hằng", "  nguyen   thi  "]
)
def test_an_applicant_is_found_however_the_name_is_typed(world, typed):
    clerk = factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK, username="clerk")
    hang = desk.received_dossier(actor=clerk, applicant_name="Nguyễn Thị Hằng")
    desk.received_dossier(actor=clerk, applicant_name="Trần Văn Thắng")
    assert [d.pk for d in dossier_list(user=clerk, q=typed)] == [hang.pk]
    assert hang.applicant_search == "nguyen thi hang"


def test_another_communes_applicant_is_not_found(world, bob):
    clerk = factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK, username="clerk")
    desk.received_dossier(actor=clerk, applicant_name="Nguyễn Thị Hằng")
    assert list(dossier_list(user=bob, q="nguyen thi hang")) == []
