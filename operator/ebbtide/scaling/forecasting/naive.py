"""``Naive``: the load stays where it is. The hardest baseline to beat on load that jumps."""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.series import LoadSeries


@dataclass(frozen=True)
class Naive:
    """Predicts the latest sample for any horizon. Its uncertainty (see :mod:`.calibration`)
    is what carries the forecast: how far the load has risen within a horizon before."""

    @property
    def name(self) -> ModelName:
        return ModelName.NAIVE

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        return Forecast(value=max(0.0, history.last_value), model=ModelName.NAIVE)
