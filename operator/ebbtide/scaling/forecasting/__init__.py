"""Load forecasters behind one small interface (:class:`~.base.Forecaster`).

``Linear``, ``HoltWinters`` and ``SeasonalNaive`` are the models; ``Auto`` picks among them per
policy. :func:`forecaster_for` maps a policy's model name to a forecaster.
"""

from __future__ import annotations

from ebbtide.scaling.forecasting.auto import Auto
from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.holt_winters import HoltWinters
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.forecasting.seasonal_naive import SeasonalNaive

__all__ = [
    "Auto",
    "Forecast",
    "Forecaster",
    "HoltWinters",
    "Linear",
    "ModelName",
    "SeasonalNaive",
    "forecaster_for",
]


def forecaster_for(model: ModelName, *, season: float | None) -> Forecaster | None:
    """The forecaster for a policy's ``prediction.model``; None for ``None`` (reactive only)."""
    match model:
        case ModelName.NONE:
            return None
        case ModelName.LINEAR:
            return Linear()
        case ModelName.HOLT_WINTERS:
            return HoltWinters(season=season)
        case ModelName.SEASONAL_NAIVE:
            return SeasonalNaive(season=season)
        case ModelName.AUTO:
            return Auto(season=season)
