"""The desk's demo step: a year of history written through the services, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cancuoc.core.demo import DemoContext
from cancuoc.core.events import rollups_rebuild
from cancuoc.core.models import DailyRollup
from cancuoc.dossiers import demo
from cancuoc.dossiers.models import Dossier, Procedure
from cancuoc.dossiers.reports import timeliness_report
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world(world, monkeypatch):
    """The demo accounts the accounts step would have made, on the test world's units."""
    for unit, roles in (
        (world.hatinh, ("clerk", "appraiser", "approver")),
        (world.commune_a, ("clerk", "appraiser", "approver")),
        (world.commune_b, ("clerk", "unitmanager")),
    ):
        from cancuoc.accounts.demo import _stem

        role_of = {
            "clerk": "one_stop_clerk",
            "appraiser": "appraiser",
            "approver": "approver",
            "unitmanager": "unit_manager",
        }
        for stem in roles:
            factories.user(unit=unit, role=role_of[stem], username=f"{_stem(unit)}.{stem}")
    # Five months at a lighter pace than the real demo, so the test stays quick.
    monkeypatch.setattr(demo, "DAILY", {"commune": (0, 2), "commune_b": (0, 1), "province": (0, 1)})
    monkeypatch.setattr(demo, "HISTORY_DAYS", 150)
    lines: list[str] = []
    ctx = DemoContext(province_code="42", second_province_code="96", out=lines.append)
    ctx.units.update(
        nation=world.nation,
        province=world.hatinh,
        commune=world.commune_a,
        commune_b=world.commune_b,
        second_province=world.camau,
    )
    return ctx, lines


def _rollups():
    return sorted(DailyRollup.objects.values_list("unit_id", "day", "subject", "measure", "value"))


def test_the_demo_builds_a_year_of_real_history_once(demo_world, root):
    ctx, lines = demo_world
    demo.load_dossiers(ctx)
    assert Procedure.objects.filter(code="1.004873").exists()  # the starter catalogue
    made = Dossier.objects.filter(submission_key__startswith=demo.KEY_PREFIX)
    assert made.count() > 150
    # Both commune desks; the province desk too while the catalogue has province procedures.
    units = set(made.values_list("unit__code", flat=True))
    assert {"18100", "18200"} <= units <= {"42", "18100", "18200"}, lines
    first = made.order_by("received_at").first().received_at
    assert timezone.localdate() - dt.timedelta(days=151) <= first.date()

    # The rollups are the ones the services wrote: a rebuild from the events agrees.
    incremental = _rollups()
    rollups_rebuild()
    assert _rollups() == incremental

    today = timezone.localdate()
    report = timeliness_report(
        user=root,
        unit=ctx.units["province"],
        date_from=today - dt.timedelta(days=366),
        date_to=today,
    )
    total = report.total
    assert total.received == made.exclude(status="rejected").count()
    assert total.resolved == made.filter(status="returned").count()
    assert total.on_time + total.early > 0.85 * total.resolved
    assert total.late >= 1 and total.apologised >= 1 and total.overdue >= 1
    assert total.open == made.exclude(status__in=["returned", "rejected", "withdrawn"]).count()

    # Idempotent: a second run adds nothing.
    demo.load_dossiers(ctx)
    assert (
        Dossier.objects.filter(submission_key__startswith=demo.KEY_PREFIX).count() == made.count()
    )
    assert "already there" in lines[-1]
