"""The starter catalogue: loading, idempotence, versions in force, area variants, fees."""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.dossiers import services
from cancuoc.dossiers.catalogue import CatalogueError, catalogue_load, starter_catalogue
from cancuoc.dossiers.models import DeskSettings, FeeStatus, Procedure, ProcedureVersion
from cancuoc.dossiers.selectors import procedure_catalogue, procedure_version_in_force
from tests.dossiers.factories import Desk, local

D = dt.date
ID_2014_FIRST, ID_2014_RENEW, ID_2014_REISSUE = "1.001765", "1.001773", "1.001780"
ID_2023_FIRST, ID_2023_RENEW, ID_2023_REISSUE = "1.012409", "1.012410", "1.012411"


@pytest.fixture
def loaded(db):
    return catalogue_load(starter_catalogue())


def version(code: str, on: dt.date, area: str = "") -> tuple[int, int]:
    found = procedure_version_in_force(procedure=Procedure.objects.get(code=code), on=on, area=area)
    assert found is not None
    return found.processing_days, found.fee


def test_the_starter_catalogue_has_the_required_procedures(loaded):
    names = dict(Procedure.objects.values_list("code", "name"))
    assert len(names) == 11
    for word in ("khai sinh", "khai tử", "tình trạng hôn nhân", "Trích lục", "thường trú"):
        assert any(word in name for name in names.values()), word
    assert loaded["procedures_created"] == 11
    assert all(Procedure.objects.get(code=c).required_documents for c in names)


def test_loading_twice_changes_nothing(loaded):
    versions = list(ProcedureVersion.objects.order_by("pk").values())
    again = catalogue_load(starter_catalogue())
    assert again["procedures_created"] == 0 and again["versions_created"] == 0
    assert again["procedures_updated"] == 11
    assert list(ProcedureVersion.objects.order_by("pk").values()) == versions


def test_id_card_times_and_fees_under_both_laws(loaded):
    # Law on CCCD 2014: 7 / 15 / 20 working days by area; re-issue 15 / 15 / 20.
    on = D(2020, 3, 2)
    assert version(ID_2014_FIRST, on, "city") == (7, 30000)
    assert version(ID_2014_FIRST, on, "other") == (15, 30000)
    assert version(ID_2014_FIRST, on, "remote") == (20, 30000)
    assert version(ID_2014_RENEW, on, "city") == (7, 50000)
    assert version(ID_2014_REISSUE, on, "city") == (15, 70000)
    assert version(ID_2014_REISSUE, on, "remote") == (20, 70000)
    # Halved during the whole 2021 campaign (Circular 112/2020 extended by Circular 47/2021).
    on = D(2021, 3, 1)
    assert version(ID_2014_FIRST, on, "city") == (7, 15000)
    assert version(ID_2014_RENEW, on, "remote") == (20, 25000)
    assert version(ID_2014_REISSUE, on, "other") == (15, 35000)
    assert version(ID_2014_FIRST, D(2022, 7, 1), "city") == (7, 30000)
    # Halved in the first half of 2022 (Circular 120/2021).
    assert version(ID_2014_REISSUE, D(2022, 3, 1), "other") == (15, 35000)
    # Law on Identity 2023: 7 days everywhere; Circular 73/2024 fees, halved from 1/7/2025.
    assert version(ID_2023_FIRST, D(2024, 7, 1), "remote") == (7, 30000)
    assert version(ID_2023_RENEW, D(2025, 6, 30)) == (7, 50000)
    assert version(ID_2023_RENEW, D(2025, 7, 1)) == (7, 25000)
    assert version(ID_2023_REISSUE, D(2025, 9, 1)) == (7, 35000)
    assert version(ID_2023_REISSUE, D(2026, 1, 5)) == (7, 70000)
    # Neither law's procedure exists outside its period.
    assert (
        procedure_version_in_force(
            procedure=Procedure.objects.get(code=ID_2014_FIRST), on=D(2024, 7, 1), area="city"
        )
        is None
    )
    assert (
        procedure_version_in_force(
            procedure=Procedure.objects.get(code=ID_2023_FIRST), on=D(2024, 6, 30)
        )
        is None
    )


def test_civil_status_procedures(loaded):
    on = D(2025, 3, 3)
    assert version("1.001193", on) == (0, 0)  # birth: on the day, free
    assert version("1.000656", on) == (0, 0)  # death
    assert version("2.000635", on) == (0, 8000)  # extract copy
    assert version("1.004873", on) == (3, 0)  # marital status
    assert version("1.004194", on) == (7, 20000)  # permanent residence
    assert Procedure.objects.get(code="1.001193").on_the_spot is True


def test_receipt_uses_the_desk_area_and_the_version_of_the_day(world, loaded):
    desk = Desk(world.commune_a, "a")
    DeskSettings.objects.create(unit=world.commune_a, identifier="H42", area="remote")
    dossier = services.dossier_receive(
        actor=desk.clerk, procedure_code=ID_2014_RENEW, applicant_name="A", at=local(2021, 3, 1, 9)
    )
    # Monday 1/3/2021 + 20 working days (no holiday in between) = Monday 29/3/2021.
    assert dossier.due_date == D(2021, 3, 29)
    assert dossier.procedure_version.area == "remote"
    # Halved during the 2021 campaign (Circular 112/2020, extended by Circular 47/2021).
    assert (dossier.fee_amount, dossier.fee_status) == (25000, FeeStatus.DUE)
    first_card = services.dossier_receive(
        actor=desk.clerk,
        procedure_code=ID_2023_FIRST,
        applicant_name="B",
        fee_exemption_reason="Cấp lần đầu khi đủ 14 tuổi",
        at=local(2025, 7, 2, 9),
    )
    assert (first_card.fee_amount, first_card.fee_status) == (15000, FeeStatus.EXEMPT)
    assert first_card.due_date == D(2025, 7, 11)


def test_catalogue_lists_versions_in_force(loaded):
    procedures = {p.code: p for p in procedure_catalogue(on=D(2025, 3, 3))}
    assert [v.processing_days for v in procedures[ID_2014_FIRST].versions_in_force] == []
    assert [v.fee for v in procedures[ID_2023_RENEW].versions_in_force] == [50000]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"code": "abc", "name": "x"}, "code"),
        ({"code": "1.1", "name": "", "competent_level": "commune"}, "name"),
        ({"code": "1.1", "name": "x", "competent_level": "district"}, "competent_level"),
        ({"code": "1.1", "name": "x", "competent_level": "commune", "versions": []}, "version"),
        (
            {
                "code": "1.1",
                "name": "x",
                "competent_level": "commune",
                "versions": [{"valid_from": "2025-01-01", "processing_days": -1}],
            },
            "processing_days",
        ),
        (
            {
                "code": "1.1",
                "name": "x",
                "competent_level": "commune",
                "versions": [{"valid_from": "2025-13-01", "processing_days": 1}],
            },
            "valid_from",
        ),
    ],
)
def test_a_bad_catalogue_changes_nothing(db, entry, message):
    good = {
        "code": "1.2",
        "name": "ok",
        "competent_level": "commune",
        "versions": [{"valid_from": "2025-01-01", "processing_days": 1}],
    }
    with pytest.raises(CatalogueError, match=message):
        catalogue_load({"procedures": [good, entry]})
    assert Procedure.objects.count() == 0
