"""The mutating admission webhook that holds queued Pods and Jobs back at creation.

kopf serves it over HTTPS (with a certificate from one of the sources of
:mod:`ebbtide.controllers.fairqueue.webhook_serving`). The MutatingWebhookConfiguration is the
Helm chart's, or, outside the chart, kopf's own ``fairqueue.ebbtide.io``: one webhook for pods,
one for batch/v1 Jobs, each called on CREATE only and only for objects labelled
``ebbtide.io/queue`` (kopf turns the label filter into the webhook's ``objectSelector``, so the
API server never calls it for any other object).

failurePolicy is **Fail**, and the webhooks are persistent (kept when the operator stops).
While the operator is down a labelled Pod or Job cannot be created at all, and the client is
told why: the alternative, Ignore, would let it be created ungated and run past the queue
unseen. Nothing unlabelled is affected, so the cluster keeps working; queued work is refused
rather than lost, and resubmitted once the operator is back. To switch queueing off, delete
the configuration.

Mutations (:mod:`ebbtide.api.gates`): a pod gets the ``ebbtide.io/fair-queue`` scheduling gate
unless a Job controls it (the Job is the workload, admitted as a whole); a Job gets
``spec.suspend: true``.
"""

from __future__ import annotations

from typing import Any

import kopf

from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL
from ebbtide.api.gates import gates_with_ours


def register_webhooks(registry: kopf.OperatorRegistry) -> None:
    """Register the two mutating handlers (see the module docstring)."""
    queued = {QUEUE_LABEL: kopf.PRESENT}

    @kopf.on.mutate(
        "pods", id="gate-queued-pods", operation="CREATE", labels=queued, persistent=True, registry=registry
    )
    def gate_queued_pod(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        gates = gates_with_ours(body)
        if gates is not None:
            patch.spec["schedulingGates"] = gates

    @kopf.on.mutate(
        "batch",
        "v1",
        "jobs",
        id="suspend-queued-jobs",
        operation="CREATE",
        labels=queued,
        persistent=True,
        registry=registry,
    )
    def suspend_queued_job(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        if not (body.get("spec") or {}).get("suspend"):
            patch.spec["suspend"] = True
