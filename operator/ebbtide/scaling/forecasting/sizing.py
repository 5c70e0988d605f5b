"""How much load the predictive part provisions for: a forecast's distribution of the load at
the horizon in, a load to carry at ``targetPerReplica`` out.

The point forecast is always carried at target, as the HPA rule would carry the load it
expects. Above it, ``prediction.quantile`` of the load at the horizon is the most provisioned
for, and headroom is bought only where it pays. A replica is overloaded when it carries more
than ``targetPerReplica / OVERLOAD_UTILISATION``; the count chosen is the one that minimises
its capacity plus the chance that the load at the horizon overloads it, priced by
:attr:`Sizing.overload_value` (a newsvendor rule at the overload line). The price is set per
workload from its own history (:func:`overload_value`): the policy's weight times the load's
mean, divided by the share of the time the reactive rule alone would have been overloaded
(:func:`reactive_overload_share`). So overload and replicas are weighed each relative to what
the HPA rule would suffer and pay on this load: the trade a platform team compares autoscalers
by. At a weight of 1 (``prediction.overloadWeight``'s default) the two weigh alike: cutting the
overload the HPA rule would suffer by a tenth is worth a tenth more replica-hours.

Why not the quantile alone: a quantile buys the same share of the tail on every load, and on
many loads that headroom never prevents an overload. Where the load moves in small steps, the
load at the horizon rarely gets past the overload line of the point forecast's count; where it
jumps, the jumps go far beyond any headroom a quantile buys. Either way the headroom is paid
for all the time and saves nothing, and the rule above does not buy it. Where the reactive
rule is often overloaded (a very jumpy load), an overload prevented is worth less and little is
bought; where it is rarely overloaded, each one counts for more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.forecasting.base import Forecast
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.series import LoadSeries

OVERLOAD_UTILISATION = 0.7
"""The share of a replica's capacity ``targetPerReplica`` stands for: a replica carrying more
than ``targetPerReplica / OVERLOAD_UTILISATION`` is overloaded (the HPA's common 70 % target)."""


@dataclass(frozen=True)
class Sizing:
    """The rule turning a forecast into the load the predictive part provisions for.

    ``quantile`` of the load at the horizon is the most; with a ``target_per_replica`` and a
    positive ``overload_value`` (in load units: what one overloaded period is worth), the
    count that minimises capacity plus priced overload is taken when it is lower, but never
    less than the point forecast. Build it for a history with :meth:`for_history`;
    ``Sizing(quantile=q)`` alone is the quantile rule."""

    quantile: float
    target_per_replica: float | None = None
    overload_value: float = 0.0

    @classmethod
    def for_history(
        cls,
        history: LoadSeries,
        *,
        quantile: float,
        weight: float,
        target_per_replica: float,
        horizon: float,
    ) -> Sizing:
        """The rule priced for ``history`` (see :func:`overload_value`)."""
        value = overload_value(history, weight=weight, target_per_replica=target_per_replica, horizon=horizon)
        return cls(quantile=quantile, target_per_replica=target_per_replica, overload_value=value)

    def provisioned(self, forecast: Forecast) -> float:
        """The load to carry at target: the point forecast, and above it, up to ``quantile`` of
        the load at the horizon (of the peak until then from a model without it), the count
        worth buying. Without a distribution, the point forecast."""
        distribution = forecast.at_horizon if forecast.at_horizon is not None else forecast.peak
        if distribution is None:
            return forecast.value
        bound = distribution.quantile(self.quantile)
        if self.target_per_replica is None or self.overload_value <= 0 or distribution.residuals.size == 0:
            return bound
        worth = self._worth_buying(distribution, target=self.target_per_replica)
        return max(forecast.value, min(bound, worth))

    def _worth_buying(self, distribution: PeakDistribution, *, target: float) -> float:
        """``k * target`` for the count ``k >= 1`` that minimises ``k * target + overload_value
        * P(load > k * target / OVERLOAD_UTILISATION)``. The chance only drops where a count's
        overload line passes an outcome, so only the least count covering each outcome (and
        one replica) can be best: at most as many candidates as outcomes, however large the
        load."""
        outcomes = distribution.base + distribution.scale * distribution.residuals  # ascending
        covering = np.maximum(np.ceil(outcomes * OVERLOAD_UTILISATION / target), 1.0)  # ascending too
        counts = covering[np.concatenate(([True], covering[1:] != covering[:-1]))]
        lines = counts * target / OVERLOAD_UTILISATION
        exceeded = 1.0 - np.searchsorted(outcomes, lines, side="right") / outcomes.size
        total = counts * target + self.overload_value * exceeded
        return float(counts[int(np.argmin(total))]) * target


def overload_value(history: LoadSeries, *, weight: float, target_per_replica: float, horizon: float) -> float:
    """What one overloaded period is worth on ``history``, in load: ``weight`` times its mean
    load over the share of it the reactive rule would have been overloaded ``horizon`` seconds
    after seeing the load (:func:`reactive_overload_share`). 0 for a weight of 0 (the quantile
    rule alone) or an empty history."""
    if weight <= 0 or len(history) == 0:
        return 0.0
    share = reactive_overload_share(history, target_per_replica=target_per_replica, horizon=horizon)
    return weight * float(np.mean(np.abs(history.values))) / share


def reactive_overload_share(history: LoadSeries, *, target_per_replica: float, horizon: float) -> float:
    """The share of ``history``'s samples whose load overloads what the reactive rule sized for
    the load seen ``horizon`` seconds before (``ceil(load / target_per_replica)`` replicas, at
    least one, overloaded above ``1 / OVERLOAD_UTILISATION`` of target), and at least one such
    sample's share: a history without an overload says it is rare, not impossible. 1 while the
    history is shorter than ``horizon``."""
    times, values = history.times, history.values
    earlier = np.searchsorted(times, times - horizon, side="right") - 1
    seen = earlier >= 0
    count = int(np.count_nonzero(seen))
    if count == 0:
        return 1.0
    replicas = np.maximum(np.ceil(values[earlier[seen]] / target_per_replica), 1.0)
    overloaded = values[seen] > replicas * target_per_replica / OVERLOAD_UTILISATION
    return max(float(np.count_nonzero(overloaded)), 1.0) / count
