"""Small builders for scaling tests: settings with defaults, synthetic series, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ebbtide.scaling.decision import Decision, PlannerState
from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.planner import plan
from ebbtide.scaling.series import LoadSeries, ReadFailure
from ebbtide.scaling.settings import PlannerSettings, PredictionSettings

T0 = 1_700_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR


def settings(**overrides: Any) -> PlannerSettings:
    """Reactive settings with no window, cooldown or rate limit unless given: each test turns
    on only the rule it pins."""
    base = PlannerSettings(
        min_replicas=1,
        max_replicas=100,
        target_per_replica=100.0,
        tolerance=0.1,
        scale_down_window=0.0,
    )
    return replace(base, **overrides)


def predictive(model: ModelName, **overrides: Any) -> PredictionSettings:
    """Settings for ``model`` sized by the quantile alone (``overload_weight`` 0), unless
    ``overrides`` say otherwise: the planner's tests pin the quantile's mechanics."""
    base = PredictionSettings(model=model, horizon=180.0, history=6 * HOUR, overload_weight=0.0)
    return replace(base, **overrides)


def series(values: list[float] | np.ndarray, *, step: float = 15.0, start: float = T0) -> LoadSeries:
    """Samples ``step`` seconds apart from ``start``."""
    array = np.asarray(values, dtype=np.float64)
    return LoadSeries(times=start + step * np.arange(array.size), values=array)


def constant(load: float, *, at: float = T0) -> LoadSeries:
    """A one-sample reading of ``load`` at ``at``."""
    return series([load], start=at)


@dataclass
class Scaler:
    """Drives the planner like the controller does: one call per tick of a fake clock, the
    replicas following every decision at once (ready = current). ``forecaster`` stands in for
    the model the settings name. A number read is one sample at the current time, or with
    ``reach`` seconds, that load held over the ``reach`` seconds before it (a history that is
    no longer young, see :mod:`ebbtide.scaling.planner`)."""

    settings: PlannerSettings
    replicas: int
    now: float = T0
    state: PlannerState = field(default_factory=PlannerState)
    decisions: list[Decision] = field(default_factory=list)
    forecaster: Forecaster | None = None
    reach: float = 0.0

    def tick(self, reading: LoadSeries | ReadFailure | float, *, after: float = 15.0) -> Decision:
        """Advance the clock by ``after`` seconds and plan with ``reading``."""
        self.now += after
        if isinstance(reading, int | float):
            samples = 1 + int(self.reach // 15.0)
            reading = series(np.full(samples, float(reading)), start=self.now - 15.0 * (samples - 1))
        decision, self.state = plan(
            settings=self.settings,
            reading=reading,
            current_replicas=self.replicas,
            ready_replicas=self.replicas,
            now=self.now,
            state=self.state,
            forecaster=self.forecaster,
        )
        self.replicas = decision.desired_replicas
        self.decisions.append(decision)
        return decision


@dataclass(frozen=True)
class FixedPeak:
    """A forecaster whose peak distribution is given."""

    peak: PeakDistribution

    @property
    def name(self) -> ModelName:
        return ModelName.NAIVE

    at_horizon: PeakDistribution | None = None

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        return Forecast(
            value=self.peak.base, model=ModelName.NAIVE, peak=self.peak, at_horizon=self.at_horizon
        )
