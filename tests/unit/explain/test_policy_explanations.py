"""What ``ebbtide policies`` and ``why scalingpolicy`` say, from a policy's status alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.explain.explain_builders import event

from ebbtide.explain.policies import explain_policy, policy_rows, replicas_for

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)


def policy(
    name: str = "web", *, status: dict[str, Any] | None = None, namespace: str = "shop"
) -> dict[str, Any]:
    return {
        "kind": "ScalingPolicy",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metric": {"query": "load", "targetPerReplica": 10},
            "prediction": {"model": "Linear", "horizon": "30s"},
        },
        "status": status or {},
    }


STATUS = {
    "currentReplicas": 3,
    "desiredReplicas": 5,
    "load": 25.0,
    "predictedLoad": 41.5,
    "model": "Linear",
    "lastDecision": {
        "time": "2026-01-01T00:09:00Z",
        "replicas": 5,
        "reason": "ScaleUpOnForecast",
        "message": "Linear forecasts 41.5 in 30s",
    },
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "", "lastTransitionTime": "x"},
        {
            "type": "ScalingActive",
            "status": "True",
            "reason": "Active",
            "message": "",
            "lastTransitionTime": "x",
        },
    ],
}


def test_the_hpa_formula_is_ceil_of_load_over_target() -> None:
    assert replicas_for(25.0, 10) == 3
    assert replicas_for(30.0, 10) == 3
    assert replicas_for(None, 10) is None
    assert replicas_for(float("nan"), 10) is None


def test_rows_list_every_policy_with_its_decision() -> None:
    rows = policy_rows([policy("b", status=STATUS), policy("a", namespace="a")], now=NOW)
    assert [(row["namespace"], row["name"]) for row in rows] == [("a", "a"), ("shop", "b")]
    row = rows[1]
    assert (row["target"], row["currentReplicas"], row["desiredReplicas"]) == ("Deployment/b", 3, 5)
    assert (row["ready"], row["reason"], row["age"]) == ("True", "ScaleUpOnForecast", "10m")


def test_why_a_policy_has_its_replicas_shows_the_arithmetic() -> None:
    explanation = explain_policy(
        policy(status=STATUS), events=[event("ScaleUpOnForecast", "3 -> 5 replicas")], now=NOW
    )
    text = explanation["text"]
    assert "ScalingPolicy shop/web scales Deployment/web between 1 and 10 replicas (mode Active)." in text
    assert "It wants 5 replicas; the target has 3." in text
    assert "Last decision (1m ago): ScaleUpOnForecast: Linear forecasts 41.5 in 30s" in text
    assert "Load now: 25; at 10 per replica that alone needs 3 replicas." in text
    assert "Forecast (Linear, 30s ahead): 41.5, which needs 5 replicas." in text
    assert "Ready=True (Reconciled)" in text
    assert "ScaleUpOnForecast: 3 -> 5 replicas" in text
    assert explanation["conditions"][0]["type"] == "Ready"


def test_a_policy_without_status_points_at_the_operator() -> None:
    text = explain_policy(policy(), events=[], now=NOW)["text"]
    assert "has not reported on it yet" in text
