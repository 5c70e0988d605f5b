"""Handlers of the scaling controller (registered by :mod:`ebbtide.controllers.registration`).

* a kopf **event handler** on ScalingPolicies feeds :mod:`.supervisor`, which runs the policy's
  loop (:mod:`.loop`) at its own ``spec.interval``, one asyncio task per policy UID, in every
  replica; the loop runs rounds only while this replica owns the policy (:mod:`.ownership`: a
  hash ring over the replicas' membership Leases). The loop stops when the watch shows the policy
  deleted, or when the operator exits, after a grace period, so that a round in flight normally
  finishes and writes its status. No handler requires a finalizer: kopf puts none on a policy
  (an earlier ebbtide ran a kopf daemon per policy: kopf started those one by one, minutes for
  thousands of policies, and wrote its finalizer on each; :mod:`.finalizer` takes that off);
* an index of HorizontalPodAutoscalers and ScalingPolicies by the workload they scale
  (:mod:`ebbtide.kube.autoscaler_index`: HPAs from a watch of its own, policies from the same
  events) lets every round check for a conflicting autoscaler without an API call;
* shared clients and thread pools (:class:`.services.ScalingServices`) are made once and
  closed when the operator exits, after the loops have ended.

No kopf index: kopf holds every handler back until each object listed at start is indexed,
at a cost that grows with the cube of the objects (see :mod:`ebbtide.kube.autoscaler_index`).
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
from ebbtide.kube.autoscaler_index import AutoscalerIndex
from ebbtide.metrics import scaling_metrics

#: A round in flight gets this long to finish after its policy or the operator stops.
GRACE_SECONDS = 10.0
#: How long the start waits for the HPA watch to list once before the policies run.
HPA_SYNC_TIMEOUT = 60.0
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

    autoscalers = AutoscalerIndex(context.api_client, namespaces=context.config.namespaces)
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
    async def scaling_loops(event: kopf.RawEvent, **_: Any) -> None:
        def start(body: LiveBody, stop: StopFlag) -> Coroutine[Any, Any, None]:
            return run_policy_loop(
                services=services, body=body, stopped=stop, hpa_targets=autoscalers, sleep=stop.sleep
            )

        raw = event["object"]
        autoscalers.observe_policy(event["type"], raw)
        supervisor.observe(event["type"], raw, start=start)
        if event["type"] != "DELETED" and (raw.get("metadata") or {}).get("deletionTimestamp"):
            # Nothing else lets the deletion of a policy an earlier version finalized complete.
            await drop_earlier_finalizer(services, raw)

    @kopf.on.startup(registry=registry)
    async def join_members(**_: Any) -> None:
        # Before the policies' watch starts, so that no first round misses an existing HPA.
        autoscalers.start()
        await asyncio.to_thread(autoscalers.wait_synced, timeout=HPA_SYNC_TIMEOUT)
        if isinstance(services.ownership, ShardedOwnership):
            services.ownership.bind(asyncio.get_running_loop())
            services.ownership.membership.start()

    @kopf.on.cleanup(registry=registry)
    async def close_services(**_: Any) -> None:
        await supervisor.stop_all()
        await asyncio.to_thread(autoscalers.close)
        await services.close()
