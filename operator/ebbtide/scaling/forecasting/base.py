"""What every forecaster promises: the :class:`Forecaster` protocol and its :class:`Forecast`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.series import LoadSeries


class ModelName(enum.StrEnum):
    """The prediction models a policy can name (``spec.prediction.model``)."""

    NONE = "None"
    NAIVE = "Naive"
    LINEAR = "Linear"
    HOLT_WINTERS = "HoltWinters"
    SEASONAL_NAIVE = "SeasonalNaive"
    AUTO = "Auto"


@dataclass(frozen=True)
class Forecast:
    """The load predicted ``horizon`` seconds after the history's last sample.

    ``model`` is the model that produced ``value``: not the one asked for when that one fell
    back (HoltWinters without two seasons of history answers as Linear, and ``note`` says so).
    ``warnings`` are the messages of warnings the fitting library raised, recorded rather than
    shown. ``memo`` is whatever the forecaster wants back on its next call (fitted parameters, a
    cached choice); callers keep it without looking inside, which keeps forecasters pure.
    ``peak`` is the distribution of the highest load over ``(last sample, last sample +
    horizon]``, ``at_horizon`` that of the load at its end (see :mod:`.calibration`); None from
    a bare point model.
    """

    value: float
    model: ModelName
    note: str = ""
    warnings: tuple[str, ...] = ()
    memo: object | None = None
    peak: PeakDistribution | None = None
    scores: tuple[tuple[str, float, float], ...] = ()
    """Auto's candidates as ``(model, mean capacity asked, overload share)`` on recent history."""
    at_horizon: PeakDistribution | None = None
    """The distribution of the load at the end of the horizon (see :mod:`.calibration`); None
    from a bare point model."""
    provisioned: float | None = None
    """The load the planner's predictive part provisions for (see :mod:`.sizing`); set by the
    planner's prediction step, None from a forecaster."""


class Forecaster(Protocol):
    """Predicts load from a history of ``(unix_seconds, value)`` samples.

    ``history`` holds finite values only, in time order, regular or not, and is never empty.
    ``horizon`` is in seconds after the history's last sample (the caller adds the metrics lag).
    ``step`` is the interval the history was sampled at; a model that needs a regular grid builds
    one from it. ``memo`` is the ``Forecast.memo`` of the previous call, or None (the first call,
    or after a restart); a forecaster must work without it and ignore a memo it does not
    recognise. The returned value is finite and never negative.
    """

    @property
    def name(self) -> ModelName: ...

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast: ...
