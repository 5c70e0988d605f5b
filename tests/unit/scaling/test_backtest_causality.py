"""The backtest is causal: a decision at step i depends only on samples at or before
``i - metrics_lag``, so cutting the trace there changes nothing up to step i."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scaling_builders import T0, predictive, settings

from ebbtide.scaling.backtest import ReplayConditions, run_backtest
from ebbtide.scaling.forecasting.base import ModelName
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

STEP = 60.0
LAG = 90.0


@st.composite
def traces(draw: st.DrawFn) -> LoadSeries:
    """Irregular traces of up to ~3 hours: gaps of 1 s to 3 min, loads of 0 to 2000."""
    size = draw(st.integers(min_value=2, max_value=150))
    gaps = draw(st.lists(st.integers(1, 180), min_size=size - 1, max_size=size - 1))
    values = draw(st.lists(st.floats(0, 2000), min_size=size, max_size=size))
    times = T0 + np.concatenate(([0.0], np.cumsum(gaps, dtype=np.float64)))
    return LoadSeries(times=times, values=np.array(values))


@hypothesis_settings(max_examples=30, deadline=None)
@given(
    trace=traces(),
    model=st.sampled_from(list(ModelName)),
    share=st.floats(min_value=0, max_value=1),
)
def test_cutting_the_trace_after_i_minus_lag_leaves_decisions_up_to_i_unchanged(
    trace: LoadSeries, model: ModelName, share: float
) -> None:
    policy = settings(
        prediction=predictive(model, horizon=120.0, history=7200.0, seasonality=1200.0),
        scale_down_window=180.0,
    )
    conditions = ReplayConditions(step=STEP, metrics_lag=LAG, startup_delay=120.0)
    full = run_backtest(trace, settings=policy, conditions=conditions).timeline
    first_visible = math.ceil(LAG / STEP)
    if full.timestamps.size <= first_visible:
        return
    step = first_visible + round(share * (full.timestamps.size - 1 - first_visible))
    now = float(full.timestamps[step])
    cut_trace = trace.until(now - LAG)
    cut = run_backtest(
        cut_trace,
        settings=policy,
        conditions=ReplayConditions(step=STEP, metrics_lag=LAG, startup_delay=120.0, end=now),
    ).timeline
    upto = slice(0, step + 1)
    assert cut.timestamps.size == step + 1
    np.testing.assert_array_equal(cut.desired_replicas, full.desired_replicas[upto])
    np.testing.assert_array_equal(cut.ready_replicas, full.ready_replicas[upto])
    np.testing.assert_array_equal(cut.predicted_load, full.predicted_load[upto])
    assert cut.reasons == full.reasons[upto]
