"""A ScalingPolicy's status after a round, built from what the round found (no I/O here).

Each function takes the status as the round started and returns the status to write; conditions
keep their ``lastTransitionTime`` unless their status flips (see :mod:`ebbtide.api.conditions`).
:func:`status_patch` turns the result into the explicit merge patch the controller sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ebbtide.api import scalingpolicy_vocabulary as decisions
from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.conditions import ConditionStatus, remove_condition, set_condition
from ebbtide.api.scalingpolicy import ModelScore, ScalingDecision, ScalingPolicyStatus
from ebbtide.scaling.decision import Decision

#: Status fields the controller owns: sent every time, as null when unset, so a stale value
#: (e.g. a predictedLoad from before the model was switched off) does not linger.
OWNED_FIELDS = (
    "observedGeneration",
    "currentReplicas",
    "desiredReplicas",
    "load",
    "predictedLoad",
    "predictedPeak",
    "candidateScores",
    "model",
    "lastScaleTime",
    "lastDecision",
    "owner",
    "conditions",
)
#: Decisions taken without a usable load.
LOAD_FAILURE_REASONS = frozenset(
    {decisions.LOAD_UNAVAILABLE, decisions.FALLBACK_HOLD, decisions.FALLBACK_REPLICAS}
)


def with_condition(
    status: ScalingPolicyStatus,
    *,
    type_: str,
    value: ConditionStatus,
    reason: str,
    message: str = "",
    generation: int | None,
    now: datetime,
) -> ScalingPolicyStatus:
    """``status`` with one condition set (a copy; ``status`` is left alone)."""
    conditions = list(status.conditions)
    set_condition(
        conditions,
        type_=type_,
        status=value,
        reason=reason,
        message=message,
        observed_generation=generation,
        now=now,
    )
    return status.model_copy(update={"conditions": conditions})


def not_ready(
    status: ScalingPolicyStatus, *, reason: str, message: str, generation: int | None, now: datetime
) -> ScalingPolicyStatus:
    """``status`` after a round that could not decide (invalid spec, missing target, API error):
    Ready=False with the reason, everything else as it was."""
    status = status.model_copy(update={"observed_generation": generation})
    return with_condition(
        status, type_=why.READY, value="False", reason=reason, message=message, generation=generation, now=now
    )


def after_decision(
    status: ScalingPolicyStatus,
    *,
    decision: Decision,
    current_replicas: int,
    model: str | None,
    dry_run: bool,
    scaled: bool,
    generation: int | None,
    now: datetime,
    paused: str | None = None,
) -> ScalingPolicyStatus:
    """``status`` after a round that decided: the decision, the load, and the conditions
    Ready, MetricsAvailable, ScalingActive and ScalingLimited. ``current_replicas`` is the
    target's count after the round (the new count when ``scaled``); ``model`` the forecasting
    model in use; ``paused`` the spec's paused directions (None when nothing is paused)."""
    status = status.model_copy(
        update={
            "observed_generation": generation,
            "current_replicas": current_replicas,
            "desired_replicas": decision.desired_replicas,
            "load": decision.load,
            "predicted_load": decision.predicted_load,
            "predicted_peak": decision.predicted_peak,
            "candidate_scores": [
                ModelScore(model=name, capacity=capacity, overload=overload)
                for name, capacity, overload in decision.model_scores
            ],
            "model": model,
            "last_scale_time": now.replace(microsecond=0) if scaled else status.last_scale_time,
            "last_decision": ScalingDecision(
                time=now.replace(microsecond=0),
                replicas=decision.desired_replicas,
                reason=decision.reason,
                message=decision.message[:4096],
            ),
        }
    )
    status = with_condition(
        status, type_=why.READY, value="True", reason=why.RECONCILED, generation=generation, now=now
    )
    if decision.reason in LOAD_FAILURE_REASONS:
        status = with_condition(
            status,
            type_=why.METRICS_AVAILABLE,
            value="False",
            reason=why.METRICS_UNAVAILABLE,
            message=decision.message,
            generation=generation,
            now=now,
        )
    else:
        status = with_condition(
            status,
            type_=why.METRICS_AVAILABLE,
            value="True",
            reason=why.LOAD_READ,
            message="the query returned one finite value for now",
            generation=generation,
            now=now,
        )
    if dry_run:
        active: tuple[ConditionStatus, str, str] = (
            "False",
            why.DRY_RUN,
            "mode is DryRun: decisions are reported, the target is never changed",
        )
    elif paused is not None:
        directions = {"ScaleUp": "scale-ups are", "ScaleDown": "scale-downs are"}.get(paused, "scaling is")
        active = ("False", why.PAUSED, f"spec.paused is {paused}: {directions} paused")
    elif decision.reason in LOAD_FAILURE_REASONS:
        active = ("False", decision.reason, "the load cannot be read: " + decision.message)
    else:
        active = ("True", why.ACTIVE, "the replica count follows the load")
    value, reason, message = active
    status = with_condition(
        status,
        type_=why.SCALING_ACTIVE,
        value=value,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    limit = scaling_limit(decision)
    if limit is None:
        return status
    value, reason, message = limit
    return with_condition(
        status,
        type_=why.SCALING_LIMITED,
        value=value,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )


def scaling_limit(decision: Decision) -> tuple[ConditionStatus, str, str] | None:
    """The ScalingLimited condition (status, reason, message) for ``decision``, as the HPA
    sets it: True when maxReplicas, minReplicas or a rate limit changed the count the load asked
    for; None when the decision says nothing about limits (the load could not be read).

    The scale-up cooldown and the scale-down stabilisation window are not limits here (the HPA
    does not count its stabilisation window either): they wait, they do not cap.
    """
    wanted, desired = decision.wanted_replicas, decision.desired_replicas
    if wanted is None or decision.reason in LOAD_FAILURE_REASONS:
        return None
    if decision.reason == decisions.CLAMPED_TO_MAX:
        return (
            "True",
            why.TOO_MANY_REPLICAS,
            f"the load asks for {wanted} replicas; maxReplicas is {desired}",
        )
    if decision.reason == decisions.CLAMPED_TO_MIN:
        return (
            "True",
            why.TOO_FEW_REPLICAS,
            f"the load asks for {wanted} replicas; minReplicas is {desired}",
        )
    if decision.reason == decisions.RATE_LIMITED and wanted != desired:
        reason = why.SCALE_UP_LIMIT if wanted > desired else why.SCALE_DOWN_LIMIT
        return ("True", reason, f"the load asks for {wanted} replicas; the rate limit allows {desired} now")
    return (
        "False",
        why.DESIRED_WITHIN_RANGE,
        "the desired count is within the replica bounds and rate limits",
    )


@dataclass(frozen=True)
class Conflict:
    """Other autoscalers scale the policy's target: the AutoscalerConflict condition's reason
    (HorizontalPodAutoscalerFound, ScalingPolicyFound) and message."""

    reason: str
    message: str


def with_conflict(
    status: ScalingPolicyStatus, *, conflict: Conflict | None, generation: int | None, now: datetime
) -> ScalingPolicyStatus:
    """``status`` with the AutoscalerConflict condition set (``conflict``) or removed (None)."""
    if conflict is None:
        conditions = list(status.conditions)
        remove_condition(conditions, why.AUTOSCALER_CONFLICT)
        return status.model_copy(update={"conditions": conditions})
    return with_condition(
        status,
        type_=why.AUTOSCALER_CONFLICT,
        value="True",
        reason=conflict.reason,
        message=conflict.message,
        generation=generation,
        now=now,
    )


def status_patch(status: ScalingPolicyStatus) -> dict[str, Any]:
    """The merge patch for ``status``: every owned field, absent ones as null (removed)."""
    patch: dict[str, Any] = dict.fromkeys(OWNED_FIELDS)
    patch.update(status.to_dict())
    return patch


def condition_status(status: ScalingPolicyStatus, type_: str) -> str | None:
    """The status ("True", "False", "Unknown") of a condition, None when there is none."""
    return next((c.status for c in status.conditions if c.type == type_), None)


def condition_reason(status: ScalingPolicyStatus, type_: str) -> str | None:
    """The reason of a condition, None when there is none."""
    return next((c.reason for c in status.conditions if c.type == type_), None)


def lasting(status: ScalingPolicyStatus) -> ScalingPolicyStatus:
    """``status`` without what changes every round (load figures, the decision's time and
    message): two statuses with equal lasting parts differ only in numbers /metrics exports."""
    decision = status.last_decision
    return status.model_copy(
        update={
            "load": None,
            "predicted_load": None,
            "predicted_peak": None,
            "candidate_scores": [],
            "last_decision": None
            if decision is None
            else decision.model_copy(update={"time": None, "message": ""}),
        }
    )
