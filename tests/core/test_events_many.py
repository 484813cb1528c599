"""Several events at once (``events_append_many``): the rows of ``event_append`` one by
one, in two statements, and a rebuild from the events still agrees."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancuoc.core.events import EventSpec, event_append, events_append_many, rollups_rebuild
from cancuoc.core.models import DailyRollup, Event

pytestmark = pytest.mark.django_db

D = dt.date(2026, 3, 16)


def _rollups():
    return sorted(
        DailyRollup.objects.values_list(
            "unit_id", "unit_path", "day", "subject", "measure", "value"
        )
    )


def _events():
    return list(
        Event.objects.order_by("pk").values_list(
            "kind", "unit_id", "day", "subject", "measures", "object_type", "object_id", "payload"
        )
    )


def _reset():
    DailyRollup.objects.all().delete()
    Event.objects.all().delete()


def _one_by_one(specs):
    for spec in specs:
        event_append(
            kind=spec.kind,
            unit=spec.unit,
            day=spec.day,
            subject=spec.subject,
            measures=spec.measures,
            obj=spec.obj,
            actor=spec.actor,
            payload=spec.payload,
        )


def test_three_events_take_two_statements_and_write_what_three_calls_write(
    world, django_assert_num_queries
):
    a = world.commune_a
    specs = [
        EventSpec("dossier.receive", a, D, "proc:1", {"received": 1, "received_counter": 1}),
        EventSpec("dossier.fee_exempt", a, D, "proc:1", {"fee_exempted": 1}, obj=a),
        EventSpec("dossier.due", a, D + dt.timedelta(9), "proc:1", {"due_open": 1}),
    ]
    with django_assert_num_queries(2):
        made = events_append_many(specs)
    assert [e.pk is not None for e in made] == [True, True, True]
    many = (_events(), _rollups())
    _reset()
    _one_by_one(specs)
    assert (_events(), _rollups()) == many
    month = dt.date(2026, 3, 1)
    assert [r[2:] for r in many[1]] == [
        (month, "month|proc:1", "due_open", 1),
        (month, "month|proc:1", "fee_exempted", 1),
        (month, "month|proc:1", "received", 1),
        (month, "month|proc:1", "received_counter", 1),
        (D, "proc:1", "fee_exempted", 1),
        (D, "proc:1", "received", 1),
        (D, "proc:1", "received_counter", 1),
        (dt.date(2026, 3, 25), "proc:1", "due_open", 1),
    ]
    assert many[0][1][5:7] == ("units.unit", str(a.pk))


def test_increments_of_one_key_are_summed_and_a_cancelled_key_keeps_its_row(world):
    a, b = world.commune_a, world.commune_b
    events_append_many(
        [
            EventSpec("k", a, D, "s", {"open": 1, "received": 2}),
            EventSpec("k", a, D, "s", {"open": -1, "received": 3, "zero": 0}),
            EventSpec("k", b, D, "s", {"received": 7}),
        ]
    )
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in _rollups() if r[2] == D] == [
        (a.pk, D, "s", "open", 0),
        (a.pk, D, "s", "received", 5),
        (b.pk, D, "s", "received", 7),
    ]
    # The zero measure is left out of the event, as event_append leaves it out.
    assert Event.objects.order_by("pk").values_list("measures", flat=True)[1] == {
        "open": -1,
        "received": 3,
    }


def test_nothing_to_append_writes_nothing(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert events_append_many([]) == []


def test_a_batch_adds_to_rollups_already_there(world):
    a = world.commune_a
    event_append(kind="k", unit=a, day=D, subject="s", measures={"m": 4})
    events_append_many([EventSpec("k", a, D, "s", {"m": 1}), EventSpec("k", a, D, "s", {"m": 2})])
    assert DailyRollup.objects.get(day=D, subject="s", measure="m").value == 7
    assert DailyRollup.objects.get(subject="month|s", measure="m").value == 7


SPECS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.integers(min_value=0, max_value=40),
        st.sampled_from(["procedure:1", "campaign:x"]),
        st.dictionaries(
            st.sampled_from(["received", "returned", "late"]),
            st.integers(min_value=-3, max_value=5),
            max_size=3,
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(SPECS, max_size=4))
def test_batches_equal_one_by_one_and_the_rebuild(world, batches):
    units = {"a": world.commune_a, "b": world.commune_b}
    specs = [
        [
            EventSpec("k", units[u], dt.date(2026, 1, 20) + dt.timedelta(offset), subject, m)
            for u, offset, subject, m in batch
        ]
        for batch in batches
    ]
    _reset()
    for batch in specs:
        events_append_many(batch)
    many = (_events(), _rollups())
    _reset()
    for batch in specs:
        _one_by_one(batch)
    assert (_events(), _rollups()) == many
    rollups_rebuild()
    assert [r for r in _rollups() if r[-1]] == [r for r in many[1] if r[-1]]
