"""Taking off the finalizer earlier ebbtide versions kept on every ScalingPolicy.

Those versions ran a kopf daemon per policy, for which kopf kept its finalizer
(:data:`~ebbtide.kube.finalizers.KOPF_FINALIZER`) on every policy. This one needs none, and takes
it off a policy in two cases:

* after a round, by the policy's owner only, at most once every :data:`RETRY_SECONDS`: one
  write per policy, spread over the interval as the rounds are. During a rolling upgrade, the
  earlier version's replicas put the finalizer back on every event of the policy, so taking it
  off on every event (as kopf does with its own finalizer when no handler needs one, and every
  replica at once) would trade writes with them several times a second for every policy until
  the last of them stopped. That is why kopf is given a finalizer of ebbtide's own to manage
  (:func:`ebbtide.controllers.runtime.configure_settings`), which no handler needs;
* when a replica sees the policy being deleted (a ``deletionTimestamp``): the earlier version
  never puts it back then, and nothing else would let the deletion complete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.kube.finalizers import KOPF_FINALIZER
from ebbtide.metrics import scaling_metrics

#: How long an owner waits before taking the finalizer off again (an earlier replica put it back).
RETRY_SECONDS = 60.0

logger = logging.getLogger(__name__)


def carries_earlier_finalizer(body: Mapping[str, Any]) -> bool:
    """True if the policy ``body`` carries the finalizer an earlier version kept on it."""
    return KOPF_FINALIZER in ((body.get("metadata") or {}).get("finalizers") or ())


async def drop_earlier_finalizer(services: ScalingServices, body: Mapping[str, Any]) -> bool:
    """Take the earlier version's finalizer off the policy ``body`` if it carries it; True if
    this call took it off. A failure is logged and counted, to be tried again later."""
    if not carries_earlier_finalizer(body):
        return False
    metadata = body["metadata"]
    try:
        removed = await services.kube(
            services.cluster.remove_finalizer, metadata=metadata, finalizer=KOPF_FINALIZER
        )
    except Exception as error:
        scaling_metrics.ERRORS.labels(kind="finalizer").inc()
        logger.warning(
            "taking the finalizer off %s/%s failed: %r",
            metadata.get("namespace"),
            metadata.get("name"),
            error,
        )
        return False
    if removed:
        logger.info(
            "took the finalizer of an earlier version off %s/%s", metadata["namespace"], metadata["name"]
        )
    return removed
