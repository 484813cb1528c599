"""Events and rollups: incremental counts always equal a rebuild from the events."""

import datetime as dt

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancuoc.core.events import event_append, rollups_rebuild
from cancuoc.core.models import DailyRollup
from cancuoc.core.selectors import rollup_totals

pytestmark = pytest.mark.django_db


def _rollups():
    return sorted(
        DailyRollup.objects.values_list(
            "unit_id", "unit_path", "day", "subject", "measure", "value"
        )
    )


def test_an_event_increments_its_rollups_in_the_same_transaction(world):
    day = dt.date(2026, 3, 16)
    event_append(
        kind="dossier.received",
        unit=world.commune_a,
        day=day,
        subject="procedure:1.000494",
        measures={"received": 1, "open": 1},
    )
    event_append(
        kind="dossier.returned",
        unit=world.commune_a,
        day=day,
        subject="procedure:1.000494",
        measures={"returned": 1, "open": -1, "zero": 0},
    )
    a = (world.commune_a.pk, world.commune_a.path)
    month = dt.date(2026, 3, 1)
    assert _rollups() == [
        (*a, month, "month|procedure:1.000494", "open", 0),
        (*a, month, "month|procedure:1.000494", "received", 1),
        (*a, month, "month|procedure:1.000494", "returned", 1),
        (*a, day, "procedure:1.000494", "open", 0),
        (*a, day, "procedure:1.000494", "received", 1),
        (*a, day, "procedure:1.000494", "returned", 1),
    ]


def test_month_rollups_sum_the_days_of_their_month(world):
    for day, n in ((dt.date(2026, 1, 31), 3), (dt.date(2026, 2, 1), 5), (dt.date(2026, 2, 28), 7)):
        event_append(kind="k", unit=world.commune_a, day=day, subject="s", measures={"m": n})
    months = DailyRollup.objects.filter(subject="month|s").order_by("day")
    assert list(months.values_list("day", "value")) == [
        (dt.date(2026, 1, 1), 3),
        (dt.date(2026, 2, 1), 12),
    ]


def test_rollup_totals_sum_a_subtree_within_scope(world, hana, alice):
    day = dt.date(2026, 3, 16)
    for unit, n in ((world.commune_a, 718), (world.commune_b, 553), (world.commune_c, 999)):
        event_append(
            kind="enrolment.completed",
            unit=unit,
            day=day,
            subject="campaign:x",
            measures={"received": n},
        )
    province = rollup_totals(
        user=hana, unit_path=world.hatinh.path, subject="campaign:x", day_from=day, day_to=day
    )
    assert province == [{"measure": "received", "total": 718 + 553}]
    # Alice asks for the province but her scope holds commune A only.
    assert rollup_totals(
        user=alice, unit_path=world.hatinh.path, subject="campaign:x", day_from=day, day_to=day
    ) == [{"measure": "received", "total": 718}]


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(min_value=0, max_value=3),
        st.sampled_from(["procedure:1", "campaign:x"]),
        st.dictionaries(
            st.sampled_from(["received", "returned", "late"]),
            st.integers(min_value=-3, max_value=5),
            max_size=3,
        ),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=EVENTS)
def test_rebuild_equals_incremental(world, events):
    from cancuoc.core.models import Event

    DailyRollup.objects.all().delete()
    Event.objects.all().delete()
    units = {"a": world.commune_a, "b": world.commune_b, "c": world.commune_c}
    for unit_key, offset, subject, measures in events:
        event_append(
            kind="k",
            unit=units[unit_key],
            day=dt.date(2026, 1, 1) + dt.timedelta(offset),
            subject=subject,
            measures=measures,
        )
    incremental = _rollups()
    summary = rollups_rebuild()
    # A rollup whose measures cancelled out may exist incrementally with value 0.
    assert [r for r in _rollups() if r[-1]] == [r for r in incremental if r[-1]]
    assert summary["events"] == len(events)


def test_the_rebuild_command_prints_a_summary(world, capsys):
    event_append(
        kind="k", unit=world.commune_a, day=dt.date(2026, 1, 1), subject="s", measures={"m": 2}
    )
    call_command("rebuild-rollups")
    # One day row and one month row.
    assert capsys.readouterr().out.strip() == '{"events": 1, "rollups": 2}'
