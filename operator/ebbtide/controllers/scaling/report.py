"""Reporting a round: the status write, the events and the controller's own metrics.

The status is written when something in it changed that a user acts on (replicas, the decision's
reason, a condition, the generation, the model), and otherwise at most every
:data:`STATUS_REFRESH` seconds: the load figures move every round, and writing them every round
would double the controller's API calls (and the watch events every client of the resource
receives) for numbers that /metrics already exports per round. So ``status.load`` and
``lastDecision.time`` are at most a minute old. Events follow the status transitions (see
:mod:`.events`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.base import GROUP_VERSION
from ebbtide.api.scalingpolicy import ScalingPolicy, ScalingPolicyStatus, TargetRef
from ebbtide.controllers.scaling import status as status_of
from ebbtide.controllers.scaling.events import PlannedEvent, not_ready_events
from ebbtide.controllers.scaling.memory import PolicyMemory
from ebbtide.controllers.scaling.ownership import policy_key
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.controllers.scaling.target import Target
from ebbtide.kube.events import ObjectRef
from ebbtide.metrics import scaling_metrics
from ebbtide.scaling.decision import Decision
from ebbtide.scaling.series import LoadSeries, ReadFailure

logger = logging.getLogger(__name__)

#: Seconds after which a status whose only changes are load figures is written anyway.
STATUS_REFRESH = 60.0


class Reporter:
    """Reports one round of one policy; ``before`` is the status the round started from."""

    def __init__(
        self, *, services: ScalingServices, memory: PolicyMemory, before: ScalingPolicyStatus, now: float
    ) -> None:
        self.services = services
        self.memory = memory
        self.before = before
        self.now = now

    async def not_ready(self, *, reason: str, message: str, generation: int | None, now: datetime) -> None:
        """Report a round that could not decide: Ready=False, and an event if that is news."""
        after = status_of.not_ready(
            self.before, reason=reason, message=message, generation=generation, now=now
        )
        logger.info("%s/%s not ready: %s", self.memory.namespace, self.memory.name, message)
        scaling_metrics.POLICY_ERRORS.labels(self.memory.namespace, self.memory.name, reason).inc()
        await self.write(after, events=not_ready_events(before=self.before, reason=reason, message=message))

    def score_forecasts(
        self, *, reading: LoadSeries | ReadFailure, decision: Decision, now: float, horizon: float
    ) -> None:
        """Score the forecasts whose time has come against ``reading``; keep the new one."""
        memory = self.memory
        if isinstance(reading, LoadSeries):
            for score in memory.forecasts.score(reading):
                scaling_metrics.FORECAST_APE.labels(memory.namespace, memory.name).set(score.error)
                scaling_metrics.FORECAST_APE_HISTOGRAM.labels(score.model).observe(score.error)
        if decision.predicted_load is not None and decision.model is not None:
            memory.forecasts.expect(
                target_time=now + horizon, value=decision.predicted_load, model=str(decision.model)
            )

    def record_decision(self, *, decision: Decision, current: int) -> None:
        """Count the decision (and, when it was made without a usable load, an error) and
        publish the policy's gauges."""
        namespace, name = self.memory.namespace, self.memory.name
        scaling_metrics.DECISIONS.labels(namespace, name, decision.reason).inc()
        if decision.reason in status_of.LOAD_FAILURE_REASONS:
            scaling_metrics.POLICY_ERRORS.labels(namespace, name, why.METRICS_UNAVAILABLE).inc()
        scaling_metrics.CURRENT_REPLICAS.labels(namespace, name).set(current)
        scaling_metrics.DESIRED_REPLICAS.labels(namespace, name).set(decision.desired_replicas)
        if decision.load is not None:
            scaling_metrics.LOAD.labels(namespace, name).set(decision.load)
        if decision.predicted_load is not None:
            scaling_metrics.PREDICTED_LOAD.labels(namespace, name).set(decision.predicted_load)

    async def write(
        self,
        after: ScalingPolicyStatus,
        *,
        events: list[PlannedEvent],
        target: Target | None = None,
        ref: TargetRef | None = None,
    ) -> None:
        """Write ``after`` if it differs from the status before (see the module's docstring),
        then post ``events`` (on the policy, and on the target when it is known and the event is
        meant for it too).

        Only a write that landed is remembered: after a failed one, the memory still holds the
        status last written, so the next round finds the same difference and writes again;
        the events, which follow the status, wait for that write.
        """
        memory, services = self.memory, self.services
        after = after.model_copy(update={"owner": services.ownership.identity or None})
        scaling_metrics.CONDITIONS.set(
            (memory.namespace, memory.name), ((c.type, c.status) for c in after.conditions)
        )
        key = policy_key(namespace=memory.namespace, name=memory.name)
        if self._worth_writing(after):
            if not services.ownership.fence(key):
                return  # another replica owns the policy now: the status is its to write
            try:
                exists = await services.kube(
                    services.cluster.patch_status,
                    namespace=memory.namespace,
                    name=memory.name,
                    status=status_of.status_patch(after),
                )
            except Exception as error:
                # Not remembered as written, so the next round sends it again (and its events
                # with it), even when nothing in it changes.
                scaling_metrics.ERRORS.labels(kind="status_write").inc()
                scaling_metrics.POLICY_ERRORS.labels(
                    memory.namespace, memory.name, scaling_metrics.STATUS_WRITE_FAILED
                ).inc()
                logger.warning("writing the status of %s/%s failed: %r", memory.namespace, memory.name, error)
                return
            if not exists:
                memory.gone = True  # its loop ends: no DELETED event may ever come (a re-list)
                return
            memory.status, memory.written_at = after, self.now
        policy = ObjectRef(GROUP_VERSION, ScalingPolicy.KIND, memory.namespace, memory.name, memory.uid)
        workload = None
        if target is not None and ref is not None:
            workload = ObjectRef(ref.api_version, ref.kind, memory.namespace, ref.name, target.scale.uid)
        for event in events:
            # Meant for the target too, and it is known: the workload's events show it as well.
            on = [policy] if workload is None or not event.on_target else [policy, workload]
            for regarding in on:
                await services.kube(
                    services.cluster.post_event,
                    regarding=regarding,
                    type_=event.type_,
                    reason=event.reason,
                    message=event.message,
                )

    def _worth_writing(self, after: ScalingPolicyStatus) -> bool:
        if after == self.before:
            return False
        written_at = self.memory.written_at
        if written_at is None or self.now - written_at >= STATUS_REFRESH:
            return True
        return status_of.lasting(after) != status_of.lasting(self.before)
