"""`cancuoc quality`: the foreground recomputation, as a named account."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cancuoc.core.models import AuditEntry
from cancuoc.registry.models import QualityRun
from tests import factories


def test_a_manager_recomputes_a_commune_and_gets_the_counts(world, hana):
    factories.citizen(
        unit=world.commune_a, full_name="Lê Văn Bình", phone="12345", place_of_origin="Hà Tĩnh"
    )
    factories.citizen(
        unit=world.commune_b, full_name="Trần Văn Cường", phone="12345", place_of_origin="Hà Tĩnh"
    )
    out = StringIO()
    call_command("quality", unit="18100", user="hana", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue())
    assert result["unit"] == "18100"
    # Commune B's citizen with the same bad phone is outside the subtree.
    assert result["counts"]["phone_invalid"] == 1
    assert sum(result["counts"].values()) == 1
    run = QualityRun.objects.get(pk=result["run"])
    assert run.status == QualityRun.Status.DONE
    assert AuditEntry.objects.filter(action="quality.start", actor=hana).count() == 1


def test_a_clerk_may_not_recompute_and_nothing_is_created(world, bob):
    with pytest.raises(CommandError):
        call_command("quality", unit="18200", user="bob", stdout=StringIO())
    assert QualityRun.objects.count() == 0


def test_an_unknown_account_or_unit_is_an_error(world, hana):
    with pytest.raises(CommandError, match="no active account"):
        call_command("quality", unit="18100", user="nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="no unit"):
        call_command("quality", unit="99999", user="hana", stdout=StringIO())
    assert QualityRun.objects.count() == 0
