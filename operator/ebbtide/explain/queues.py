"""FairQueues and the work waiting in them, as the admission planner sees them right now.

The order of the waiting workloads is not read from their annotations (the operator writes
exact positions only near the head of a queue, see :mod:`ebbtide.controllers.fairqueue.waiting`):
the objects are fed to the operator's own store and planner, which computes every position
exactly, as of the moment of reading. Workloads the planner would admit in this very cycle are
listed first, as ``Admitting``: the operator is about to admit them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ebbtide.api import LabelSelector
from ebbtide.api.fairqueue_vocabulary import CONDITION_ACTIVE, WAITING_MESSAGE, WAITING_REASON
from ebbtide.api.workloads import WorkloadRecord
from ebbtide.controllers.fairqueue.snapshot import build_cycle_input
from ebbtide.controllers.fairqueue.status import amounts
from ebbtide.controllers.fairqueue.store import QueueStore
from ebbtide.explain.output import age
from ebbtide.queueing import AdmissionPlan, PendingWorkload, WorkloadRef, plan_admissions

Obj = Mapping[str, Any]
#: The reason shown for a workload the planner admits in the current cycle.
ADMITTING: Final = "Admitting"

QUEUE_COLUMNS: Final = {
    "NAME": "name",
    "COHORT": "cohort",
    "WEIGHT": "weight",
    "ORDER": "order",
    "SHARE": "share",
    "ENTITLEMENT": "entitlementText",
    "PENDING": "pending",
    "ADMITTED": "admitted",
    "ACTIVE": "active",
}
WAITING_COLUMNS: Final = {
    "POSITION": "position",
    "COHORT-POSITION": "cohortPosition",
    "KIND": "kind",
    "NAMESPACE": "namespace",
    "NAME": "name",
    "REASON": "reason",
    "AGE": "age",
}


@dataclass(frozen=True)
class QueueObjects:
    """What the fair queues depend on, as read from the cluster (plain API objects)."""

    fairqueues: Sequence[Obj]
    pods: Sequence[Obj]
    jobs: Sequence[Obj]
    nodes: Sequence[Obj]
    namespaces: Sequence[Obj]


@dataclass(frozen=True)
class QueuePicture:
    """The planner's plan over :class:`QueueObjects`, with the records it was made from."""

    plan: AdmissionPlan
    pending: Mapping[WorkloadRef, WorkloadRecord]
    namespaces: Mapping[str, Mapping[str, str]]

    def waiting_rows(self, *, queue: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
        """Every pending workload (of ``queue``, or of all queues), in admission order: those
        admitted this cycle, then the waiting ones by queue position, then the ones that can
        never be admitted as things stand."""
        now = now or datetime.now(UTC)
        rows = [
            _row(
                item.workload, reason=ADMITTING, message="admitted in the current cycle", position=0, now=now
            )
            for item in self.plan.admissions
        ]
        for waiting in self.plan.waiting:
            rows.append(
                _row(
                    waiting.workload,
                    reason=str(waiting.reason),
                    message=waiting.message,
                    position=waiting.queue_position,
                    cohort_position=waiting.cohort_position,
                    now=now,
                )
            )
        chosen = [row for row in rows if queue is None or row["queue"] == queue]
        return sorted(chosen, key=_admission_order)

    def ahead_of(self, ref: WorkloadRef, *, limit: int = 5) -> list[dict[str, Any]]:
        """Up to ``limit`` workloads of the same queue ahead of ``ref``, nearest last."""
        row = self.row_of(ref)
        if row is None or row["position"] is None:
            return []
        ahead = [
            other
            for other in self.waiting_rows(queue=row["queue"])
            if other["position"] is not None and other["position"] < row["position"]
        ]
        return ahead[-limit:]

    def row_of(self, ref: WorkloadRef) -> dict[str, Any] | None:
        return next(
            (row for row in self.waiting_rows() if (row["kind"], row["namespace"], row["name"]) == ref), None
        )


def picture(objects: QueueObjects) -> QueuePicture:
    """Plan one admission cycle over ``objects`` exactly as the operator would."""
    store = QueueStore()
    store.replace_queues(objects.fairqueues)
    store.replace_pods(objects.pods)
    store.replace_jobs(objects.jobs)
    store.replace_nodes(objects.nodes)
    store.replace_namespaces(objects.namespaces)
    view = store.view()
    cycle = build_cycle_input(view, cursors={})
    return QueuePicture(
        plan=plan_admissions(cycle.snapshot), pending=cycle.pending, namespaces=view.namespaces
    )


def queue_rows(
    fairqueues: Iterable[Obj], *, usable_from: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per FairQueue, from its spec and the status the operator wrote; with
    ``usable_from`` (a namespace's labels), only the queues that namespace may submit to."""
    rows = []
    for obj in fairqueues:
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        if usable_from is not None and not _selector_admits(spec.get("namespaceSelector"), usable_from):
            continue
        active = _condition(status, CONDITION_ACTIVE)
        entitlement = status.get("entitlement") or None
        rows.append(
            {
                "name": (obj.get("metadata") or {}).get("name"),
                "cohort": spec.get("cohort", "default"),
                "weight": spec.get("weight", 1),
                "order": spec.get("order", "FIFO"),
                "share": status.get("share"),
                "entitlement": entitlement,
                "entitlementText": _amounts_text(entitlement),
                "usage": status.get("usage"),
                "pending": status.get("pending"),
                "admitted": status.get("admitted"),
                "active": active.get("status"),
                "activeReason": active.get("reason"),
                "message": active.get("message") or "",
            }
        )
    return sorted(rows, key=lambda row: str(row["name"]))


def operator_note(obj: Obj) -> dict[str, str] | None:
    """What the operator last wrote on a waiting workload (reason and message), if anything."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if WAITING_REASON not in annotations:
        return None
    return {"reason": annotations[WAITING_REASON], "message": annotations.get(WAITING_MESSAGE, "")}


def _row(
    workload: PendingWorkload,
    *,
    reason: str,
    message: str,
    position: int | None,
    cohort_position: int | None = None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "position": position,
        "cohortPosition": cohort_position,
        "kind": workload.kind,
        "namespace": workload.namespace,
        "name": workload.name,
        "queue": workload.queue,
        "reason": reason,
        "message": message,
        "age": age(workload.created_at, now=now),
        "createdAt": workload.created_at.isoformat(),
        "requests": amounts(workload.requests.cpu_millis, workload.requests.memory_bytes),
    }


def _admission_order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    position = row["position"]
    return (1 if position is None else 0, position or 0, str(row["createdAt"]))


def _condition(status: Obj, type_: str) -> Obj:
    return next((c for c in status.get("conditions") or () if c.get("type") == type_), {})


def _amounts_text(value: Obj | None) -> str | None:
    if not value:
        return None
    return ", ".join(f"{name}={amount}" for name, amount in value.items())


def _selector_admits(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    if not selector:
        return True
    return LabelSelector.model_validate(selector).matches(labels)
