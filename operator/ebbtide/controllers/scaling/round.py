"""One round of one ScalingPolicy: read the target and the load, plan, scale, report.

A round never raises for anything a user can cause or fix (an invalid spec, a missing target,
Prometheus down, a bad query): it records why in the status and carries on at the next interval.
It never scales on missing data (the planner holds, see :mod:`ebbtide.scaling.fallback`), and it
writes the absolute replica count, so repeating a round changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ebbtide.api import error_messages
from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.scalingpolicy import ScalingPolicySpec, ScalingPolicyStatus
from ebbtide.controllers.scaling import status as status_of
from ebbtide.controllers.scaling.events import PlannedEvent, conflict_events, decision_events
from ebbtide.controllers.scaling.memory import PolicyMemory
from ebbtide.controllers.scaling.ownership import policy_key
from ebbtide.controllers.scaling.report import Reporter
from ebbtide.controllers.scaling.restart import restored_state
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.controllers.scaling.target import Target, TargetProblem, api_error_text, describe, read_target
from ebbtide.errors import NotOwnerError
from ebbtide.kube.hpa import HPA_KIND, POLICY_KIND, TargetKey, autoscaler, conflict_message, target_key
from ebbtide.metrics import scaling_metrics
from ebbtide.scaling.decision import Decision
from ebbtide.scaling.forecasting import ModelName
from ebbtide.scaling.planner import plan
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec

logger = logging.getLogger(__name__)

#: Autoscalers by the workload they scale (kopf indexes of HPAs and ScalingPolicies: key ->
#: ``Kind/name`` entries, see :mod:`ebbtide.kube.hpa`; the policy itself is among them).
HpaTargets = Mapping[TargetKey, Collection[str]]


async def run_round(
    *,
    services: ScalingServices,
    memory: PolicyMemory,
    body: Mapping[str, Any],
    hpa_targets: HpaTargets,
    clock: Callable[[], float],
) -> ScalingPolicySpec | None:
    """Run one round for the policy ``body`` (its latest version); returns the spec it ran with,
    or None when the spec is invalid."""
    now = clock()
    stamp = datetime.fromtimestamp(now, UTC)
    generation = (body.get("metadata") or {}).get("generation")
    reporter = Reporter(services=services, memory=memory, before=_status_before(memory, body), now=now)
    try:
        spec = ScalingPolicySpec.model_validate(body.get("spec") or {})
        settings = settings_from_spec(spec)
    except (ValidationError, ValueError) as error:
        scaling_metrics.ERRORS.labels(kind="invalid_spec").inc()
        text = "; ".join(error_messages(error)) if isinstance(error, ValidationError) else str(error)
        await reporter.not_ready(
            reason=why.INVALID_SPEC, message=f"the spec is invalid: {text}", generation=generation, now=stamp
        )
        return None
    found = await read_target(services, ref=spec.target_ref, namespace=memory.namespace)
    if isinstance(found, TargetProblem):
        if found.reason == why.TARGET_NOT_FOUND:
            memory.planner_state = None  # a re-created target starts afresh, as after a restart
        await reporter.not_ready(reason=found.reason, message=found.message, generation=generation, now=stamp)
        return spec
    await _decide(
        services=services,
        memory=memory,
        reporter=reporter,
        spec=spec,
        settings=settings,
        target=found,
        hpa_targets=hpa_targets,
        clock=clock,
        generation=generation,
    )
    return spec


async def _decide(
    *,
    services: ScalingServices,
    memory: PolicyMemory,
    reporter: Reporter,
    spec: ScalingPolicySpec,
    settings: PlannerSettings,
    target: Target,
    hpa_targets: HpaTargets,
    clock: Callable[[], float],
    generation: int | None,
) -> None:
    ref, current = spec.target_ref, target.scale.replicas
    before = reporter.before
    if memory.planner_state is None:
        memory.planner_state = restored_state(
            last_scale_time=before.last_scale_time, current_replicas=current, now=clock()
        )
    reading = await services.source.read(
        key=memory.uid,
        query=spec.metric.query,
        history=_history_to_read(settings),
        interval=settings.interval,
    )
    # The decision is made now, when its load is known (reading it may have waited for a thread).
    now = clock()
    stamp = datetime.fromtimestamp(now, UTC)
    old_state = memory.planner_state
    decision, state = plan(
        settings=settings,
        reading=reading,
        current_replicas=current,
        ready_replicas=target.scale.observed,
        now=now,
        state=old_state,
    )
    reporter.score_forecasts(reading=reading, decision=decision, now=now, horizon=settings.prediction.horizon)
    dry_run = spec.mode == "DryRun"
    held = holds(spec.paused, current=current, desired=decision.desired_replicas)
    scaled = False
    if dry_run or held:
        # Nothing changed, so nothing may count against cooldowns and rate limits.
        state = replace(state, events=old_state.events, last_scale_up=old_state.last_scale_up)
    elif decision.desired_replicas != current:
        key = policy_key(namespace=memory.namespace, name=memory.name)
        try:
            written = await services.kube(
                services.cluster.write_replicas,
                target.resource,
                namespace=memory.namespace,
                name=ref.name,
                replicas=decision.desired_replicas,
                fence=lambda: services.ownership.fence(key),
            )
        except NotOwnerError:
            # Another replica owns the policy now (or this one cannot tell): it is that one's to
            # decide, and this replica's memory of it is about to be dropped.
            scaling_metrics.ERRORS.labels(kind="not_owner").inc()
            return
        except Exception as error:  # the planner's memory stays as it was: nothing changed
            scaling_metrics.ERRORS.labels(kind="kube_api").inc()
            wanted = decision.desired_replicas
            message = f"setting {describe(ref)} to {wanted} replicas failed: {api_error_text(error)}"
            await reporter.not_ready(
                reason=why.SCALE_FAILED, message=message, generation=generation, now=stamp
            )
            return
        if written is None:
            memory.planner_state = None
            message = f"{describe(ref)} disappeared while it was being scaled"
            await reporter.not_ready(
                reason=why.TARGET_NOT_FOUND, message=message, generation=generation, now=stamp
            )
            return
        scaled = True
        scaling_metrics.SCALINGS.labels(
            direction="up" if decision.desired_replicas > current else "down"
        ).inc()
    memory.planner_state = state
    conflict = _conflict(hpa_targets, namespace=memory.namespace, name=memory.name, spec=spec)
    after = status_of.after_decision(
        before,
        decision=decision,
        current_replicas=decision.desired_replicas if scaled else current,
        model=_model_in_use(decision, settings),
        dry_run=dry_run,
        scaled=scaled,
        generation=generation,
        now=stamp,
        paused=None if spec.paused == "None" else spec.paused,
    )
    after = status_of.with_conflict(after, conflict=conflict, generation=generation, now=stamp)
    events: list[PlannedEvent] = decision_events(
        before=before,
        after=after,
        decision=decision,
        old_replicas=current,
        scaled=scaled,
        dry_run=dry_run,
        target=describe(ref),
    )
    events += conflict_events(before=before, message=None if conflict is None else conflict.message)
    reporter.record_decision(decision=decision, current=decision.desired_replicas if scaled else current)
    await reporter.write(after, events=events, target=target, ref=ref)


def _history_to_read(settings: PlannerSettings) -> float:
    # A purely reactive policy needs the latest sample only; a model needs its whole history.
    if settings.prediction.model is ModelName.NONE:
        return settings.interval
    return settings.prediction.history


def _model_in_use(decision: Decision, settings: PlannerSettings) -> str | None:
    """The model that made this round's forecast; "None" for a purely reactive policy; None
    (unknown) when a model is configured but could not forecast this round."""
    if decision.model is not None:
        return str(decision.model)
    return str(ModelName.NONE) if settings.prediction.model is ModelName.NONE else None


def _conflict(
    hpa_targets: HpaTargets, *, namespace: str, name: str, spec: ScalingPolicySpec
) -> status_of.Conflict | None:
    """The other autoscalers of the policy's target, as a condition to report; None if none."""
    ref = spec.target_ref
    key = target_key(namespace=namespace, api_version=ref.api_version, kind=ref.kind, name=ref.name)
    others = [entry for entry in hpa_targets.get(key, ()) if entry != autoscaler(POLICY_KIND, name)]
    if not others:
        return None
    hpa = any(entry.startswith(f"{HPA_KIND}/") for entry in others)
    return status_of.Conflict(
        reason=why.HPA_FOUND if hpa else why.SCALING_POLICY_FOUND,
        message=conflict_message(others, kind=ref.kind, name=ref.name),
    )


def _status_before(memory: PolicyMemory, body: Mapping[str, Any]) -> ScalingPolicyStatus:
    """The status as of the previous round: what this process wrote last, else (after a start)
    what the object holds; an unreadable status counts as empty."""
    if memory.status is not None:
        return memory.status
    try:
        return ScalingPolicyStatus.model_validate(body.get("status") or {})
    except ValidationError:
        logger.warning("ignoring the unreadable status of %s/%s", memory.namespace, memory.name)
        return ScalingPolicyStatus()


def holds(paused: str, *, current: int, desired: int) -> bool:
    """True when ``spec.paused`` forbids going from ``current`` to ``desired`` replicas."""
    if desired > current:
        return paused in ("ScaleUp", "Both")
    if desired < current:
        return paused in ("ScaleDown", "Both")
    return False
