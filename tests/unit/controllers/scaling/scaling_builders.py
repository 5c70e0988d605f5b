"""Small builders for the scaling controller's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ebbtide.api.scalingpolicy import ScalingPolicySpec
from ebbtide.scaling.decision import Decision
from ebbtide.scaling.forecasting import ModelName

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def spec_dict(**overrides: Any) -> dict[str, Any]:
    """A valid ScalingPolicy spec as a manifest would hold it."""
    spec: dict[str, Any] = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 10,
        "metric": {"query": "sum(load)", "targetPerReplica": 10},
        "interval": "2s",
        "prediction": {"model": "None", "horizon": "10s", "history": "2m", "seasonality": None},
        "cooldown": {"scaleUp": "0s", "scaleDown": "20s"},
    }
    spec.update(overrides)
    return spec


def spec(**overrides: Any) -> ScalingPolicySpec:
    return ScalingPolicySpec.model_validate(spec_dict(**overrides))


def decision(
    replicas: int,
    reason: str = "ScaleUpOnLoad",
    *,
    load: float | None = 25.0,
    predicted: float | None = None,
    model: ModelName | None = None,
    message: str = "because",
) -> Decision:
    return Decision(
        desired_replicas=replicas,
        reason=reason,
        message=message,
        load=load,
        predicted_load=predicted,
        model=model,
    )
