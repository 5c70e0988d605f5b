"""``ebbtide why pod|job NAME``: where a queued workload stands, in plain words.

The state comes from the object itself (gated or suspended, admitted, finished, or never held;
see :mod:`ebbtide.api.workloads`). For a waiting workload the reason, the position and what is
ahead come from the planner's picture of the queues (:mod:`ebbtide.explain.queues`); what the
operator last wrote on the object and its Events are quoted beside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ebbtide.api.fairqueue_vocabulary import ADMISSION_DECISION, QUEUE_LABEL
from ebbtide.api.workloads import WorkloadRecord, WorkloadState, read_job, read_pod
from ebbtide.explain.events import event_lines, event_rows
from ebbtide.explain.queues import ADMITTING, QueuePicture, operator_note
from ebbtide.queueing import WorkloadRef

Obj = Mapping[str, Any]


def record_of(obj: Obj) -> WorkloadRecord:
    """The fair queues' record of a Pod or Job object (its ``kind`` says which)."""
    return read_pod(obj).workload if obj.get("kind") == "Pod" else read_job(obj)


def explain_workload(
    obj: Obj, *, picture: QueuePicture | None, events: Sequence[Obj], now: datetime | None = None
) -> dict[str, Any]:
    """The explanation of a Pod or Job: a dict of facts, and ``text`` telling them.

    ``picture`` is needed only for a pending workload (None: the position is not known).
    """
    now = now or datetime.now(UTC)
    record = record_of(obj)
    title = f"{record.kind} {record.namespace}/{record.name}"
    facts: dict[str, Any] = {
        "kind": record.kind,
        "namespace": record.namespace,
        "name": record.name,
        "queue": record.queue,
        "state": str(record.state),
    }
    if record.queue is None:
        lines = [f"{title} is not queued: it has no {QUEUE_LABEL} label."]
    elif record.state is WorkloadState.PENDING:
        lines = _pending(title, record, obj, picture=picture, facts=facts)
    elif record.state is WorkloadState.ADMITTED:
        lines = _admitted(title, record, obj, facts=facts)
    elif record.state is WorkloadState.FINISHED:
        lines = [f"{title} has finished; it no longer holds any of queue {record.queue!r}'s capacity."]
    else:
        lines = [
            f"{title} is labelled for queue {record.queue!r} but was never held back: it was created "
            "while no ebbtide webhook ran, so it runs outside the queues."
        ]
    lines.extend(_running_state(obj))
    facts["events"] = event_rows(events, now=now)
    lines.extend(event_lines(facts["events"]))
    facts["text"] = "\n".join(lines)
    return facts


def _pending(
    title: str, record: WorkloadRecord, obj: Obj, *, picture: QueuePicture | None, facts: dict[str, Any]
) -> list[str]:
    held = "held by its scheduling gate" if record.kind == "Pod" else "suspended"
    lines = []
    row = picture.row_of(WorkloadRef(record.kind, record.namespace, record.name)) if picture else None
    if row is None:
        lines.append(f"{title} waits in queue {record.queue!r} ({held}).")
    else:
        facts.update(
            reason=row["reason"],
            message=row["message"],
            position=row["position"],
            cohortPosition=row["cohortPosition"],
        )
        if row["reason"] == ADMITTING:
            lines.append(
                f"{title} is being admitted from queue {record.queue!r} now: capacity is free for it."
            )
        elif row["position"] is None:
            lines.append(
                f"{title} cannot be admitted as things stand ({held}): {row['reason']}: {row['message']}"
            )
        else:
            lines.append(
                f"{title} waits in queue {record.queue!r} ({held}) at position {row['position']} "
                f"(position {row['cohortPosition']} in its cohort's fair order)."
            )
            lines.append(f"Why: {row['reason']}: {row['message']}")
        ahead = picture.ahead_of(WorkloadRef(record.kind, record.namespace, record.name)) if picture else []
        facts["ahead"] = ahead
        if ahead:
            lines.append(f"Ahead of it in queue {record.queue!r}:")
            lines.extend(f"  {item['position']:>3}. {_ref(item)} ({item['reason']})" for item in ahead)
    note = operator_note(obj)
    facts["operatorNote"] = note
    if note is not None:
        lines.append(f"The operator's last note on it: {note['reason']}: {note['message']}")
    elif row is not None and row["reason"] != ADMITTING:
        lines.append("The operator has not noted a reason on it yet (is `ebbtide operator` running?).")
    return lines


def _admitted(title: str, record: WorkloadRecord, obj: Obj, *, facts: dict[str, Any]) -> list[str]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        decision = json.loads(annotations.get(ADMISSION_DECISION) or "{}")
    except ValueError:
        decision = {}
    facts.update(admittedAt=record.admitted_at, admission=decision)
    line = f"{title} was admitted from queue {record.queue!r} at {record.admitted_at}"
    if decision.get("shareBefore") is not None:
        line += f": the queue's share went from {decision['shareBefore']} to {decision.get('shareAfter')}"
        if decision.get("withinGuarantee"):
            line += " (within its guarantee)"
    return [line + "."]


def _running_state(obj: Obj) -> list[str]:
    """What Kubernetes says about the workload beyond the queue: a pod's phase, node and
    scheduling problem, or a Job's pod counts."""
    status = obj.get("status") or {}
    if obj.get("kind") == "Job":
        counts = {key: status.get(key) or 0 for key in ("active", "succeeded", "failed")}
        return [
            f"Job pods: {counts['active']} active, {counts['succeeded']} succeeded, "
            f"{counts['failed']} failed."
        ]
    spec = obj.get("spec") or {}
    line = f"Pod phase: {status.get('phase', 'Unknown')}"
    if spec.get("nodeName"):
        line += f", on node {spec['nodeName']}"
    scheduled = next((c for c in status.get("conditions") or () if c.get("type") == "PodScheduled"), None)
    if scheduled is not None and scheduled.get("status") == "False" and scheduled.get("message"):
        line += f"; not scheduled: {scheduled['message']}"
    return [line + "."]


def _ref(row: Mapping[str, Any]) -> str:
    return f"{row['kind']} {row['namespace']}/{row['name']}"
