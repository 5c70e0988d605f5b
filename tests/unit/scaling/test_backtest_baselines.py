"""The backtest's baselines: the stock HPA, reactive only and perfect foresight, replayed under
the same lag and start-up delay as the policy, with ratios to the HPA."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import T0, predictive, settings

from ebbtide.scaling.backtest import ReplayConditions
from ebbtide.scaling.backtest_comparison import compare
from ebbtide.scaling.baselines import oracle, stock_hpa
from ebbtide.scaling.forecasting.base import ModelName
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

CONDITIONS = ReplayConditions(step=15.0, metrics_lag=60.0, startup_delay=120.0)


def steps(levels: list[float], *, each: int = 20) -> np.ndarray:
    return np.repeat(np.array(levels, dtype=np.float64), each)


def test_perfect_foresight_is_never_overloaded_after_its_first_start_up() -> None:
    load = steps([100, 900, 200, 1500, 300, 800])
    desired, ready = oracle(
        load,
        step=15.0,
        target_per_replica=100.0,
        initial=1,
        min_replicas=1,
        max_replicas=100,
        startup_delay=120.0,
    )
    assert bool(np.all(load[8:] <= ready[8:] * 100.0))
    assert bool(np.all(desired >= ready))


def test_the_stock_hpa_waits_out_its_stabilisation_before_scaling_down() -> None:
    load = steps([800, 100], each=60)
    desired, _ = stock_hpa(
        load,
        step=15.0,
        target_per_replica=100.0,
        initial=8,
        min_replicas=1,
        max_replicas=100,
        metrics_lag=60.0,
        startup_delay=120.0,
    )
    drop = 60
    # It sees the drop 4 steps late, then keeps the highest recommendation of 300 s (20 steps).
    assert desired[drop + 4 + 18] == 8
    assert desired[drop + 4 + 20] == 1


def test_the_stock_hpa_scales_up_by_at_most_double_or_four_pods_per_step() -> None:
    load = steps([100, 5000], each=30)
    desired, _ = stock_hpa(
        load,
        step=15.0,
        target_per_replica=100.0,
        initial=1,
        min_replicas=1,
        max_replicas=100,
        metrics_lag=0.0,
        startup_delay=120.0,
    )
    # From 1: +4 (more than double); from 5: double (more than +4).
    assert (desired[29], desired[30], desired[31]) == (1, 5, 10)


def test_a_comparison_has_the_policy_beside_three_baselines_and_ratios_to_the_hpa() -> None:
    rng = np.random.default_rng(7)
    values = steps(list(rng.uniform(100, 1000, 40)))
    trace = LoadSeries(times=T0 + 15.0 * np.arange(values.size), values=values)
    policy = settings(scale_down_window=300.0, prediction=predictive(ModelName.NAIVE))
    comparison = compare(trace, settings=policy, conditions=CONDITIONS)
    labels = [run.label for run in comparison.runs]
    assert labels == ["stock HPA", "policy (Naive)", "reactive only", "perfect foresight"]
    overload, cost = comparison.ratios(comparison.hpa)
    assert (overload, cost) == (1.0, 1.0) or overload is None
    foresight = comparison.runs[-1].summary
    assert foresight.ready_replica_hours <= comparison.hpa.summary.ready_replica_hours
