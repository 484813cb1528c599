"""The emulation ranking (thi đua): weights, caps, missing components, ties, from rollups."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.campaigns import reports
from cancuoc.campaigns.ranking import (
    DEFAULT_WEIGHTS,
    RankInput,
    WeightsInvalid,
    rank,
    score,
    weights_parse,
)
from cancuoc.core.events import event_append
from tests.campaigns import factories as cf

D = Decimal


def test_default_weights_and_overrides():
    w = weights_parse({})
    assert (w.quota, w.on_time, w.satisfaction, w.quota_cap) == (D(60), D(25), D(15), D(100))
    w = weights_parse({"quota": 1, "on_time": 0, "satisfaction": 0, "quota_cap": 120})
    assert (w.quota, w.quota_cap) == (D(1), D(120))
    assert DEFAULT_WEIGHTS == {"quota": 60, "on_time": 25, "satisfaction": 15}


@pytest.mark.parametrize(
    "raw",
    [
        {"speed": 1},
        {"quota": -1},
        {"quota": "abc"},
        {"quota_cap": 0},
        {"quota": 0, "on_time": 0, "satisfaction": 0},
    ],
)
def test_bad_weights_are_refused(raw):
    with pytest.raises(WeightsInvalid):
        weights_parse(raw)


def test_score_by_hand():
    w = weights_parse({})
    # 60 × 100 (capped from 119.7) + 25 × 90 + 15 × 80 = 6000 + 2250 + 1200 = 9450 / 100.
    value, parts = score(RankInput("a", "A", D("119.7"), D("90"), D("80")), w)
    assert value == D("94.5") and parts == {
        "quota": D("100.0"),
        "on_time": D("90.0"),
        "satisfaction": D("80.0"),
    }
    # Missing satisfaction: (60 × 50 + 25 × 100) / 85 = 5500 / 85 = 64.705… → 64.7.
    value, parts = score(RankInput("b", "B", D("50"), D("100"), None), w)
    assert value == D("64.7") and parts["satisfaction"] is None
    # Nothing measured: no score.
    assert score(RankInput("c", "C"), w)[0] is None


def test_a_higher_cap_rewards_over_achievement():
    w = weights_parse({"quota": 100, "on_time": 0, "satisfaction": 0, "quota_cap": 120})
    assert score(RankInput("a", "A", D("119.7")), w)[0] == D("99.8")  # 119.7 / 120
    assert score(RankInput("b", "B", D("100")), w)[0] == D("83.3")
    assert score(RankInput("c", "C", D("150")), w)[0] == D("100.0")


def test_ties_share_a_rank_and_unscored_come_last():
    w = weights_parse({"quota": 1, "on_time": 0, "satisfaction": 0})
    rows = rank(
        [
            RankInput("x", "X"),
            RankInput("b", "B", D("90")),
            RankInput("a", "A", D("100")),
            RankInput("c", "C", D("90")),
            RankInput("d", "D", D("80")),
        ],
        w,
    )
    assert [(r.key, r.rank) for r in rows] == [("a", 1), ("b", 2), ("c", 2), ("d", 4), ("x", None)]


@given(st.lists(st.decimals(min_value=0, max_value=300, places=1), min_size=1, max_size=30))
def test_ranks_follow_scores(values):
    rows = rank([RankInput(i, str(i), v, v, v) for i, v in enumerate(values)], weights_parse({}))
    scores = [r.score for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0].rank == 1
    for one, two in itertools.pairwise(rows):
        assert (one.rank == two.rank) == (one.score == two.score)


# --- from the rollups -----------------------------------------------------------------------


def test_ranking_reads_quota_desk_and_ratings(world, hana):
    from tests.dossiers.factories import procedure

    procedure(code="1.000001", name="Đăng ký khai sinh", days=3, fee=0)
    start = dt.date(2021, 3, 1)
    campaign = cf.campaign(
        unit=world.hatinh,
        created_by=hana,
        start_date=start,
        deadline=dt.date(2021, 3, 31),
        target=2_000,
        open_holidays=True,
        ranking_weights={"quota": 50, "on_time": 30, "satisfaction": 20},
    )
    cf.allocations(campaign, {world.commune_a: 1_000, world.commune_b: 1_000})
    for unit in (world.commune_a, world.commune_b):
        cf.quota(campaign, unit, start, 100)
    cf.enrolled(world.commune_a, start, 110)  # 110 % → capped at 100
    cf.enrolled(world.commune_b, start, 80)  # 80 %
    # Desk: A returned 10 (9 early/on time), B returned 4 (4 on time); ratings.
    for unit, measures in (
        (world.commune_a, {"resolved": 10, "resolved_early": 3, "resolved_on_time": 6,
                           "rating_very_satisfied": 1, "rating_not_satisfied": 1}),
        (world.commune_b, {"resolved": 4, "resolved_on_time": 4, "rating_satisfied": 2}),
    ):  # fmt: skip
        event_append(kind="test", unit=unit, day=start, subject="proc:1.000001", measures=measures)
    # Outside the campaign's days: not counted.
    event_append(
        kind="test",
        unit=world.commune_b,
        day=dt.date(2021, 4, 2),
        subject="proc:1.000001",
        measures={"resolved": 50},
    )

    rows = reports.ranking(user=hana, campaign_id=campaign.pk, on=start)
    by_unit = {r.key: r for r in rows}
    a, b = by_unit[world.commune_a.pk], by_unit[world.commune_b.pk]
    assert a.components == {"quota": D("100.0"), "on_time": D("90.0"), "satisfaction": D("50.0")}
    assert b.components == {"quota": D("80.0"), "on_time": D("100.0"), "satisfaction": D("100.0")}
    # A: (50 × 100 + 30 × 90 + 20 × 50) / 100 = 87.0; B: (4000 + 3000 + 2000) / 100 = 90.0.
    assert (a.score, b.score) == (D("87.0"), D("90.0"))
    assert [r.key for r in rows] == [world.commune_b.pk, world.commune_a.pk]
    assert (b.rank, a.rank) == (1, 2)
    assert b.label == "Công an xã Cẩm Xuyên"
