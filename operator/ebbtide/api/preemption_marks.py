"""How a preempted workload is held back again: the patches, as plain values.

A Job is preempted by one JSON merge patch that sets ``spec.suspend`` back to true (the Job
controller deletes its pods; the Job keeps its creation time, so in every order but TimeSlice
it keeps its place at the head of its queue) and records the preemption in annotations: when
(``ebbtide.io/preempted-at``), why and for whom, and which admission it ended
(``ebbtide.io/preemption``, JSON); a time slice also records when the Job went to the back of
its queue (``ebbtide.io/requeued-at``). The waiting annotations say why it waits again. The
patch carries the ``resourceVersion`` the decision was made on, so a Job that changed since
(readmitted, relabelled, suspended by a restarted operator) is never preempted on a stale view.

A bare pod cannot be gated again: it is marked the same way (without ``spec``), then deleted
with the uid as precondition. The mark is what makes the deletion safe across a restart: an
admitted pod whose mark names its current admission is being preempted, and a restarted
operator finishes that deletion instead of choosing another victim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ebbtide.api.fairqueue_vocabulary import (
    PREEMPTED_AT,
    PREEMPTION,
    QUEUE_POSITION,
    REQUEUED_AT,
    WAITING_MESSAGE,
    WAITING_REASON,
)
from ebbtide.api.gates import format_timestamp
from ebbtide.api.workloads import WorkloadRecord


def preemption_note(*, reason: str, by_queue: str, message: str, admitted_at: str | None) -> dict[str, Any]:
    """The ``ebbtide.io/preemption`` annotation's content."""
    return {"reason": reason, "byQueue": by_queue, "message": message, "admittedAt": admitted_at}


def preemption_patch(
    workload: WorkloadRecord, *, note: Mapping[str, Any], now: datetime, requeue: bool
) -> dict[str, Any]:
    """The merge patch that preempts ``workload`` as last read (module docstring); ``now`` in UTC."""
    stamp = format_timestamp(now)
    annotations: dict[str, str | None] = {
        PREEMPTED_AT: stamp,
        PREEMPTION: json.dumps(dict(note), sort_keys=True, separators=(",", ":")),
        WAITING_REASON: str(note["reason"]),
        WAITING_MESSAGE: str(note["message"]),
        QUEUE_POSITION: None,
    }
    if requeue:
        annotations[REQUEUED_AT] = stamp
    patch: dict[str, Any] = {
        "metadata": {"resourceVersion": workload.resource_version, "annotations": annotations}
    }
    if workload.kind == "Job":
        patch["spec"] = {"suspend": True}
    return patch


def preemption_message(workload: WorkloadRecord) -> str | None:
    """What the workload's last preemption said (who took its capacity, and why), or None when
    it was never preempted or the annotation does not read."""
    if not workload.preemption:
        return None
    try:
        note = json.loads(workload.preemption)
    except ValueError:
        return None
    message = note.get("message") if isinstance(note, dict) else None
    return message if isinstance(message, str) and message else None


def preemption_in_flight(workload: WorkloadRecord) -> bool:
    """True for an admitted workload marked as preempted in its current admission (a pod whose
    deletion has not happened yet)."""
    if not workload.preemption or not workload.admitted_at:
        return False
    try:
        note = json.loads(workload.preemption)
    except ValueError:
        return False
    return isinstance(note, dict) and note.get("admittedAt") == workload.admitted_at
