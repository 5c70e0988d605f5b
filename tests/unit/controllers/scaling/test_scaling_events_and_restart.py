"""Events mark transitions, and a restarted operator neither repeats them nor scales down early."""

from __future__ import annotations

import pytest
from tests.unit.controllers.scaling.scaling_builders import T0, decision, spec

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.scalingpolicy import ScalingPolicyStatus
from ebbtide.controllers.scaling.events import (
    conflict_events,
    decision_events,
    metrics_events,
    not_ready_events,
)
from ebbtide.controllers.scaling.restart import restored_state
from ebbtide.controllers.scaling.status import Conflict, after_decision, not_ready, with_conflict
from ebbtide.scaling.planner import plan
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import settings_from_spec

pytestmark = pytest.mark.unit


def decided(before: ScalingPolicyStatus, reason: str, replicas: int = 3) -> ScalingPolicyStatus:
    load = None if reason in (reasons.LOAD_UNAVAILABLE, reasons.FALLBACK_HOLD) else 25.0
    return after_decision(
        before,
        decision=decision(replicas, reason, load=load, message="load read failed: down"),
        current_replicas=replicas,
        model=None,
        dry_run=False,
        scaled=False,
        generation=1,
        now=T0,
    )


def test_metrics_events_fire_once_per_transition() -> None:
    healthy = decided(ScalingPolicyStatus(), reasons.STEADY)
    failing = decided(healthy, reasons.LOAD_UNAVAILABLE)
    still_failing = decided(failing, reasons.FALLBACK_HOLD)
    recovered = decided(still_failing, reasons.STEADY)

    unavailable = metrics_events(before=healthy, after=failing)
    assert [(e.type_, e.reason) for e in unavailable] == [("Warning", why.EVENT_METRICS_UNAVAILABLE)]
    assert "down" in unavailable[0].message
    assert metrics_events(before=failing, after=still_failing) == []
    available = metrics_events(before=still_failing, after=recovered)
    assert [(e.type_, e.reason) for e in available] == [("Normal", why.EVENT_METRICS_AVAILABLE)]
    assert metrics_events(before=recovered, after=decided(recovered, reasons.STEADY)) == []


def test_a_scale_posts_one_event_on_the_policy_and_the_target() -> None:
    before = ScalingPolicyStatus()
    choice = decision(5, reasons.SCALE_UP_ON_FORECAST)
    after = after_decision(
        before,
        decision=choice,
        current_replicas=5,
        model=None,
        dry_run=False,
        scaled=True,
        generation=1,
        now=T0,
    )
    events = decision_events(
        before=before,
        after=after,
        decision=choice,
        old_replicas=2,
        scaled=True,
        dry_run=False,
        target="Deployment web",
    )
    scale = [e for e in events if e.reason == reasons.SCALE_UP_ON_FORECAST]
    assert len(scale) == 1
    assert scale[0].on_target
    assert "from 2 to 5 replicas" in scale[0].message


def test_a_dry_run_decision_is_reported_once_until_it_changes() -> None:
    choice = decision(5, reasons.SCALE_UP_ON_LOAD)
    first = after_decision(
        ScalingPolicyStatus(),
        decision=choice,
        current_replicas=1,
        model=None,
        dry_run=True,
        scaled=False,
        generation=1,
        now=T0,
    )
    events = decision_events(
        before=ScalingPolicyStatus(),
        after=first,
        decision=choice,
        old_replicas=1,
        scaled=False,
        dry_run=True,
        target="Deployment web",
    )
    assert [e.reason for e in events] == ["DryRunScaleUpOnLoad"]
    assert not events[0].on_target
    again = decision_events(
        before=first,
        after=first,
        decision=choice,
        old_replicas=1,
        scaled=False,
        dry_run=True,
        target="Deployment web",
    )
    assert again == []


def test_not_ready_and_conflict_warnings_are_not_repeated() -> None:
    before = ScalingPolicyStatus()
    assert [e.reason for e in not_ready_events(before=before, reason=why.TARGET_NOT_FOUND, message="x")] == [
        why.TARGET_NOT_FOUND
    ]
    missing = not_ready(before, reason=why.TARGET_NOT_FOUND, message="x", generation=1, now=T0)
    assert not_ready_events(before=missing, reason=why.TARGET_NOT_FOUND, message="x") == []
    assert not_ready_events(before=missing, reason=why.INVALID_SPEC, message="y") != []

    assert conflict_events(before=before, message=None) == []
    assert len(conflict_events(before=before, message="HPA a")) == 1
    found = Conflict(reason=why.HPA_FOUND, message="HPA a")
    conflicted = with_conflict(before, conflict=found, generation=1, now=T0)
    assert conflict_events(before=conflicted, message="HPA a") == []


def test_after_a_restart_no_scale_down_happens_before_a_full_window() -> None:
    settings = settings_from_spec(spec(cooldown={"scaleUp": "0s", "scaleDown": "20s"}))
    restart = 1_000.0
    state = restored_state(last_scale_time=None, current_replicas=6, now=restart)
    low_load = LoadSeries.from_pairs([(restart - 2.0, 5.0), (restart, 5.0)])
    reasons_seen = []
    for now in (restart, restart + 10.0, restart + 19.0):
        choice, state = plan(
            settings=settings,
            reading=LoadSeries.from_pairs([(now, 5.0)]) if now > restart else low_load,
            current_replicas=6,
            ready_replicas=6,
            now=now,
            state=state,
        )
        assert choice.desired_replicas == 6
        reasons_seen.append(choice.reason)
    assert set(reasons_seen) == {reasons.STABILISING}
    choice, _ = plan(
        settings=settings,
        reading=LoadSeries.from_pairs([(restart + 21.0, 5.0)]),
        current_replicas=6,
        ready_replicas=6,
        now=restart + 21.0,
        state=state,
    )
    assert (choice.desired_replicas, choice.reason) == (1, reasons.SCALE_DOWN_ON_LOAD)


def test_the_last_scale_time_keeps_a_scale_up_cooldown_running() -> None:
    settings = settings_from_spec(spec(cooldown={"scaleUp": "60s", "scaleDown": "20s"}))
    state = restored_state(last_scale_time=T0, current_replicas=2, now=T0.timestamp() + 30)
    choice, _ = plan(
        settings=settings,
        reading=LoadSeries.from_pairs([(T0.timestamp() + 30, 80.0)]),
        current_replicas=2,
        ready_replicas=2,
        now=T0.timestamp() + 30,
        state=state,
    )
    assert (choice.desired_replicas, choice.reason) == (2, reasons.COOLDOWN)
