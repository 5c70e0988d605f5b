"""The forecast's uncertainty: a distribution of the highest load over the coming period.

An autoscaler is hurt by the *highest* load before its next chance to react, not by the load at
one instant, so the distribution is of ``max(load)`` over ``(last sample, last sample +
horizon]``. It is empirical: the point forecast (``base``) plus residuals observed on the
policy's own past (split conformal prediction: the residuals are the model's past errors, so the
quantiles are calibrated whatever the model). Residuals are measured in units of the model's
recent error ``scale`` (how far off it has been lately, see :mod:`.calibration`), so the
distribution widens when the load turns jumpy and narrows when it calms down: headroom is spent
where surprises cluster, not everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.series import FloatArray


@dataclass(frozen=True, eq=False)
class PeakDistribution:
    """The highest load over the forecast period (or, as ``Forecast.at_horizon``, the load at
    its end): ``base + scale * residual`` with
    ``residual`` drawn from ``residuals`` (never below zero). Build it with :meth:`of`, which
    sorts the residuals once so that each quantile costs an index, not a sort: the planner asks
    for several per decision."""

    base: float
    scale: float
    residuals: FloatArray
    """Sorted ascending."""

    @classmethod
    def of(cls, *, base: float, scale: float, residuals: FloatArray) -> PeakDistribution:
        return cls(base=base, scale=scale, residuals=np.sort(residuals))

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the load (0 <= q <= 1; linear interpolation between outcomes,
        as numpy's default), and for ``q >= 0.5`` never below the base: the point forecast is
        the median of the load at the horizon, and the peak of a period is at least that.
        Without residuals, the base."""
        size = self.residuals.size
        if size == 0:
            return max(0.0, self.base)
        position = q * (size - 1)
        below = int(position)
        residual = float(self.residuals[below])
        if below + 1 < size:
            residual += (position - below) * (float(self.residuals[below + 1]) - residual)
        peak = self.base + self.scale * residual
        if q >= 0.5:
            peak = max(peak, self.base)
        return max(0.0, peak)
