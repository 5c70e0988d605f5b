"""The predictive part's sizing: at most the quantile, and below it only the headroom that pays
at the policy's overload weight, priced against how often the reactive rule would fail."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scaling_builders import FixedPeak, Scaler, predictive, series, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.forecasting.sizing import OVERLOAD_UTILISATION, Sizing, reactive_overload_share
from ebbtide.scaling.prediction import PRICE_EVERY, PredictionMemo, forecast_ahead

TARGET = 100.0


def forecast_of(distribution: PeakDistribution) -> Forecast:
    return Forecast(
        value=distribution.base, model=ModelName.NAIVE, peak=distribution, at_horizon=distribution
    )


@given(
    base=st.floats(0.0, 5000.0),
    scale=st.floats(0.01, 500.0),
    residuals=st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=200),
    quantile=st.floats(0.5, 0.99),
    value=st.floats(0.0, 1e7),
)
def test_the_weighted_count_lies_between_the_point_forecast_and_the_quantile(
    base: float, scale: float, residuals: list[float], quantile: float, value: float
) -> None:
    distribution = PeakDistribution.of(base=base, scale=scale, residuals=np.array(residuals))
    sizing = Sizing(quantile=quantile, target_per_replica=TARGET, overload_value=value)
    provisioned = sizing.provisioned(forecast_of(distribution))
    assert provisioned <= distribution.quantile(quantile) + 1e-9
    assert provisioned >= base


def test_headroom_that_would_stop_no_overload_is_not_bought() -> None:
    # Outcomes between 450 and 600: five replicas carry up to 500 / 0.7 = 714 before they are
    # overloaded, so the sixth the 0.9 quantile asks for would never stop an overload.
    distribution = PeakDistribution.of(base=500.0, scale=100.0, residuals=np.linspace(-0.5, 1.0, 100))
    sizing = Sizing(quantile=0.9, target_per_replica=TARGET, overload_value=1e6)
    assert distribution.quantile(0.9) > 500.0
    assert sizing.provisioned(forecast_of(distribution)) == pytest.approx(500.0)


def test_a_jump_is_covered_only_when_its_overload_is_worth_the_replicas() -> None:
    # One outcome in twenty is a jump to 2,500: covering it takes 18 replicas (2,500 x 0.7 /
    # 100) where 4 carry the rest (500, below their overload line of 571), so 1,400 more load
    # of capacity for a 5 % chance: not worth 5 % of 10,000, worth 5 % of 100,000. Below the
    # jump, the point forecast (500) is carried at target all the same.
    residuals = np.concatenate((np.zeros(95), np.full(5, 20.0)))
    distribution = PeakDistribution.of(base=500.0, scale=100.0, residuals=residuals)
    cheap = Sizing(quantile=0.99, target_per_replica=TARGET, overload_value=10_000.0)
    dear = Sizing(quantile=0.99, target_per_replica=TARGET, overload_value=100_000.0)
    assert cheap.provisioned(forecast_of(distribution)) == pytest.approx(500.0)
    covered = dear.provisioned(forecast_of(distribution))
    assert covered == pytest.approx(1800.0)
    # Covered means the jump stays within the overload line of what is provisioned.
    assert covered / OVERLOAD_UTILISATION >= 2500.0


def test_without_a_target_or_a_price_the_quantile_alone_sizes() -> None:
    distribution = PeakDistribution.of(base=500.0, scale=100.0, residuals=np.linspace(-0.5, 1.0, 100))
    assert Sizing(quantile=0.9).provisioned(forecast_of(distribution)) == distribution.quantile(0.9)
    history = series([500.0, 900.0] * 100)
    unweighted = Sizing.for_history(
        history, quantile=0.9, weight=0.0, target_per_replica=TARGET, horizon=15.0
    )
    assert unweighted.provisioned(forecast_of(distribution)) == distribution.quantile(0.9)


def test_a_point_forecast_without_a_distribution_is_provisioned_as_it_is() -> None:
    sizing = Sizing(quantile=0.9, target_per_replica=TARGET, overload_value=1e6)
    assert sizing.provisioned(Forecast(value=420.0, model=ModelName.NAIVE)) == 420.0


def test_the_reactive_rule_fails_where_the_load_outgrows_its_headroom_within_a_horizon() -> None:
    # The load doubles every other sample: sized for 500 (5 replicas, overloaded above 714),
    # 1,000 a sample later overloads it; sized for 1,000, 500 does not.
    jumpy = series([500.0, 1000.0] * 50)
    assert reactive_overload_share(jumpy, target_per_replica=TARGET, horizon=15.0) == pytest.approx(50 / 99)
    # A flat load never fails the rule, which is counted as one failure: rare, not impossible.
    flat = series([500.0] * 100)
    assert reactive_overload_share(flat, target_per_replica=TARGET, horizon=15.0) == pytest.approx(1 / 99)
    # Nothing is known before a horizon has passed.
    assert reactive_overload_share(series([500.0] * 3), target_per_replica=TARGET, horizon=60.0) == 1.0


def test_an_overload_is_priced_higher_on_a_load_the_reactive_rule_rarely_fails() -> None:
    calm = series([600.0] * 200)
    jumpy = series([300.0, 900.0] * 100)
    price = {
        name: Sizing.for_history(history, quantile=0.9, weight=2.5, target_per_replica=TARGET, horizon=15.0)
        for name, history in (("calm", calm), ("jumpy", jumpy))
    }
    assert price["calm"].overload_value > 10 * price["jumpy"].overload_value
    # Both loads have the same mean: the price is the weight times it over the failure share.
    assert price["calm"].overload_value == pytest.approx(2.5 * 600.0 * 199)


def test_the_planner_provisions_what_the_sizing_asks_and_says_so() -> None:
    distribution = PeakDistribution.of(base=500.0, scale=100.0, residuals=np.linspace(-0.5, 1.0, 100))
    weighted = settings(prediction=predictive(ModelName.NAIVE, overload_weight=2.5))
    by_quantile = settings(prediction=predictive(ModelName.NAIVE))
    history = series([500.0] * 100)
    for policy, replicas in ((weighted, 5), (by_quantile, 6)):
        scaler = Scaler(policy, replicas=5, forecaster=FixedPeak(distribution, at_horizon=distribution))
        decision = scaler.tick(history, after=0.0)
        assert decision.desired_replicas == replicas
    assert decision.reason == reasons.SCALE_UP_ON_FORECAST
    assert "provisions for" in decision.message


def test_the_price_is_kept_for_a_while_and_measured_again_for_another_weight() -> None:
    policy = settings(prediction=predictive(ModelName.NAIVE, overload_weight=2.5))
    # A jump every fifth sample, seen by the horizon's look back (12 samples) at another phase.
    jumpy = series([500.0, 500.0, 500.0, 500.0, 1000.0] * 40)
    first, _ = forecast_ahead(settings=policy, history=jumpy, now=jumpy.last_time, memo=None)
    assert first is not None and isinstance(first.memo, PredictionMemo)
    price = first.memo.price
    assert price > 0
    # The load calms down: within PRICE_EVERY the price stays, after it the calm load's is used.
    calm = series([600.0] * 200)
    soon, _ = forecast_ahead(settings=policy, history=calm, now=calm.last_time, memo=first.memo)
    assert soon is not None and isinstance(soon.memo, PredictionMemo) and soon.memo.price == price
    later = series([600.0] * 200, start=calm.first_time + PRICE_EVERY)
    fresh, _ = forecast_ahead(settings=policy, history=later, now=later.last_time, memo=soon.memo)
    assert fresh is not None and isinstance(fresh.memo, PredictionMemo) and fresh.memo.price > 10 * price
    # A policy edited to weight 0 sizes by the quantile alone at once.
    unweighted = settings(prediction=predictive(ModelName.NAIVE, overload_weight=0.0))
    edited, _ = forecast_ahead(settings=unweighted, history=later, now=later.last_time, memo=fresh.memo)
    assert edited is not None and isinstance(edited.memo, PredictionMemo) and edited.memo.price == 0.0
    assert edited.at_horizon is not None
    assert edited.provisioned == edited.at_horizon.quantile(0.9)
