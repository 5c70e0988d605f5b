"""How a workload is held back and let go: the patches, as plain values.

Holding back happens once, at creation, in the mutating webhook: a pod gets the
``ebbtide.io/fair-queue`` scheduling gate appended to whatever gates it already has (KEP-3521:
gates can only be set at creation and only removed afterwards), a Job gets ``spec.suspend:
true``. A pod controlled by a batch/v1 Job is left alone: the Job is the workload, and its pods
exist only because the Job was admitted (or was never queued).

Letting go is one JSON merge patch that removes ebbtide's gate (keeping every other gate, in
order: the pod stays unschedulable until their owners remove them) or unsuspends the Job,
records the admission in annotations, clears the waiting annotations, and carries the
``resourceVersion`` it was decided on. The API server refuses it with 409 Conflict if the
object changed since, so two writers can never both admit it, and a write that lands is
visible on the object itself for whoever starts next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ebbtide.api.fairqueue_vocabulary import (
    ADMISSION_DECISION,
    ADMITTED_AT,
    QUEUE_POSITION,
    SCHEDULING_GATE,
    WAITING_ANNOTATIONS,
    WAITING_MESSAGE,
    WAITING_REASON,
)
from ebbtide.api.workloads import WorkloadRecord, controlling_job_uid


def gates_with_ours(pod: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """The pod's scheduling gates with ebbtide's appended, or None when the pod is not to be
    gated: it already carries the gate, or a Job controls it."""
    if controlling_job_uid(pod.get("metadata") or {}) is not None:
        return None
    gates = [dict(gate) for gate in (pod.get("spec") or {}).get("schedulingGates") or ()]
    if any(gate.get("name") == SCHEDULING_GATE for gate in gates):
        return None
    return [*gates, {"name": SCHEDULING_GATE}]


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: ``2024-05-01T12:00:00.123456Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def admission_patch(
    workload: WorkloadRecord, *, decision: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The merge patch that admits ``workload`` as last read (see the module docstring).

    ``now`` must be in UTC; ``decision`` is stored as compact JSON with sorted keys.
    """
    annotations: dict[str, str | None] = {
        ADMITTED_AT: format_timestamp(now),
        ADMISSION_DECISION: json.dumps(dict(decision), sort_keys=True, separators=(",", ":")),
    }
    annotations.update(dict.fromkeys(WAITING_ANNOTATIONS))
    spec: dict[str, Any]
    if workload.kind == "Pod":
        # null removes the list; a merge patch replaces a list as a whole, so the rest stay.
        spec = {"schedulingGates": [{"name": gate} for gate in workload.other_gates] or None}
    else:
        spec = {"suspend": False}
    return {
        "metadata": {"resourceVersion": workload.resource_version, "annotations": annotations},
        "spec": spec,
    }


def waiting_patch(*, reason: str, message: str, position: str | None) -> dict[str, Any]:
    """The merge patch that tells why a workload waits; no position removes the annotation."""
    return {
        "metadata": {
            "annotations": {WAITING_REASON: reason, WAITING_MESSAGE: message, QUEUE_POSITION: position}
        }
    }
