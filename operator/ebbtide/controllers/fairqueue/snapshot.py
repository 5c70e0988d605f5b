"""From the controller's view to the planner's input, and the figures the status needs.

Which workloads count where (see :mod:`ebbtide.api.workloads` for the states):

* Pending workloads go to the planner, whatever their queue: a missing queue, a namespace the
  queue refuses, or requests over its limit are wait reasons the planner reports.
* A queue's usage is the requests of its admitted, unfinished workloads.
* Everything else holding node resources is outside the queues
  (:mod:`ebbtide.controllers.fairqueue.capacity`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from ebbtide.api.resources import Resources
from ebbtide.api.workloads import WorkloadRecord, WorkloadState, parse_timestamp
from ebbtide.controllers.fairqueue.capacity import CohortCapacity, cohort_capacities, node_capacity
from ebbtide.controllers.fairqueue.records import QueueRecord
from ebbtide.controllers.fairqueue.store import StoreView
from ebbtide.queueing import PastAdmission, PendingWorkload, QueueOrder, Snapshot, WorkloadRef, resume_cursors


@dataclass(frozen=True)
class CycleInput:
    """One cycle's planner input plus what reporting needs.

    ``pending`` maps each planned workload's ref to its record (to write to it later);
    ``running`` counts admitted, unfinished workloads per existing queue; ``waiting_count``
    counts pending workloads per queue label (existing or not).
    """

    snapshot: Snapshot
    pending: Mapping[WorkloadRef, WorkloadRecord]
    running: Mapping[str, int]
    waiting_count: Mapping[str, int]
    queues: Mapping[str, QueueRecord]
    capacities: Mapping[str, CohortCapacity]
    outside: Resources


def pending_workload(record: WorkloadRecord) -> PendingWorkload:
    """The planner's view of a pending record."""
    return PendingWorkload(
        namespace=record.namespace,
        name=record.name,
        queue=record.queue or "",
        requests=record.requests,
        created_at=record.created_at,
        kind=record.kind,
        priority=record.priority,
        expected_duration=record.expected_duration,
        unreadable=record.unreadable,
        queued_at=_requeued_at(record),
    )


def _requeued_at(record: WorkloadRecord) -> datetime | None:
    """When a TimeSlice workload went to the back of its queue; None when it did not, or the
    annotation is not a timestamp (it then keeps its place by creation time)."""
    if not record.requeued_at:
        return None
    try:
        return parse_timestamp(record.requeued_at)
    except ValueError:
        return None


def past_admissions(records: Iterable[WorkloadRecord]) -> Iterator[PastAdmission]:
    """Every admission recorded on ``records`` (whatever their state now); an admitted-at
    annotation that is not a timestamp is skipped."""
    for record in records:
        if record.queue is None or not record.admitted_at:
            continue
        try:
            admitted_at = parse_timestamp(record.admitted_at)
        except ValueError:
            continue
        yield PastAdmission(queue=record.queue, namespace=record.namespace, admitted_at=admitted_at)


def build_cycle_input(view: StoreView, *, cursors: Mapping[str, str]) -> CycleInput:
    """The planner's snapshot of ``view``; ``cursors`` are the RoundRobin cursors so far, and a
    RoundRobin queue without one resumes after its latest admission in ``view``
    (:func:`ebbtide.queueing.resume_cursors`)."""
    valid = {name: record for name, record in view.queues.items() if record.spec is not None}
    specs = {name: record.to_queue_spec(view.namespaces) for name, record in valid.items()}
    pending: dict[WorkloadRef, WorkloadRecord] = {}
    usage: dict[str, Resources] = {}
    running: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    admitted_jobs: set[str] = set()
    for record in view.workloads:
        if record.state is WorkloadState.PENDING:
            ref = WorkloadRef(record.kind, record.namespace, record.name)
            # The same name twice (deleted and created again): the newer one is the workload.
            if ref not in pending or pending[ref].created_at <= record.created_at:
                pending[ref] = record
        elif record.state is WorkloadState.ADMITTED and record.queue in specs:
            usage[record.queue] = usage.get(record.queue, Resources.ZERO) + record.requests
            running[record.queue] += 1
            if record.kind == "Job":
                admitted_jobs.add(record.uid)
    for record in pending.values():
        waiting[record.queue or ""] += 1
    outside = Resources.ZERO
    for pod in view.active_pods:
        workload = pod.workload
        counted_by_queue = pod.job_uid in admitted_jobs or (
            workload.queue in specs and workload.state is WorkloadState.ADMITTED
        )
        if not counted_by_queue:
            outside = outside + workload.requests
    usage_by_cohort: dict[str, Resources] = {}
    for name, amount in usage.items():
        cohort = specs[name].cohort
        usage_by_cohort[cohort] = usage_by_cohort.get(cohort, Resources.ZERO) + amount
    capacities = cohort_capacities(
        queues=valid.values(),
        nodes_total=node_capacity(view.nodes),
        outside=outside,
        usage_by_cohort=usage_by_cohort,
    )
    snapshot = Snapshot(
        queues=list(specs.values()),
        cohort_capacity={cohort: entry.capacity for cohort, entry in capacities.items()},
        pending=[pending_workload(record) for record in pending.values()],
        usage=usage,
        round_robin_cursors=resume_cursors(
            cursors=cursors,
            round_robin=[name for name, spec in specs.items() if spec.order is QueueOrder.ROUND_ROBIN],
            admissions=past_admissions(view.workloads),
        ),
    )
    return CycleInput(
        snapshot=snapshot,
        pending=pending,
        running=dict(running),
        waiting_count=dict(waiting),
        queues=dict(view.queues),
        capacities=capacities,
        outside=outside,
    )
