"""A round's per-policy metrics: decisions, errors and conditions labelled by the policy, and
all of them gone when the policy's loop ends."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from tests.unit.controllers.scaling.test_scaling_round import World, body, run

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.kube.hpa import target_key
from ebbtide.metrics import scaling_metrics
from ebbtide.scaling.series import ReadFailure

pytestmark = pytest.mark.unit

POLICY = {"namespace": "ns", "name": "web"}


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, {**POLICY, **labels})


@pytest.fixture(autouse=True)
def fresh_series() -> None:
    scaling_metrics.forget_policy(**POLICY)


def test_a_decision_is_counted_under_its_policy_and_reason_with_the_conditions() -> None:
    run(World(), body())
    assert sample("ebbtide_scaling_decisions_total", reason=why.SCALE_UP_ON_LOAD) == 1
    ready = {"condition": why.READY}
    assert sample("ebbtide_scalingpolicy_status_condition", **ready, status="True") == 1
    assert sample("ebbtide_scalingpolicy_status_condition", **ready, status="False") == 0
    assert sample("ebbtide_scalingpolicy_status_condition", **ready, status="Unknown") == 0
    assert sample("ebbtide_scaling_policy_errors_total", reason=why.METRICS_UNAVAILABLE) is None


def test_a_missing_target_counts_an_error_of_the_policy_and_turns_ready_false() -> None:
    run(World(replicas=None), body())
    assert sample("ebbtide_scaling_policy_errors_total", reason=why.TARGET_NOT_FOUND) == 1
    assert sample("ebbtide_scalingpolicy_status_condition", condition=why.READY, status="False") == 1


def test_a_load_that_cannot_be_read_counts_an_error_of_the_policy() -> None:
    world = World()
    world.source.reading = ReadFailure("the query returned no series")
    run(world, body())
    assert sample("ebbtide_scaling_policy_errors_total", reason=why.METRICS_UNAVAILABLE) == 1
    available = {"condition": why.METRICS_AVAILABLE, "status": "False"}
    assert sample("ebbtide_scalingpolicy_status_condition", **available) == 1


def test_a_condition_the_policy_no_longer_has_loses_its_series() -> None:
    world = World()
    world.hpas[target_key(namespace="ns", api_version="apps/v1", kind="Deployment", name="web")] = [
        "HorizontalPodAutoscaler/web-hpa"
    ]
    memory = run(world, body())
    conflict = {"condition": why.AUTOSCALER_CONFLICT, "status": "True"}
    assert sample("ebbtide_scalingpolicy_status_condition", **conflict) == 1
    world.hpas.clear()
    run(world, body(), memory)
    assert sample("ebbtide_scalingpolicy_status_condition", **conflict) is None


def test_forgetting_a_policy_removes_its_counters_and_condition_series() -> None:
    run(World(replicas=None), body())
    scaling_metrics.forget_policy(**POLICY)
    assert sample("ebbtide_scaling_policy_errors_total", reason=why.TARGET_NOT_FOUND) is None
    assert sample("ebbtide_scalingpolicy_status_condition", condition=why.READY, status="False") is None
