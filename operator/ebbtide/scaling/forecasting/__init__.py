"""Load forecasters behind one small interface (:class:`~.base.Forecaster`).

``Naive``, ``Linear``, ``HoltWinters`` and ``SeasonalNaive`` are point models; each is wrapped by
:class:`~.calibration.Calibrated`, which attaches the distributions of the peak load over the
horizon and of the load at its end (:mod:`.peak`). ``Auto`` picks among calibrated candidates per policy.
:func:`forecaster_for` maps a policy's model name to a forecaster.
"""

from __future__ import annotations

from ebbtide.scaling.forecasting.auto import Auto
from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.calibration import Calibrated
from ebbtide.scaling.forecasting.holt_winters import HoltWinters
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.forecasting.naive import Naive
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.forecasting.seasonal_naive import SeasonalNaive
from ebbtide.scaling.forecasting.sizing import Sizing

__all__ = [
    "Auto",
    "Calibrated",
    "Forecast",
    "Forecaster",
    "HoltWinters",
    "Linear",
    "ModelName",
    "Naive",
    "PeakDistribution",
    "SeasonalNaive",
    "Sizing",
    "forecaster_for",
]


def forecaster_for(model: ModelName, *, season: float | None, sizing: Sizing) -> Forecaster | None:
    """The forecaster for a policy's ``prediction.model``; None for ``None`` (reactive only).
    ``season`` is the declared or detected season (None: none), which the calibration's error
    scale also looks back by; ``sizing`` is the rule Auto prices its candidates' capacity by."""
    match model:
        case ModelName.NONE:
            return None
        case ModelName.NAIVE:
            return Calibrated(Naive(), season=season)
        case ModelName.LINEAR:
            return Calibrated(Linear(), season=season)
        case ModelName.HOLT_WINTERS:
            return Calibrated(HoltWinters(season=season), season=season)
        case ModelName.SEASONAL_NAIVE:
            return Calibrated(SeasonalNaive(season=season), season=season)
        case ModelName.AUTO:
            return Auto(season=season, sizing=sizing)
