"""The planner's settings come from the ScalingPolicy API model, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from ebbtide.api import ScalingPolicy
from ebbtide.scaling.forecasting.base import ModelName
from ebbtide.scaling.settings import (
    DEFAULT_OVERLOAD_WEIGHT,
    FallbackAction,
    FallbackSettings,
    PlannerSettings,
    PredictionSettings,
    RateLimit,
    UtilisationBand,
    settings_from_spec,
)

pytestmark = pytest.mark.unit


def manifest(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ebbtide.io/v1alpha1",
        "kind": "ScalingPolicy",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 30,
            "metric": {"query": "sum(rate(requests_total[1m]))", "targetPerReplica": 50},
            **spec,
        },
    }


def test_every_field_is_carried_over() -> None:
    policy = ScalingPolicy.model_validate(
        manifest(
            minReplicas=2,
            tolerance=0.05,
            thresholds={"scaleUp": 0.8, "scaleDown": 0.4},
            cooldown={"scaleUp": "30s", "scaleDown": "10m"},
            rateLimits={
                "scaleUp": {"maxPods": 5, "maxPercent": 50, "period": "30s"},
                "scaleDown": {"maxPercent": 10, "period": "1m"},
            },
            prediction={
                "model": "HoltWinters",
                "horizon": "5m",
                "history": "72h",
                "seasonality": "24h",
            },
            fallback={"failureThreshold": 4, "action": "Replicas", "replicas": 6},
            interval="30s",
        )
    )
    assert settings_from_spec(policy.spec) == PlannerSettings(
        min_replicas=2,
        max_replicas=30,
        target_per_replica=50.0,
        tolerance=0.05,
        band=UtilisationBand(scale_up=0.8, scale_down=0.4),
        scale_up_cooldown=30.0,
        scale_down_window=600.0,
        scale_up_limit=RateLimit(max_pods=5, max_percent=50.0, period=30.0),
        scale_down_limit=RateLimit(max_pods=None, max_percent=10.0, period=60.0),
        prediction=PredictionSettings(
            model=ModelName.HOLT_WINTERS, horizon=300.0, history=72 * 3600.0, seasonality=86400.0
        ),
        fallback=FallbackSettings(failure_threshold=4, action=FallbackAction.REPLICAS, replicas=6),
        interval=30.0,
    )


def test_defaults_of_the_api_become_the_planner_defaults() -> None:
    settings = settings_from_spec(ScalingPolicy.model_validate(manifest()).spec)
    assert settings.band is None
    assert (settings.scale_up_cooldown, settings.scale_down_window) == (0.0, 300.0)
    assert settings.scale_up_limit is None
    assert settings.scale_down_limit == RateLimit(max_pods=None, max_percent=100.0, period=15.0)
    assert settings.fallback == FallbackSettings()
    assert settings.interval == 15.0


def test_a_policy_without_seasonality_has_none() -> None:
    spec = ScalingPolicy.model_validate(manifest(prediction={"model": "Linear", "seasonality": None})).spec
    prediction = settings_from_spec(spec).prediction
    assert (prediction.model, prediction.seasonality) == (ModelName.LINEAR, None)


@pytest.mark.parametrize(
    ("prediction", "history"),
    [
        pytest.param({"model": "HoltWinters"}, 3 * 86400.0, id="HoltWinters alone: 3 days to find a season"),
        pytest.param({"model": "HoltWinters", "seasonality": "24h"}, 2 * 86400.0 + 3600.0, id="two seasons"),
        pytest.param({"model": "SeasonalNaive", "seasonality": "1h"}, 6 * 3600.0, id="at least 6h"),
        pytest.param({"model": "Linear"}, 6 * 3600.0, id="no season"),
        pytest.param({"model": "Auto", "history": "12h"}, 12 * 3600.0, id="as set"),
    ],
)
def test_history_is_derived_from_what_the_model_needs(prediction: dict[str, Any], history: float) -> None:
    spec = ScalingPolicy.model_validate(manifest(prediction=prediction)).spec
    assert settings_from_spec(spec).prediction.history == history


def test_a_seasonal_model_named_alone_is_a_valid_spec() -> None:
    for model in ("HoltWinters", "SeasonalNaive", "Auto"):
        assert ScalingPolicy.parse_errors(manifest(prediction={"model": model})) == []


def test_only_an_explicit_inconsistency_is_refused() -> None:
    errors = ScalingPolicy.parse_errors(
        manifest(prediction={"model": "HoltWinters", "seasonality": "24h", "history": "36h"})
    )
    assert any("two seasons" in error for error in errors), errors


def test_the_scale_down_quantile_is_stricter_than_the_provisioning_one() -> None:
    spec = ScalingPolicy.model_validate(manifest(prediction={"model": "Auto", "quantile": 0.8})).spec
    prediction = settings_from_spec(spec).prediction
    assert prediction.quantile == 0.8
    assert prediction.scale_down_quantile == pytest.approx(0.95)


def test_the_overload_weight_reaches_the_planner_and_defaults_to_the_documented_one() -> None:
    spec = ScalingPolicy.model_validate(manifest(prediction={"model": "Auto", "overloadWeight": 0})).spec
    assert settings_from_spec(spec).prediction.overload_weight == 0.0
    default = ScalingPolicy.model_validate(manifest(prediction={"model": "Auto"})).spec
    assert settings_from_spec(default).prediction.overload_weight == DEFAULT_OVERLOAD_WEIGHT == 1.0


def test_an_empty_scale_up_limit_paces_scale_ups_as_the_hpa_does() -> None:
    spec = ScalingPolicy.model_validate(manifest(rateLimits={"scaleUp": {}})).spec
    assert settings_from_spec(spec).scale_up_limit == RateLimit(max_pods=4, max_percent=100.0, period=15.0)
