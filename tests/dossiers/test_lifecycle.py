"""The pure transition table, and property tests of the lifecycle (pure and through services)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancuoc.accounts.roles import Capability
from cancuoc.core.errors import DomainError
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import services
from cancuoc.dossiers.models import Dossier, DossierStatus
from tests.dossiers.factories import Desk, local, procedure, received_dossier

D = dt.date


def test_status_values_match_the_model():
    assert set(lc.STATUSES) == set(DossierStatus.values)


def test_every_action_has_a_capability_and_a_transition():
    assert set(lc.ACTION_CAPABILITY) == set(lc.ACTIONS)
    used = {action for _status, action in lc.TRANSITIONS}
    assert used == set(lc.ACTIONS)
    assert set(lc.TRANSITIONS.values()) <= set(lc.STATUSES)


def test_capabilities_by_stage():
    cap = lc.ACTION_CAPABILITY
    assert {a for a, c in cap.items() if c == Capability.APPRAISE_DOSSIER} == {"appraise"}
    assert {a for a, c in cap.items() if c == Capability.APPROVE_DOSSIER} == {
        "approve",
        "refuse",
        "sign",
        "apologise",
    }
    for action in (
        "receive",
        "transfer",
        "supplement_request",
        "return",
        "withdraw",
        "route",
        "on_the_spot",
    ):
        assert cap[action] == Capability.RECEIVE_DOSSIER


def test_main_path_and_side_paths():
    assert (
        lc.replay(["receive", "transfer", "appraise", "approve", "sign", "result_ready", "return"])
        == "returned"
    )
    assert (
        lc.replay(["receive", "transfer", "appraise", "refuse", "sign", "result_ready", "return"])
        == "returned"
    )
    assert (
        lc.replay(["receive", "transfer", "supplement_request", "supplement_receive"])
        == "in_appraisal"
    )
    assert lc.replay(["receive", "route", "transfer", "apologise"]) == "transferred"
    assert lc.replay(["receive", "withdraw"]) == "withdrawn"
    assert lc.replay(["reject_intake"]) == "rejected"
    assert lc.replay(list(lc.ON_THE_SPOT_PATH)) == lc.replay(["on_the_spot"]) == "returned"
    assert lc.replay(["receive", "fee_pay", "transfer", "fee_exempt"]) == "transferred"


@pytest.mark.parametrize(
    "actions",
    [
        ["transfer"],
        ["receive", "approve"],
        ["receive", "receive"],
        ["receive", "transfer", "appraise", "approve", "withdraw"],
        [
            "receive",
            "transfer",
            "appraise",
            "approve",
            "sign",
            "result_ready",
            "return",
            "apologise",
        ],
        ["reject_intake", "transfer"],
        ["receive", "transfer", "route"],
        ["fee_pay"],
    ],
)
def test_illegal_sequences_raise(actions):
    with pytest.raises(lc.IllegalTransition):
        lc.replay(actions)


def test_allowed_actions():
    assert lc.allowed_actions("") == ["receive", "reject_intake", "on_the_spot"]
    assert lc.allowed_actions("received") == ["transfer", "withdraw", "apologise", "route"]
    assert lc.allowed_actions("in_appraisal") == [
        "supplement_request",
        "approve",
        "refuse",
        "withdraw",
        "apologise",
    ]
    for status in lc.TERMINAL:
        assert lc.allowed_actions(status) == []
        assert lc.is_terminal(status)


def test_classify_return_and_overdue():
    due = D(2025, 3, 10)
    assert lc.classify_return(D(2025, 3, 7), due) == "early"
    assert lc.classify_return(due, due) == "on_time"
    assert lc.classify_return(D(2025, 3, 11), due) == "late"
    assert not lc.is_overdue(due, due)
    assert lc.is_overdue(due, D(2025, 3, 11))


@given(st.lists(st.sampled_from((*lc.ACTIONS, "fee_pay")), max_size=25))
def test_random_sequences_never_reach_an_illegal_state(actions):
    """Apply random actions, skipping the refused ones: the status is always a known one,
    terminal statuses stay terminal, and the accepted actions replay to the same status."""
    status = lc.NEW
    accepted: list[str] = []
    for action in actions:
        if action in lc.RECORD_ONLY_ACTIONS and status != lc.NEW:
            accepted.append(action)  # a fee or delivery note: the status stays
            continue
        try:
            new = lc.next_status(status, action)
        except lc.IllegalTransition:
            assert action not in lc.allowed_actions(status)
            continue
        assert status not in lc.TERMINAL
        assert new in lc.STATUSES
        accepted.append(action)
        status = new
    assert lc.replay(accepted) == status


@given(st.dates(), st.dates())
def test_classify_return_is_a_total_order(returned, due):
    result = lc.classify_return(returned, due)
    assert result == ("early" if returned < due else "on_time" if returned == due else "late")
    assert lc.is_overdue(due, returned) == (result == "late")


# --- The same property through the services and the database ----------------------------

_ROLES = ("clerk", "appraiser", "approver")
_DATA = {
    "supplement_request": {"missing": ["Bản sao giấy khai sinh"]},
    "refuse": {"reason": "Không đủ điều kiện"},
    "withdraw": {"reason": "Công dân rút"},
    "apologise": {"reason": "Chờ xác minh"},
}


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.sampled_from([a for a in lc.ACTIONS if a not in lc.CREATING_ACTIONS]),
            st.sampled_from(_ROLES),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_service_sequences_keep_every_history_replayable(world, steps):
    suffix = str(Dossier.objects.count())
    desk = Desk(world.commune_a, f"p{suffix}")
    proc = procedure(days=5)
    dossiers = [
        received_dossier(actor=desk.clerk, proc=proc, at=local(2025, 3, 3, 9)) for _ in range(3)
    ]
    moment = local(2025, 3, 4, 9)
    for number, (index, action, role) in enumerate(steps):
        data = dict(_DATA.get(action, {}))
        if action == "apologise":  # each apology promises a later date than the last
            data["new_date"] = D(2026, 1, 1) + dt.timedelta(days=number)
        dossier = Dossier.objects.get(pk=dossiers[index].pk)
        actor = getattr(desk, role)
        history_before = dossier.transitions.count()
        try:
            services.dossier_act(
                actor=actor,
                dossier_id=dossier.pk,
                action=action,
                at=moment,
                **data,
            )
        except DomainError:
            after = Dossier.objects.get(pk=dossier.pk)
            assert after.status == dossier.status
            assert after.transitions.count() == history_before
            legal = (dossier.status, action) in lc.TRANSITIONS
            right_role = desk.who(action) == actor
            # Refused only when illegal, by the wrong role, or a route with no target.
            assert not legal or not right_role or action == "route"
        else:
            assert (dossier.status, action) in lc.TRANSITIONS
            assert lc.ACTION_CAPABILITY[action] in {Capability(c) for c in _capabilities(actor)}
        moment += dt.timedelta(minutes=1)
    for dossier in Dossier.objects.filter(pk__in=[d.pk for d in dossiers]):
        actions = list(dossier.transitions.order_by("at", "id").values_list("action", flat=True))
        assert lc.replay(actions) == dossier.status
        assert dossier.status in lc.STATUSES


def _capabilities(user):
    from cancuoc.accounts.roles import CAPABILITIES

    return CAPABILITIES[user.role]


# --- Graph properties of the transition table ---------------------------------------------


def _reachable(start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        status = todo.pop()
        for (source, _action), target in lc.TRANSITIONS.items():
            if source == status and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_transition_leaves_a_terminal_status():
    leaving = sorted(
        (source, action) for (source, action) in lc.TRANSITIONS if source in lc.TERMINAL
    )
    assert leaving == []
    for status in lc.TERMINAL:
        assert lc.allowed_actions(status) == []


def test_every_status_is_reachable_from_the_start():
    assert _reachable(lc.NEW) - {lc.NEW} == set(lc.STATUSES)


def test_every_open_status_can_reach_a_terminal_one():
    for status in lc.OPEN:
        assert _reachable(status) & lc.TERMINAL, status


def test_returned_only_through_return_or_on_the_spot():
    into_returned = sorted(
        (source, action)
        for (source, action), target in lc.TRANSITIONS.items()
        if target == lc.RETURNED
    )
    assert into_returned == [(lc.NEW, lc.ON_THE_SPOT), (lc.RESULT_READY, lc.RETURN)]


@given(st.lists(st.sampled_from(lc.ACTIONS), max_size=30))
def test_random_histories_return_only_by_return_or_on_the_spot(actions):
    """Whatever the accepted history, the step that first reaches RETURNED is one of the two
    returning actions, and nothing is accepted after a terminal status."""
    status = lc.NEW
    for action in actions:
        try:
            new = lc.next_status(status, action)
        except lc.IllegalTransition:
            continue
        assert status not in lc.TERMINAL
        if new == lc.RETURNED:
            assert action in (lc.RETURN, lc.ON_THE_SPOT)
        status = new
