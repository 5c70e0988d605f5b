"""Forecasts are scored when their time comes; rounds keep a fixed rate and spread out."""

from __future__ import annotations

import pytest

from ebbtide.controllers.scaling.forecast_error import ForecastErrors, absolute_percentage_error
from ebbtide.controllers.scaling.loop import first_offset, next_due
from ebbtide.kube.hpa import conflict_message, hpa_target_key, policy_target_key, target_key
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit


def test_a_forecast_is_scored_once_its_target_time_is_observed() -> None:
    errors = ForecastErrors()
    errors.expect(target_time=110.0, value=60.0, model="Linear")
    errors.expect(target_time=120.0, value=40.0, model="Linear")
    assert errors.score(LoadSeries.from_pairs([(100.0, 10.0), (105.0, 20.0)])) == []
    scores = errors.score(LoadSeries.from_pairs([(110.0, 50.0), (115.0, 50.0)]))
    assert [(s.model, round(s.error, 6)) for s in scores] == [("Linear", 0.2)]
    assert len(errors) == 1
    later = errors.score(LoadSeries.from_pairs([(118.0, 50.0), (121.0, 80.0)]))
    assert [round(s.error, 6) for s in later] == [0.2]  # 40 against 50, the sample at or before 120
    assert len(errors) == 0


def test_the_pending_forecasts_are_bounded() -> None:
    errors = ForecastErrors(max_pending=3)
    for i in range(10):
        errors.expect(target_time=float(i), value=1.0, model="Linear")
    assert len(errors) == 3


@pytest.mark.parametrize(
    ("forecast", "actual", "expected"),
    [(110.0, 100.0, 0.1), (90.0, 100.0, 0.1), (0.0, 0.0, 0.0), (5.0, 0.0, None), (1.0, None, None)],
)
def test_absolute_percentage_error(forecast: float, actual: float | None, expected: float | None) -> None:
    error = absolute_percentage_error(forecast=forecast, actual=actual)
    assert error == (None if expected is None else pytest.approx(expected))


def test_first_rounds_spread_over_the_interval_and_stay_put() -> None:
    offsets = [first_offset(f"uid-{i}", interval=15.0) for i in range(500)]
    assert all(0 <= offset < 15.0 for offset in offsets)
    assert max(offsets) - min(offsets) > 10.0
    assert first_offset("uid-7", interval=15.0) == offsets[7]


def test_late_rounds_are_not_caught_up() -> None:
    assert next_due(100.0, interval=15.0, now=101.0) == 115.0
    assert next_due(100.0, interval=15.0, now=140.0) == 140.0


def test_hpa_and_policy_agree_on_the_target_key() -> None:
    hpa = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
    assert hpa_target_key(namespace="ns", spec=hpa) == target_key(
        namespace="ns", api_version="apps/v1beta2", kind="Deployment", name="web"
    )
    assert hpa_target_key(namespace="ns", spec={}) is None
    policy = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
    assert policy_target_key(namespace="ns", spec=policy) == hpa_target_key(namespace="ns", spec=hpa)
    assert policy_target_key(namespace="ns", spec={"targetRef": "web"}) is None
    hpas = ["HorizontalPodAutoscaler/b", "HorizontalPodAutoscaler/a", "HorizontalPodAutoscaler/b"]
    message = conflict_message([*hpas, "ScalingPolicy/other"], kind="Deployment", name="web")
    assert message.startswith(
        "HorizontalPodAutoscaler a, b and ScalingPolicy other also scale Deployment web: "
    )
