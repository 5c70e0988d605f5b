"""The reactive rule: the Horizontal Pod Autoscaler's formula for a total-load metric.

For a load whose target is given per replica (HPA ``AverageValue`` semantics), the HPA wants
``ceil(load / targetPerReplica)`` replicas, but leaves the count alone while the load per replica
is within ``tolerance`` of the target (https://kubernetes.io/docs/tasks/run-application/
horizontal-pod-autoscale/#algorithm-details). The optional utilisation band then gates each
direction: up only above ``thresholds.scaleUp``, down only below ``thresholds.scaleDown``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.settings import PlannerSettings

# Ratios of floats land a hair off the exact value (0.3 / 0.1 is 2.9999999999999996, 550 / 500
# is 1.1000000000000001): without this slack ceil() would ask for a replica nobody needs and a
# load exactly at the tolerance's edge would count as outside it.
_RATIO_SLACK = 1e-9


@dataclass(frozen=True)
class Recommendation:
    """A replica count one rule wants, and the reason constant explaining it."""

    replicas: int
    reason: str


def replicas_for_load(load: float, *, target_per_replica: float) -> int:
    """``ceil(load / target_per_replica)``: the fewest replicas that carry ``load`` at target."""
    ratio = load / target_per_replica
    return max(0, math.ceil(ratio - _RATIO_SLACK * max(1.0, ratio)))


def recommend(
    *, load: float, current: int, settings: PlannerSettings, tolerate_excess: bool = True
) -> Recommendation:
    """What the HPA rule wants for ``load`` with ``current`` replicas, before stabilisation,
    cooldowns, rate limits and the min/max clamp.

    With no replicas the load per replica is undefined, so tolerance and band do not apply:
    any load asks for ``ceil(load / target)``. With ``tolerate_excess=False`` the tolerance only
    holds back a rise: a count above what the load needs comes down even within the tolerance
    (the planner's rule for a forecast's quantile, which does not flap as observed load does).
    """
    target = settings.target_per_replica
    wanted = replicas_for_load(load, target_per_replica=target)
    if current == 0:
        return Recommendation(wanted, reasons.SCALE_FROM_ZERO if wanted else reasons.STEADY)
    utilisation = load / (current * target)
    if abs(utilisation - 1.0) <= settings.tolerance + _RATIO_SLACK and (tolerate_excess or wanted >= current):
        return Recommendation(current, reasons.WITHIN_TOLERANCE)
    band = settings.band
    if wanted > current:
        if band is not None and not utilisation > band.scale_up:
            return Recommendation(current, reasons.OUTSIDE_THRESHOLD_BAND)
        return Recommendation(wanted, reasons.SCALE_UP_ON_LOAD)
    if wanted < current:
        if band is not None and not utilisation < band.scale_down:
            return Recommendation(current, reasons.OUTSIDE_THRESHOLD_BAND)
        return Recommendation(wanted, reasons.SCALE_DOWN_ON_LOAD)
    return Recommendation(current, reasons.STEADY)
