from datetime import timedelta
from decimal import Decimal

import pytest
from tests.e2e.invalid_objects import fair_queue, scaling_policy

from ebbtide.api import (
    API_GROUP,
    API_VERSION,
    FairQueue,
    LabelSelector,
    Quantity,
    ScalingPolicy,
    ScalingPolicySpec,
    TransitionError,
)
from ebbtide.api.scalingpolicy import ScaleUpRateLimit


def test_kinds_expose_their_api_names_for_controllers() -> None:
    assert (API_GROUP, API_VERSION) == ("ebbtide.io", "v1alpha1")
    assert (ScalingPolicy.API_GROUP, ScalingPolicy.API_VERSION) == (API_GROUP, API_VERSION)
    assert (ScalingPolicy.KIND, ScalingPolicy.PLURAL) == ("ScalingPolicy", "scalingpolicies")
    assert (FairQueue.KIND, FairQueue.PLURAL) == ("FairQueue", "fairqueues")
    assert ScalingPolicy.NAMESPACED and not FairQueue.NAMESPACED
    assert ScalingPolicy.crd_name() == "scalingpolicies.ebbtide.io"


def test_scaling_policy_defaults_are_the_documented_ones() -> None:
    spec = ScalingPolicySpec.model_validate(
        {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
            "metric": {"query": "up", "targetPerReplica": 10},
        }
    )
    assert spec.target_ref.api_version == "apps/v1"
    assert spec.min_replicas == 1
    assert spec.tolerance == 0.1
    assert spec.thresholds is None
    assert (spec.cooldown.scale_up, spec.cooldown.scale_down) == (
        timedelta(0),
        timedelta(minutes=5),
    )
    up, down = spec.rate_limits.scale_up, spec.rate_limits.scale_down
    assert up is None
    hpa_pace = ScaleUpRateLimit()
    assert (hpa_pace.max_pods, hpa_pace.max_percent, hpa_pace.period) == (4, 100, timedelta(seconds=15))
    assert (down.max_pods, down.max_percent, down.period) == (None, 100, timedelta(seconds=15))
    prediction = spec.prediction
    assert prediction.model == "Auto"
    assert (prediction.horizon, prediction.history) == (timedelta(minutes=3), None)
    assert prediction.seasonality is None
    assert (prediction.quantile, prediction.overload_weight) == (0.95, 1.0)
    assert (spec.fallback.failure_threshold, spec.fallback.action) == (3, "Hold")
    assert spec.fallback.replicas is None
    assert spec.mode == "Active"
    assert spec.interval == timedelta(seconds=15)


def test_fair_queue_defaults_are_the_documented_ones() -> None:
    queue = FairQueue.model_validate({"metadata": {"name": "q"}})
    assert (queue.spec.weight, queue.spec.order, queue.spec.cohort) == (1.0, "FIFO", "default")
    assert queue.spec.guaranteed is queue.spec.limit is queue.spec.capacity is None
    assert queue.spec.namespace_selector is None


def test_fields_parse_by_camel_case_alias_or_snake_case_name_and_dump_camel_case() -> None:
    by_alias = ScalingPolicy.model_validate(scaling_policy(spec__minReplicas=2))
    by_name = ScalingPolicy(
        metadata={"name": "web"},
        spec=ScalingPolicySpec(
            target_ref={"kind": "Deployment", "name": "web"},
            min_replicas=2,
            max_replicas=10,
            metric={
                "query": 'sum(rate(http_requests_total{service="web"}[1m]))',
                "target_per_replica": 100,
            },
        ),
    )
    assert by_alias == by_name
    wire = by_name.to_dict()
    assert wire["apiVersion"] == "ebbtide.io/v1alpha1"
    assert wire["kind"] == "ScalingPolicy"
    assert wire["spec"]["targetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert wire["spec"]["cooldown"] == {"scaleUp": "0s", "scaleDown": "5m0s"}
    assert ScalingPolicy.model_validate(wire) == by_name


def test_a_dump_leaves_unset_optionals_out_but_keeps_a_null_that_replaces_a_default() -> None:
    policy = ScalingPolicy.model_validate(scaling_policy(spec__fallback={"replicas": None}))
    spec = policy.to_dict()["spec"]
    assert "thresholds" not in spec
    assert "maxPods" not in spec["rateLimits"]["scaleDown"]
    assert "seasonality" not in spec["prediction"]
    assert ScalingPolicy.model_validate(policy.to_dict()) == policy


def test_quantities_in_a_queue_are_exact() -> None:
    queue = FairQueue.model_validate(fair_queue(spec__guaranteed={"cpu": "500m", "memory": "1Gi"}))
    assert queue.spec.guaranteed is not None
    assert queue.spec.guaranteed.cpu == Quantity("0.5")
    assert queue.spec.guaranteed.memory is not None
    assert queue.spec.guaranteed.memory.value == Decimal(2**30)
    assert queue.to_dict()["spec"]["guaranteed"] == {"cpu": "500m", "memory": "1Gi"}


def test_status_fields_the_operator_does_not_know_are_ignored_not_refused() -> None:
    policy = ScalingPolicy.model_validate(
        {**scaling_policy(), "status": {"currentReplicas": 3, "futureField": 1}}
    )
    assert policy.status.current_replicas == 3


@pytest.mark.parametrize(
    ("old_status", "allowed"),
    [
        (None, True),
        ({"pending": 4}, True),
        ({"admitted": 0}, True),
        ({"admitted": 1}, False),
    ],
)
def test_a_queue_changes_cohort_only_without_admitted_workloads(
    old_status: dict[str, int] | None, allowed: bool
) -> None:
    old = FairQueue.model_validate(fair_queue(**({"status": old_status} if old_status else {})))
    new = FairQueue.model_validate(fair_queue(spec__cohort="other"))
    if allowed:
        new.validate_update(old)
    else:
        with pytest.raises(TransitionError, match="cohort cannot change"):
            new.validate_update(old)


def test_an_update_that_keeps_the_cohort_is_always_allowed() -> None:
    old = FairQueue.model_validate(fair_queue(status={"admitted": 3}))
    FairQueue.model_validate(fair_queue(spec__weight=5)).validate_update(old)


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({}, {}, True),
        ({"matchLabels": {"team": "a"}}, {"team": "a", "x": "y"}, True),
        ({"matchLabels": {"team": "a"}}, {"team": "b"}, False),
        (
            {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]},
            {"team": "b"},
            True,
        ),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]},
            {"team": "a"},
            False,
        ),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {"team": ""}, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {"team": ""}, False),
        (
            {
                "matchLabels": {"env": "prod"},
                "matchExpressions": [{"key": "team", "operator": "Exists"}],
            },
            {"env": "prod"},
            False,
        ),
    ],
)
def test_label_selectors_match_like_kubernetes(
    selector: dict[str, object], labels: dict[str, str], matches: bool
) -> None:
    assert LabelSelector.model_validate(selector).matches(labels) is matches
