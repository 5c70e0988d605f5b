"""The status a round writes: explicit fields, conditions that flip only on change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.controllers.scaling.scaling_builders import T0, decision

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.scalingpolicy import ScalingPolicyStatus
from ebbtide.controllers.scaling.status import (
    OWNED_FIELDS,
    Conflict,
    after_decision,
    condition_reason,
    condition_status,
    not_ready,
    status_patch,
    with_conflict,
)
from ebbtide.scaling.forecasting import ModelName

pytestmark = pytest.mark.unit


def test_a_decision_fills_every_field_and_the_three_conditions() -> None:
    status = after_decision(
        ScalingPolicyStatus(),
        decision=decision(4, reasons.SCALE_UP_ON_FORECAST, load=25.0, predicted=38.0, model=ModelName.LINEAR),
        current_replicas=4,
        model="Linear",
        dry_run=False,
        scaled=True,
        generation=3,
        now=T0,
    )
    assert status.observed_generation == 3
    assert (status.current_replicas, status.desired_replicas) == (4, 4)
    assert (status.load, status.predicted_load, status.model) == (25.0, 38.0, "Linear")
    assert status.last_scale_time == T0
    assert status.last_decision is not None
    assert (status.last_decision.replicas, status.last_decision.reason) == (4, "ScaleUpOnForecast")
    assert condition_status(status, why.READY) == "True"
    assert condition_status(status, why.METRICS_AVAILABLE) == "True"
    assert condition_status(status, why.SCALING_ACTIVE) == "True"


def test_an_unreadable_load_marks_metrics_unavailable_and_scaling_inactive() -> None:
    status = after_decision(
        ScalingPolicyStatus(),
        decision=decision(3, reasons.FALLBACK_HOLD, load=None, message="load read failed: boom"),
        current_replicas=3,
        model=None,
        dry_run=False,
        scaled=False,
        generation=1,
        now=T0,
    )
    assert condition_status(status, why.READY) == "True"
    assert condition_status(status, why.METRICS_AVAILABLE) == "False"
    metrics = next(c for c in status.conditions if c.type == why.METRICS_AVAILABLE)
    assert "boom" in metrics.message
    assert condition_reason(status, why.SCALING_ACTIVE) == reasons.FALLBACK_HOLD
    assert status.load is None
    assert status.last_scale_time is None


def test_dry_run_is_never_scaling_active() -> None:
    status = after_decision(
        ScalingPolicyStatus(),
        decision=decision(5),
        current_replicas=1,
        model=None,
        dry_run=True,
        scaled=False,
        generation=1,
        now=T0,
    )
    assert condition_status(status, why.SCALING_ACTIVE) == "False"
    assert condition_reason(status, why.SCALING_ACTIVE) == why.DRY_RUN
    assert (status.current_replicas, status.desired_replicas) == (1, 5)


def test_conditions_keep_their_transition_time_until_they_flip() -> None:
    first = after_decision(
        ScalingPolicyStatus(),
        decision=decision(2),
        current_replicas=2,
        model=None,
        dry_run=False,
        scaled=False,
        generation=1,
        now=T0,
    )
    later = T0 + timedelta(minutes=1)
    same = after_decision(
        first,
        decision=decision(2),
        current_replicas=2,
        model=None,
        dry_run=False,
        scaled=False,
        generation=1,
        now=later,
    )
    ready = next(c for c in same.conditions if c.type == why.READY)
    assert ready.last_transition_time == T0
    broken = not_ready(same, reason=why.TARGET_NOT_FOUND, message="gone", generation=2, now=later)
    ready = next(c for c in broken.conditions if c.type == why.READY)
    assert (ready.status, ready.reason, ready.last_transition_time) == ("False", "TargetNotFound", later)
    assert broken.observed_generation == 2
    assert broken.desired_replicas == 2  # the last decision stays visible


def test_a_conflict_condition_comes_and_goes() -> None:
    found = Conflict(reason=why.HPA_FOUND, message="HPA web-hpa also scales it")
    status = with_conflict(ScalingPolicyStatus(), conflict=found, generation=1, now=T0)
    assert condition_status(status, why.AUTOSCALER_CONFLICT) == "True"
    cleared = with_conflict(status, conflict=None, generation=1, now=T0)
    assert condition_status(cleared, why.AUTOSCALER_CONFLICT) is None


def test_the_patch_names_every_owned_field_and_clears_the_absent_ones() -> None:
    status = after_decision(
        ScalingPolicyStatus(predicted_load=12.0, model="Linear"),
        decision=decision(2, model=None, predicted=None),
        current_replicas=2,
        model=None,
        dry_run=False,
        scaled=False,
        generation=1,
        now=T0,
    )
    patch = status_patch(status)
    assert set(OWNED_FIELDS) <= set(patch)
    assert patch["predictedLoad"] is None
    assert patch["model"] is None
    assert patch["lastScaleTime"] is None
    assert patch["lastDecision"]["time"] == "2026-01-01T12:00:00Z"
    assert patch["currentReplicas"] == 2
