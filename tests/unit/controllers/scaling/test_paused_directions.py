"""``spec.paused``: which changes a paused policy holds back, and what its status says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ebbtide.api.scalingpolicy import ScalingPolicySpec, ScalingPolicyStatus
from ebbtide.controllers.scaling.round import holds
from ebbtide.controllers.scaling.status import after_decision
from ebbtide.scaling.decision import Decision

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("paused", "up", "down"),
    [("None", False, False), ("ScaleUp", True, False), ("ScaleDown", False, True), ("Both", True, True)],
)
def test_only_changes_in_a_paused_direction_are_held(paused: str, up: bool, down: bool) -> None:
    assert holds(paused, current=3, desired=5) is up
    assert holds(paused, current=3, desired=2) is down
    assert holds(paused, current=3, desired=3) is False


def test_paused_defaults_to_none_and_refuses_other_words() -> None:
    base = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5,
        "metric": {"query": "q", "targetPerReplica": 1},
    }
    assert ScalingPolicySpec.model_validate(base).paused == "None"
    assert ScalingPolicySpec.model_validate({**base, "paused": "ScaleDown"}).paused == "ScaleDown"
    with pytest.raises(ValueError, match="paused"):
        ScalingPolicySpec.model_validate({**base, "paused": "true"})


def test_a_paused_policy_reports_scaling_inactive_with_reason_paused() -> None:
    decision = Decision(desired_replicas=6, reason="ScaleUpOnLoad", message="load 55", load=55.0)
    status = after_decision(
        ScalingPolicyStatus(),
        decision=decision,
        current_replicas=3,
        model="None",
        dry_run=False,
        scaled=False,
        generation=1,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        paused="ScaleUp",
    )
    [active] = [c for c in status.conditions if c.type == "ScalingActive"]
    assert (active.status, active.reason) == ("False", "Paused")
    assert active.message == "spec.paused is ScaleUp: scale-ups are paused"
    assert (status.desired_replicas, status.current_replicas) == (6, 3)
