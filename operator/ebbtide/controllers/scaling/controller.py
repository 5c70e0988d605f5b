"""Handlers of the scaling controller (registered by :mod:`ebbtide.controllers.registration`).

* a kopf **event handler** on ScalingPolicies feeds :mod:`.supervisor`, which runs the policy's
  loop (:mod:`.loop`) at its own ``spec.interval``, one asyncio task per policy UID, in every
  replica; the loop runs rounds only while this replica owns the policy (:mod:`.ownership`: a
  hash ring over the replicas' membership Leases). The loop stops when the watch shows the policy
  deleted, or when the operator exits, after a grace period, so that a round in flight normally
  finishes and writes its status. No handler requires a finalizer: kopf puts none on a policy
  (an earlier ebbtide ran a kopf daemon per policy: kopf started those one by one, minutes for
  thousands of policies, and wrote its finalizer on each; :mod:`.finalizer` takes that off);
* kopf **indexes** of HorizontalPodAutoscalers and of ScalingPolicies by the workload they
  scale, fed by watches, let every round check for a conflicting autoscaler without an API call;
* shared clients and thread pools (:class:`.services.ScalingServices`) are made once and
  closed when the operator exits, after the loops have ended.

An event handler rather than the ``policy_targets`` index: an index handler is not called for a
``DELETED`` event (kopf drops the object from the index itself), and its result is meant to be
a pure function of the body, not to start tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import kopf

from ebbtide.api.scalingpolicy import ScalingPolicy
from ebbtide.controllers.runtime import OperatorContext
from ebbtide.controllers.scaling.finalizer import drop_earlier_finalizer
from ebbtide.controllers.scaling.loop import run_policy_loop
from ebbtide.controllers.scaling.ownership import ShardedOwnership
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.controllers.scaling.supervisor import LiveBody, PolicySupervisor, StopFlag
from ebbtide.kube.hpa import (
    HPA_KIND,
    POLICY_KIND,
    AutoscalerTargets,
    TargetKey,
    autoscaler,
    hpa_target_key,
    policy_target_key,
)
from ebbtide.metrics import scaling_metrics

#: A round in flight gets this long to finish after its policy or the operator stops.
GRACE_SECONDS = 10.0
#: The id of the event handler that feeds the supervisor.
LOOPS_HANDLER = "scaling_loops"


class QuietLoopsHandler(logging.Filter):
    """Drops kopf's INFO line "Handler 'scaling_loops' succeeded.", which kopf logs for every
    watch event of every policy (each status write makes one) in every replica; its failures,
    logged as errors, still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (
            record.levelno >= logging.WARNING
            or record.getMessage() != f"Handler {LOOPS_HANDLER!r} succeeded."
        )


def register(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    """Register this controller's kopf handlers on ``registry``."""
    services = ScalingServices.from_config(context.config, api_client=context.api_client)

    @kopf.index("autoscaling", "v2", "horizontalpodautoscalers", id="hpa_targets", registry=registry)
    def hpa_targets(
        namespace: str | None, name: str, spec: kopf.Spec, **_: Any
    ) -> dict[TargetKey, str] | None:
        key = None if namespace is None else hpa_target_key(namespace=namespace, spec=spec)
        return None if key is None else {key: autoscaler(HPA_KIND, name)}

    @kopf.index(
        ScalingPolicy.API_GROUP,
        ScalingPolicy.API_VERSION,
        ScalingPolicy.PLURAL,
        id="policy_targets",
        registry=registry,
    )
    def policy_targets(
        namespace: str | None, name: str, spec: kopf.Spec, **_: Any
    ) -> dict[TargetKey, str] | None:
        key = None if namespace is None else policy_target_key(namespace=namespace, spec=spec)
        return None if key is None else {key: autoscaler(POLICY_KIND, name)}

    supervisor = PolicySupervisor(grace=GRACE_SECONDS)
    logging.getLogger("kopf.objects").addFilter(QuietLoopsHandler())
    scaling_metrics.POLICY_LOOPS.set_function(lambda: len(supervisor.running))

    @kopf.on.event(
        ScalingPolicy.API_GROUP,
        ScalingPolicy.API_VERSION,
        ScalingPolicy.PLURAL,
        id=LOOPS_HANDLER,
        registry=registry,
    )
    async def scaling_loops(event: kopf.RawEvent, **kwargs: Any) -> None:
        # kopf passes each index as a keyword argument named after the index's id.
        hpas: kopf.Index[TargetKey, str] = kwargs["hpa_targets"]
        policies: kopf.Index[TargetKey, str] = kwargs["policy_targets"]

        def start(body: LiveBody, stop: StopFlag) -> Coroutine[Any, Any, None]:
            return run_policy_loop(
                services=services,
                body=body,
                stopped=stop,
                hpa_targets=AutoscalerTargets(hpas, policies),
                sleep=stop.sleep,
            )

        raw = event["object"]
        supervisor.observe(event["type"], raw, start=start)
        if event["type"] != "DELETED" and (raw.get("metadata") or {}).get("deletionTimestamp"):
            # Nothing else lets the deletion of a policy an earlier version finalized complete.
            await drop_earlier_finalizer(services, raw)

    @kopf.on.startup(registry=registry)
    async def join_members(**_: Any) -> None:
        if isinstance(services.ownership, ShardedOwnership):
            services.ownership.bind(asyncio.get_running_loop())
            services.ownership.membership.start()

    @kopf.on.cleanup(registry=registry)
    async def close_services(**_: Any) -> None:
        await supervisor.stop_all()
        await asyncio.to_thread(services.close)
