"""How wrong a forecast was, for an autoscaler: under-prediction costs more than over-prediction.

Under-predicting load leaves too few replicas (requests queue, latency breaks its objective);
over-predicting costs idle replicas. :func:`asymmetric_loss` weighs an under-prediction
``UNDER_PREDICTION_FACTOR`` times as heavily as an over-prediction of the same size. This is the
pinball (quantile) loss at ``tau = factor / (factor + 1)``: with a factor of 3 the forecast that
minimises it is the 75th percentile of the load, i.e. a model is preferred when it is rarely
below the load, without being rewarded for over-provisioning without bound.
"""

from __future__ import annotations

UNDER_PREDICTION_FACTOR = 3.0


def asymmetric_loss(*, actual: float, predicted: float) -> float:
    """``factor * (actual - predicted)`` when the forecast was too low, ``predicted - actual``
    when it was too high."""
    error = actual - predicted
    return UNDER_PREDICTION_FACTOR * error if error > 0 else -error
