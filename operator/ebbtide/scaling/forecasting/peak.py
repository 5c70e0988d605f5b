"""The forecast's uncertainty: a distribution of the highest load over the coming period.

An autoscaler is hurt by the *highest* load before its next chance to react, not by the load at
one instant, so the distribution is of ``max(load)`` over ``(last sample, last sample +
horizon]``. It is empirical: the point forecast (``base``) times ratios ``(peak + scale) /
(base + scale)`` observed on the policy's own past (split conformal prediction: the ratios are
the model's past errors, so the quantiles are calibrated whatever the model). ``scale`` keeps a
ratio meaningful where the load is near zero: a jump from 0.1 to 1 is not "ten times more" for a
service whose load is usually 50.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.series import FloatArray


@dataclass(frozen=True, eq=False)
class PeakDistribution:
    """The highest load over the forecast period: ``(base + scale) * ratio - scale`` with
    ``ratio`` drawn from ``ratios`` (never below zero). Build it with :meth:`of`, which sorts
    the ratios once so that each quantile costs an index, not a sort: the planner asks for
    several per decision."""

    base: float
    scale: float
    ratios: FloatArray
    """Sorted ascending."""

    @classmethod
    def of(cls, *, base: float, scale: float, ratios: FloatArray) -> PeakDistribution:
        return cls(base=base, scale=scale, ratios=np.sort(ratios))

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the peak load (0 <= q <= 1; linear interpolation between
        outcomes, as numpy's default). Without ratios, the base."""
        size = self.ratios.size
        if size == 0:
            return max(0.0, self.base)
        position = q * (size - 1)
        below = int(position)
        ratio = float(self.ratios[below])
        if below + 1 < size:
            ratio += (position - below) * (float(self.ratios[below + 1]) - ratio)
        return max(0.0, (self.base + self.scale) * ratio - self.scale)

    def exceedance(self, load: float) -> float:
        """The share of past outcomes in which the peak exceeded ``load``."""
        if self.ratios.size == 0:
            return 0.0 if load >= self.base else 1.0
        threshold = (load + self.scale) / (self.base + self.scale)
        return float(np.mean(self.ratios > threshold))
