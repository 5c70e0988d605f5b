"""Preemption in the admission cycle: reclaim, priority and time slices, carried out safely.

After a cycle's admissions, :class:`Preempter` asks :func:`ebbtide.queueing.plan_preemptions`
which admitted workloads to take back and carries that out, one workload at a time: a Job is
suspended again, a bare pod (only in a queue that allows it) is marked and deleted
(:mod:`ebbtide.kube.preemption_writes`). Each gets an Event naming the queue that took its
capacity and why; a deleted pod's owner gets one too; the queue and reason are counted.

What keeps a restart (or a change of leader) from preempting twice or losing a workload:

* Every decision is recorded on the victim in the same write that carries it out, and that
  write is conditional on the resourceVersion the decision was made on.
* A cohort is *settling* while an earlier preemption has not released its capacity yet: a
  suspended Job whose pods still run, or a marked pod not yet deleted. Nothing more is
  preempted there until it has; otherwise the same need would be met twice over while pods
  terminate. A marked pod found after a restart is deleted (the decision was already made).
* A Job is never deleted: suspended, it waits in its queue again, ahead of the workloads
  created after it (except in a TimeSlice queue, where it goes to the back).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from ebbtide.api.fairqueue_vocabulary import EVENT_PREEMPTED, PreemptionReason
from ebbtide.api.preemption_marks import preemption_in_flight, preemption_note, preemption_patch
from ebbtide.api.workloads import WorkloadRecord, WorkloadState, parse_timestamp
from ebbtide.controllers.fairqueue.snapshot import CycleInput
from ebbtide.controllers.fairqueue.store import QueueStore, StoreView
from ebbtide.kube.events import ObjectRef
from ebbtide.kube.preemption_writes import PreemptionWriter, PreemptResult
from ebbtide.kube.queue_events import EventRecorder
from ebbtide.metrics import queue_metrics as metrics
from ebbtide.queueing import AdmissionPlan, Preemption, RunningWorkload, WorkloadRef, plan_preemptions

logger = logging.getLogger(__name__)


def running_workloads(workloads: Iterable[WorkloadRecord], *, queues: Iterable[str]) -> list[RunningWorkload]:
    """The admitted, unfinished workloads of ``queues`` that may be preempted: not already
    being preempted, and with a readable admission time."""
    known = set(queues)
    running = []
    for record in workloads:
        if (
            record.state is not WorkloadState.ADMITTED
            or record.queue not in known
            or preemption_in_flight(record)
        ):
            continue
        try:
            admitted_at = parse_timestamp(record.admitted_at)
        except ValueError:
            continue
        running.append(
            RunningWorkload(
                namespace=record.namespace,
                name=record.name,
                queue=record.queue,
                requests=record.requests,
                admitted_at=admitted_at,
                kind=record.kind,
                priority=record.priority,
            )
        )
    return running


def settling_cohorts(view: StoreView, *, cohorts: Mapping[str, str]) -> tuple[set[str], list[WorkloadRecord]]:
    """Cohorts where an earlier preemption still holds capacity, and the marked pods whose
    deletion is still to be done (``cohorts`` maps queue names to their cohort)."""
    active_jobs = {pod.job_uid for pod in view.active_pods if pod.job_uid is not None}
    settling: set[str] = set()
    unfinished: list[WorkloadRecord] = []
    for record in view.workloads:
        cohort = cohorts.get(record.queue or "")
        if cohort is None or not record.preempted_at:
            continue
        if record.kind == "Job" and record.state is WorkloadState.PENDING and record.uid in active_jobs:
            settling.add(cohort)
        elif record.kind == "Pod" and record.state is WorkloadState.ADMITTED and preemption_in_flight(record):
            settling.add(cohort)
            unfinished.append(record)
    return settling, unfinished


class Preempter:
    """Runs after each cycle's admissions (see the module docstring); one call at a time."""

    def __init__(
        self,
        *,
        store: QueueStore,
        writer: PreemptionWriter,
        events: EventRecorder,
        write_counts: Callable[[str, Mapping[str, object]], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        may_preempt: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._writer = writer
        self._events = events
        self._write_counts = write_counts
        self._clock = clock
        self._may_preempt = may_preempt
        self._counts: dict[str, Counter[str]] = {}

    def run(self, *, view: StoreView, cycle_input: CycleInput, plan: AdmissionPlan) -> int:
        """Carry out this cycle's preemptions; returns how many landed."""
        snapshot = cycle_input.snapshot
        cohorts = {spec.name: spec.cohort for spec in snapshot.queues}
        settling, unfinished = settling_cohorts(view, cohorts=cohorts)
        for record in unfinished:
            if self._may_preempt():
                self._writer.delete_pod(record)
        now = self._clock()
        preemptions = plan_preemptions(
            snapshot,
            running=running_workloads(view.workloads, queues=cohorts),
            now=now,
            admitted=[admission.workload for admission in plan.admissions],
            settling=frozenset(settling),
        )
        if not preemptions:
            return 0
        records = {
            WorkloadRef(record.kind, record.namespace, record.name): record
            for record in view.workloads
            if record.state is WorkloadState.ADMITTED
        }
        landed = [p for p in preemptions if self._preempt(p, records.get(p.victim.ref), now=now)]
        self._update_counts(landed, view=view)
        if landed:
            logger.info(
                "preempted %d workload(s): %s", len(landed), ", ".join(str(p.victim.ref) for p in landed)
            )
        return len(landed)

    def _preempt(self, preemption: Preemption, record: WorkloadRecord | None, *, now: datetime) -> bool:
        if record is None or not self._may_preempt():
            return False
        note = preemption_note(
            reason=str(preemption.reason),
            by_queue=preemption.by_queue,
            message=preemption.message,
            admitted_at=record.admitted_at,
        )
        patch = preemption_patch(
            record, note=note, now=now, requeue=preemption.reason is PreemptionReason.TIME_SLICE_EXPIRED
        )
        try:
            outcome = self._writer.preempt(record, patch=patch)
        except Exception as error:
            metrics.WRITES.labels(kind="preemption", outcome="error").inc()
            logger.warning("preempting %s failed: %s", preemption.victim.ref, error)
            return False
        metrics.WRITES.labels(kind="preemption", outcome="ok").inc()
        if outcome.result is not PreemptResult.PREEMPTED:
            return False
        if outcome.record is not None:
            self._store.assume(outcome.record)
        metrics.PREEMPTIONS.labels(
            queue=preemption.victim.queue, by_queue=preemption.by_queue, reason=str(preemption.reason)
        ).inc()
        what = "suspended" if record.kind == "Job" else "deleted"
        message = f"{what}: {preemption.message}"
        self._events.record(record, type_="Normal", reason=EVENT_PREEMPTED, message=message)
        if record.kind == "Pod" and record.owner is not None:
            api_version, kind, name, uid = record.owner
            self._events.record_about(
                ObjectRef(api_version=api_version, kind=kind, namespace=record.namespace, name=name, uid=uid),
                type_="Normal",
                reason=EVENT_PREEMPTED,
                message=f"pod {record.name} {message}",
            )
        return True

    def _update_counts(self, landed: list[Preemption], *, view: StoreView) -> None:
        """Add ``landed`` to the queues' status.preempted and status.reclaimed, counting from
        the larger of the cluster's figure and this replica's own."""
        touched: set[str] = set()
        for preemption in landed:
            for queue, field in ((preemption.victim.queue, "preempted"), (preemption.by_queue, "reclaimed")):
                if field == "reclaimed" and preemption.reason is not PreemptionReason.RECLAIMED:
                    continue
                counts = self._counts.setdefault(queue, Counter())
                record = view.queues.get(queue)
                observed = record.status.get(field) if record is not None else None
                counts[field] = max(counts[field], observed if isinstance(observed, int) else 0) + 1
                touched.add(queue)
        for queue in sorted(touched):
            try:
                self._write_counts(queue, dict(self._counts[queue]))
            except Exception as error:
                logger.warning("writing the preemption counts of queue %s failed: %s", queue, error)
