"""The load-aware factor: TargetLoadPacking's curve around a target utilisation."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.scoring.factors import load_aware, target_load

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("predicted", "expected"),
    [
        pytest.param(0.0, 0.6, id="an idle node scores the target"),
        pytest.param(0.3, 0.8, id="half way to the target scores half way to 1"),
        pytest.param(0.6, 1.0, id="a node exactly at the target is best"),
        pytest.param(0.8, 0.3, id="above the target the score falls linearly"),
        pytest.param(1.0, 0.0, id="a full node scores 0"),
        pytest.param(1.4, 0.0, id="beyond full stays 0"),
    ],
)
def test_target_load_packs_towards_the_target(predicted: float, expected: float) -> None:
    assert target_load(predicted=np.array([predicted]), target=0.6).tolist() == pytest.approx([expected])


utilisation = st.floats(min_value=0.0, max_value=1.5, allow_nan=False)
targets = st.floats(min_value=0.05, max_value=0.95)


@settings(UNTIMED)
@given(utilisation, utilisation, targets)
def test_no_node_above_the_target_beats_a_node_below_it(low: float, high: float, target: float) -> None:
    below, above = sorted((low, high))
    if not below <= target < above:
        return
    scores = target_load(predicted=np.array([below, above]), target=target)
    assert scores[0] >= target >= scores[1]


@settings(UNTIMED)
@given(utilisation, utilisation, targets)
def test_the_score_rises_to_the_target_and_falls_after_it(first: float, second: float, target: float) -> None:
    a, b = sorted((first, second))
    scores = target_load(predicted=np.array([a, b]), target=target)
    if b <= target:
        assert scores[0] <= scores[1] + 1e-12
    elif a > target:
        assert scores[0] >= scores[1] - 1e-12
    assert all(0.0 <= value <= 1.0 for value in scores.tolist())


def test_the_pods_own_cpu_counts_towards_the_predicted_utilisation() -> None:
    # 30 % measured plus a pod of 1.2 of 4 cores (30 %) lands exactly on the 60 % target.
    scores = load_aware(
        cpu_utilisation=np.array([0.3]),
        allocatable_cpu=np.array([4000.0]),
        pod_cpu=1200,
        target=0.6,
        unknown_score=0.5,
    )
    assert scores.tolist() == pytest.approx([1.0])


def test_unknown_utilisation_scores_neutral() -> None:
    scores = load_aware(
        cpu_utilisation=np.array([math.nan, 0.6]),
        allocatable_cpu=np.array([4000.0, 4000.0]),
        pod_cpu=0,
        target=0.6,
        unknown_score=0.5,
    )
    assert scores.tolist() == pytest.approx([0.5, 1.0])


def test_a_node_exactly_at_the_target_scores_one_not_a_rounding_error_above() -> None:
    target = 0.08937925123564952
    scores = target_load(predicted=np.array([0.0, target, np.nan]), target=target)
    assert scores[1] == 1.0
    assert np.isnan(scores[2])
