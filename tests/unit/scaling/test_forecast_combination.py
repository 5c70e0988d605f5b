"""desired = max(reactive, predictive): a forecast adds replicas ahead of load, and never
removes any on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scaling_builders import Scaler, predictive, series, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.decision import PlannerState
from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.planner import plan
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Fixed:
    """A forecaster that predicts ``value`` whatever the history (or raises ``error``)."""

    value: float
    error: Exception | None = None

    @property
    def name(self) -> ModelName:
        return ModelName.LINEAR

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        if self.error is not None:
            raise self.error
        return Forecast(value=self.value, model=ModelName.LINEAR, memo=memo)


def with_prediction(forecaster: Fixed, **overrides: Any) -> Scaler:
    policy = settings(prediction=predictive(ModelName.LINEAR), **overrides)
    return Scaler(policy, replicas=5, forecaster=forecaster)


def test_a_higher_forecast_scales_up_ahead_of_load() -> None:
    decision = with_prediction(Fixed(900.0)).tick(500)
    assert (decision.desired_replicas, decision.reason) == (9, reasons.SCALE_UP_ON_FORECAST)
    assert (decision.load, decision.predicted_load, decision.model) == (500, 900, ModelName.LINEAR)


def test_a_lower_forecast_alone_never_scales_down() -> None:
    decision = with_prediction(Fixed(0.0)).tick(500)
    assert (decision.desired_replicas, decision.reason) == (5, reasons.WITHIN_TOLERANCE)


def test_a_scale_down_on_load_goes_no_lower_than_the_forecast() -> None:
    decision = with_prediction(Fixed(400.0)).tick(100)
    assert (decision.desired_replicas, decision.reason) == (4, reasons.SCALE_DOWN_ON_LOAD)


def test_a_scale_down_on_load_still_waits_for_the_window() -> None:
    scaler = with_prediction(Fixed(0.0), scale_down_window=60.0)
    assert scaler.tick(900).desired_replicas == 9
    held = scaler.tick(500)
    assert (held.desired_replicas, held.reason) == (9, reasons.STABILISING)


def test_a_rise_the_forecast_no_longer_expects_is_not_held_for_the_window() -> None:
    scaler = with_prediction(Fixed(900.0), scale_down_window=60.0)
    assert scaler.tick(500).desired_replicas == 9
    scaler.forecaster = Fixed(500.0)
    released = scaler.tick(500)
    assert (released.desired_replicas, released.reason) == (5, reasons.SCALE_DOWN_ON_LOAD)


def test_a_forecast_still_above_the_observed_load_holds_what_it_asks_for() -> None:
    scaler = with_prediction(Fixed(900.0), scale_down_window=60.0)
    assert scaler.tick(500).desired_replicas == 9
    scaler.forecaster = Fixed(700.0)
    assert scaler.tick(500).desired_replicas == 7


@pytest.mark.parametrize(
    "broken",
    [Fixed(0.0, error=RuntimeError("boom")), Fixed(float("nan")), Fixed(float("inf"))],
    ids=["raises", "NaN", "Inf"],
)
def test_a_broken_forecast_leaves_reactive_scaling_working(broken: Fixed) -> None:
    decision = with_prediction(broken).tick(900)
    assert (decision.desired_replicas, decision.reason) == (9, reasons.SCALE_UP_ON_LOAD)
    assert decision.predicted_load is None
    assert "forecast" in decision.message


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    loads=st.lists(st.floats(min_value=0, max_value=5000), min_size=2, max_size=60),
    current=st.integers(min_value=1, max_value=60),
)
def test_prediction_never_asks_for_fewer_replicas_than_reactive(loads: list[float], current: int) -> None:
    reading = series(loads)
    now = reading.last_time + 30
    decisions = {}
    for model in (ModelName.NONE, ModelName.LINEAR):
        decisions[model], _ = plan(
            settings=settings(prediction=predictive(model), min_replicas=0),
            reading=reading,
            current_replicas=current,
            ready_replicas=current,
            now=now,
            state=PlannerState(),
        )
    with_forecast, reactive = decisions[ModelName.LINEAR], decisions[ModelName.NONE]
    assert with_forecast.desired_replicas >= reactive.desired_replicas
    if with_forecast.desired_replicas < current:
        assert reactive.desired_replicas < current


def test_linear_on_a_falling_load_holds_instead_of_scaling_down() -> None:
    falling = series(np.linspace(1200, 520, 40))
    decision, _ = plan(
        settings=settings(prediction=predictive(ModelName.LINEAR)),
        reading=falling,
        current_replicas=5,
        ready_replicas=5,
        now=falling.last_time,
        state=PlannerState(),
    )
    assert decision.predicted_load is not None and decision.predicted_load < 400
    assert decision.desired_replicas == 5


def test_a_policy_without_a_model_never_forecasts() -> None:
    scaler = Scaler(settings(), replicas=5, forecaster=Fixed(5000.0))
    decision = scaler.tick(500)
    assert (decision.desired_replicas, decision.predicted_load) == (5, None)
