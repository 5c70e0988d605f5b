"""Weighted combination into integer scores 0..10, on hand-built clusters."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_builders import amounts, candidates, node, pod, prefer, snapshot_of

from ebbtide.scoring.affinity_terms import Operator
from ebbtide.scoring.profiles import Factor, ProfileBook, ScoringProfile
from ebbtide.scoring.scorer import LoadSettings, combine, score
from ebbtide.scoring.snapshot import ClusterSnapshot
from ebbtide.scoring.values import PodFacts

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOAD = LoadSettings(target=0.6, unknown_score=0.5)


def only(factor: Factor) -> ScoringProfile:
    return ScoringProfile(name=str(factor), weights={factor: 1.0})


def scores_by_node(
    profile: ScoringProfile,
    *,
    snapshot: ClusterSnapshot,
    scheduled: PodFacts | None = None,
    utilisation: dict[str, float] | None = None,
) -> dict[str, int]:
    chosen = candidates(snapshot, utilisation=utilisation)
    result = score(
        pod=scheduled or pod(),
        candidates=chosen,
        ring=snapshot.ring,
        profile=profile,
        load=LOAD,
    )
    names = [snapshot.table.names[row] for row in chosen.rows.tolist()]
    return dict(zip(names, result.tolist(), strict=True))


def test_resource_match_prefers_the_emptier_node() -> None:
    cluster = snapshot_of(
        [node("busy"), node("idle")],
        requested={"busy": amounts(3000, 12), "idle": amounts(0, 0)},
    )
    scores = scores_by_node(only(Factor.RESOURCE_MATCH), snapshot=cluster)
    assert scores["idle"] > scores["busy"]
    assert scores == {"busy": 2, "idle": 9}


def test_balanced_allocation_prefers_the_node_the_pod_evens_out() -> None:
    cluster = snapshot_of(
        [node("cpu-heavy"), node("even")],
        requested={"cpu-heavy": amounts(3000, 0), "even": amounts(1000, 4)},
    )
    scores = scores_by_node(
        only(Factor.BALANCED_ALLOCATION), snapshot=cluster, scheduled=pod(cpu=1000, memory_gi=4)
    )
    # cpu-heavy ends at 100 % cpu against 25 % memory, even at 50 % of both.
    assert scores == {"cpu-heavy": 3, "even": 10}


def test_load_aware_prefers_nodes_below_the_target_and_neutral_for_unknown() -> None:
    cluster = snapshot_of([node("cool"), node("hot"), node("dark")])
    scores = scores_by_node(
        only(Factor.LOAD_AWARE),
        snapshot=cluster,
        scheduled=pod(cpu=0),
        utilisation={"cool": 0.6, "hot": 0.95},
    )
    assert scores == {"cool": 10, "hot": 1, "dark": 5}


def test_node_affinity_prefers_the_labelled_node() -> None:
    cluster = snapshot_of([node("plain"), node("ssd", labels={"disk": "ssd"})])
    wanting = pod(terms=[prefer(10, "disk", Operator.IN, "ssd")])
    assert scores_by_node(only(Factor.NODE_AFFINITY), snapshot=cluster, scheduled=wanting) == {
        "plain": 0,
        "ssd": 10,
    }


def test_key_affinity_sends_pods_with_one_key_to_one_node() -> None:
    cluster = snapshot_of([node(f"n{index}") for index in range(6)])
    first = scores_by_node(
        only(Factor.KEY_AFFINITY), snapshot=cluster, scheduled=pod(key="tenant-a", uid="1")
    )
    second = scores_by_node(
        only(Factor.KEY_AFFINITY), snapshot=cluster, scheduled=pod(key="tenant-a", uid="2")
    )
    assert first == second
    assert sorted(first.values()) == [0, 0, 0, 0, 0, 10]


def test_factors_that_do_not_apply_drop_out_of_the_mean() -> None:
    cluster = snapshot_of([node("a"), node("b")], requested={"a": amounts(2000, 8)})
    profile = ScoringProfile(name="mixed", weights={Factor.RESOURCE_MATCH: 1.0, Factor.KEY_AFFINITY: 5.0})
    # No affinity key: the score is resource match alone, using the whole 0..10 range.
    assert scores_by_node(profile, snapshot=cluster, scheduled=pod(cpu=0, memory_gi=0)) == {"a": 5, "b": 10}


def test_weights_scale_each_factors_influence() -> None:
    values = {Factor.RESOURCE_MATCH: np.array([1.0, 0.0]), Factor.LOAD_AWARE: np.array([0.0, 1.0])}
    heavy_load = ScoringProfile(name="p", weights={Factor.RESOURCE_MATCH: 1.0, Factor.LOAD_AWARE: 3.0})
    assert combine(dict(values), profile=heavy_load, count=2).tolist() == [3, 8]  # 2.5 rounds up


def test_no_applicable_weight_scores_everything_0() -> None:
    profile = ScoringProfile(name="p", weights={Factor.KEY_AFFINITY: 1.0})
    assert combine({Factor.KEY_AFFINITY: None}, profile=profile, count=3).tolist() == [0, 0, 0]


unit_scores = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=20)
weights = st.floats(min_value=0.0, max_value=100.0)


@settings(UNTIMED)
@given(unit_scores, unit_scores, weights, weights)
def test_combined_scores_are_integers_from_0_to_10(
    first: list[float], second: list[float], first_weight: float, second_weight: float
) -> None:
    count = min(len(first), len(second))
    profile = ScoringProfile(
        name="p", weights={Factor.RESOURCE_MATCH: first_weight, Factor.LOAD_AWARE: second_weight}
    )
    combined = combine(
        {Factor.RESOURCE_MATCH: np.array(first[:count]), Factor.LOAD_AWARE: np.array(second[:count])},
        profile=profile,
        count=count,
    )
    assert combined.dtype == np.int64
    assert all(0 <= value <= 10 for value in combined.tolist())


def test_profiles_reject_negative_weights() -> None:
    with pytest.raises(ValueError, match="negative"):
        ScoringProfile(name="bad", weights={Factor.LOAD_AWARE: -1.0})


@pytest.mark.parametrize(
    ("annotation", "expected", "known"),
    [
        pytest.param(None, "default", True, id="no annotation: the default"),
        pytest.param("packing", "packing", True, id="a known profile"),
        pytest.param("default", "default", True, id="naming the default"),
        pytest.param("nonsense", "default", False, id="an unknown name falls back and is reported"),
    ],
)
def test_a_pod_chooses_its_profile_by_annotation(annotation: str | None, expected: str, known: bool) -> None:
    default = ScoringProfile(name="default")
    book = ProfileBook(default=default, named={"packing": ScoringProfile(name="packing")})
    profile, was_known = book.choose(annotation)
    assert (profile.name, was_known) == (expected, known)
