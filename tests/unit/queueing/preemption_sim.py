"""A tiny cluster for preemption tests: never-ending workloads, admission then preemption rounds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from queue_builders import T0

from ebbtide.api.fairqueue_vocabulary import PreemptionReason
from ebbtide.api.resources import Resources
from ebbtide.queueing import (
    PendingWorkload,
    Preemption,
    QueueSpec,
    RunningWorkload,
    Snapshot,
    plan_admissions,
    plan_preemptions,
    usage_by_queue,
)
from ebbtide.queueing.model import AdmittedWorkload


def running(workload: PendingWorkload, *, at: datetime) -> RunningWorkload:
    return RunningWorkload(
        namespace=workload.namespace,
        name=workload.name,
        queue=workload.queue,
        requests=workload.requests,
        admitted_at=at,
        kind=workload.kind,
        priority=workload.priority,
    )


def usage_of(workloads: list[RunningWorkload]) -> dict[str, Resources]:
    return usage_by_queue(AdmittedWorkload(queue=w.queue, requests=w.requests) for w in workloads)


@dataclass
class SimCluster:
    queues: list[QueueSpec]
    capacity: Resources
    pending: list[PendingWorkload]
    running: list[RunningWorkload] = field(default_factory=list)
    created: dict[str, datetime] = field(default_factory=dict)
    now: datetime = T0
    preemptions: list[Preemption] = field(default_factory=list)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            queues=self.queues,
            cohort_capacity={"": self.capacity},
            pending=list(self.pending),
            usage=usage_of(self.running),
        )

    def round(self, *, step: timedelta = timedelta(minutes=1)) -> tuple[int, list[Preemption]]:
        """Admit what the planner admits, then preempt; returns (admitted, preempted)."""
        self.now += step
        plan = plan_admissions(self.snapshot())
        admitted = {a.workload.ref for a in plan.admissions}
        for admission in plan.admissions:
            self.created[admission.workload.name] = admission.workload.created_at
            self.running.append(running(admission.workload, at=self.now))
        self.pending = [w for w in self.pending if w.ref not in admitted]
        taken = plan_preemptions(self.snapshot(), running=self.running, now=self.now + step / 2)
        for preemption in taken:
            victim = preemption.victim
            self.running.remove(victim)
            queued = self.now if preemption.reason is PreemptionReason.TIME_SLICE_EXPIRED else None
            self.pending.append(
                replace(
                    PendingWorkload(
                        namespace=victim.namespace,
                        name=victim.name,
                        queue=victim.queue,
                        requests=victim.requests,
                        created_at=self.created[victim.name],
                        kind=victim.kind,
                        priority=victim.priority,
                    ),
                    queued_at=queued,
                )
            )
        self.preemptions += taken
        return len(plan.admissions), list(taken)

    def usage(self, queue: str) -> Resources:
        return usage_of(self.running).get(queue, Resources.ZERO)
