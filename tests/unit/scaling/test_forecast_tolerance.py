"""The tolerance holds the count against a noisy observed load; the forecast's quantile is held to
it only on the way up, so a replica the quantile no longer asks for is not kept."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import FixedPeak, Scaler, predictive, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.forecasting import ModelName, PeakDistribution
from ebbtide.scaling.settings import UtilisationBand

pytestmark = pytest.mark.unit


def scaler(forecast: float) -> Scaler:
    """20 replicas at 100 per replica, a 10 % tolerance, a stabilisation window longer than the
    test: only the forecast can take the count down."""
    policy = settings(scale_down_window=3600.0, prediction=predictive(ModelName.NAIVE))
    sure = PeakDistribution.of(base=forecast, scale=1.0, residuals=np.zeros(1))
    return Scaler(policy, replicas=20, forecaster=FixedPeak(sure, at_horizon=sure))


def test_the_quantile_within_the_tolerance_below_the_count_lets_a_replica_go() -> None:
    # 1850 at 100 per replica needs 19; the count of 20 is within 10 % of it, which holds the
    # count against observed load, not against the forecast.
    busy = scaler(forecast=1850.0)
    assert busy.tick(1000.0).desired_replicas == 19


def test_the_quantile_within_the_tolerance_above_the_count_does_not_add_one() -> None:
    steady = scaler(forecast=2050.0)
    decision = steady.tick(1000.0)
    assert decision.desired_replicas == 20
    assert decision.reason == reasons.WITHIN_TOLERANCE


def test_a_thresholds_band_still_holds_the_count_the_quantile_would_lower() -> None:
    # The forecast's 1850 on 20 replicas is 92.5 % utilisation, above the band's scale-down
    # threshold of 40 %; the observed 700 (35 %) is below it, so only the band on the forecast
    # keeps the count.
    policy = settings(
        scale_down_window=3600.0,
        prediction=predictive(ModelName.NAIVE),
        band=UtilisationBand(scale_up=1.5, scale_down=0.4),
    )
    sure = PeakDistribution.of(base=1850.0, scale=1.0, residuals=np.zeros(1))
    banded = Scaler(policy, replicas=20, forecaster=FixedPeak(sure, at_horizon=sure))
    assert banded.tick(700.0).desired_replicas == 20
