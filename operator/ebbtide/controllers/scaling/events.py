"""Which Kubernetes Events a round posts, decided from the status before and after it.

Events mark changes, not states: a scale, a DryRun decision that changed, metrics becoming
unavailable or available again, a target going missing, a new conflict. A state that persists
(Prometheus down for an hour) shows in the conditions and yields one event, not one per round.
Because transitions are judged from the status (which survives restarts), a restarted operator
does not repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.scalingpolicy import ScalingPolicyStatus
from ebbtide.controllers.scaling.status import condition_reason, condition_status
from ebbtide.kube.events import EventType
from ebbtide.scaling.decision import Decision


@dataclass(frozen=True)
class PlannedEvent:
    """An event to post; ``on_target`` also posts it on the scaled workload."""

    type_: EventType
    reason: str
    message: str
    on_target: bool = False


def decision_events(
    *,
    before: ScalingPolicyStatus,
    after: ScalingPolicyStatus,
    decision: Decision,
    old_replicas: int,
    scaled: bool,
    dry_run: bool,
    target: str,
) -> list[PlannedEvent]:
    """The events of a round that reached a decision. ``target`` names the workload
    ("Deployment web")."""
    events = metrics_events(before=before, after=after)
    new = decision.desired_replicas
    if scaled:
        events.append(
            PlannedEvent(
                "Normal",
                decision.reason,
                f"scaled {target} from {old_replicas} to {new} replicas: {decision.message}",
                on_target=True,
            )
        )
    elif dry_run and new != old_replicas and _decision_changed(before, decision):
        events.append(
            PlannedEvent(
                "Normal",
                why.EVENT_DRY_RUN_PREFIX + decision.reason,
                f"DryRun: would scale {target} from {old_replicas} to {new} replicas: {decision.message}",
            )
        )
    return events


def metrics_events(*, before: ScalingPolicyStatus, after: ScalingPolicyStatus) -> list[PlannedEvent]:
    """A warning when the load became unreadable, a notice when it became readable again."""
    was = condition_status(before, why.METRICS_AVAILABLE)
    now = condition_status(after, why.METRICS_AVAILABLE)
    if now == "False" and was != "False":
        message = next(c.message for c in after.conditions if c.type == why.METRICS_AVAILABLE)
        return [PlannedEvent("Warning", why.EVENT_METRICS_UNAVAILABLE, f"holding replicas: {message}")]
    if now == "True" and was == "False":
        message = "the load can be read again; scaling resumes"
        return [PlannedEvent("Normal", why.EVENT_METRICS_AVAILABLE, message)]
    return []


def not_ready_events(*, before: ScalingPolicyStatus, reason: str, message: str) -> list[PlannedEvent]:
    """A warning when the policy stopped being Ready for ``reason`` (not again while it stays so)."""
    if condition_status(before, why.READY) == "False" and condition_reason(before, why.READY) == reason:
        return []
    return [PlannedEvent("Warning", reason, message)]


def conflict_events(*, before: ScalingPolicyStatus, message: str | None) -> list[PlannedEvent]:
    """A warning when a conflict with another autoscaler appeared."""
    if message is None or condition_status(before, why.AUTOSCALER_CONFLICT) == "True":
        return []
    return [PlannedEvent("Warning", why.EVENT_AUTOSCALER_CONFLICT, message)]


def _decision_changed(before: ScalingPolicyStatus, decision: Decision) -> bool:
    last = before.last_decision
    return last is None or (last.replicas, last.reason) != (decision.desired_replicas, decision.reason)
