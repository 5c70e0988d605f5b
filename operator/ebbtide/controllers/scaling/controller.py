"""Handlers of the scaling controller (registered by :mod:`ebbtide.controllers.registration`).

* a kopf **daemon** per ScalingPolicy runs the policy's loop (:mod:`.loop`) at its own
  ``spec.interval`` in every replica; the loop runs rounds only while this replica owns the
  policy (:mod:`.ownership`: a hash ring over the replicas' membership Leases). kopf stops it
  when the policy is deleted (its finalizer waits for that) or the operator exits. The daemon
  is cancelled only after a grace period, so a round in flight normally finishes and writes its
  status;
* kopf **indexes** of HorizontalPodAutoscalers and of ScalingPolicies by the workload they
  scale, fed by watches, let every round check for a conflicting autoscaler without an API call;
* shared clients and thread pools (:class:`.services.ScalingServices`) are made once and
  closed when the operator exits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from ebbtide.api.scalingpolicy import ScalingPolicy
from ebbtide.controllers.runtime import OperatorContext
from ebbtide.controllers.scaling.loop import run_policy_loop
from ebbtide.controllers.scaling.ownership import ShardedOwnership
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.kube.hpa import (
    HPA_KIND,
    POLICY_KIND,
    AutoscalerTargets,
    TargetKey,
    autoscaler,
    hpa_target_key,
    policy_target_key,
)

#: A round in flight gets this long to finish after its policy or the operator stops.
GRACE_SECONDS = 10.0


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

    @kopf.daemon(
        ScalingPolicy.API_GROUP,
        ScalingPolicy.API_VERSION,
        ScalingPolicy.PLURAL,
        id="scaling_loop",
        registry=registry,
        cancellation_backoff=GRACE_SECONDS,
        cancellation_timeout=GRACE_SECONDS,
    )
    async def scaling_loop(body: kopf.Body, stopped: kopf.DaemonStopped, **kwargs: Any) -> None:
        # kopf passes each index as a keyword argument named after the index's id.
        hpas: kopf.Index[TargetKey, str] = kwargs["hpa_targets"]
        policies: kopf.Index[TargetKey, str] = kwargs["policy_targets"]
        await run_policy_loop(
            services=services,
            body=body,
            stopped=stopped,
            hpa_targets=AutoscalerTargets(hpas, policies),
            sleep=stopped.wait,
        )

    @kopf.on.startup(registry=registry)
    async def join_members(**_: Any) -> None:
        if isinstance(services.ownership, ShardedOwnership):
            services.ownership.bind(asyncio.get_running_loop())
            services.ownership.membership.start()

    @kopf.on.cleanup(registry=registry)
    def close_services(**_: Any) -> None:
        services.close()
