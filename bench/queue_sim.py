"""A small discrete-event cluster that admits jobs through ebbtide's pure admission planner.

The simulated cluster has one fixed capacity (one cohort). Jobs arrive over time and run for
their duration once admitted; nothing else starts them. Whenever something happens (one or
more arrivals, one or more completions at the same instant) the simulator builds a
:class:`ebbtide.queueing.Snapshot` exactly as a controller would (queues, capacity, usage of
admitted-and-unfinished jobs, pending jobs, round-robin cursors) and carries out every
admission the planner returns, in order. Time is a float of seconds since the start.

Used by ``bench/queue_policies.py``; the planner is the very function the operator runs.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ebbtide.api.resources import Resources
from ebbtide.queueing import PendingWorkload, QueueSpec, Snapshot, WorkloadRef, plan_admissions

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Job:
    """A synthetic job: who submits it, when, how big, how long (and how long it claims)."""

    name: str
    tenant: str
    arrival: float
    duration: float
    requests: Resources
    expected_duration: float | None


@dataclass(frozen=True, slots=True)
class JobRecord:
    job: Job
    admitted_at: float

    @property
    def wait(self) -> float:
        return self.admitted_at - self.job.arrival

    @property
    def finished_at(self) -> float:
        return self.admitted_at + self.job.duration


@dataclass
class SimResult:
    records: list[JobRecord] = field(default_factory=list)
    planner_calls: int = 0
    planner_seconds: float = 0.0
    # (time, tenant -> number of that tenant's jobs waiting) after every planning cycle
    backlog: list[tuple[float, dict[str, int]]] = field(default_factory=list)


def simulate(
    *,
    jobs: Sequence[Job],
    capacity: Resources,
    queues: Sequence[QueueSpec],
    queue_for: Callable[[Job], str],
) -> SimResult:
    """Run ``jobs`` through the planner until every job has been admitted.

    ``queue_for`` maps a job to the queue it is submitted to; a job's tenant is its namespace,
    which is what RoundRobin alternates over.
    """
    result = SimResult()
    arrivals = sorted(jobs, key=lambda job: (job.arrival, job.name))
    by_ref: dict[WorkloadRef, Job] = {}
    pending: dict[str, PendingWorkload] = {}
    completions: list[tuple[float, str, str, Resources]] = []  # (time, job, queue, requests)
    usage: dict[str, Resources] = {spec.name: Resources.ZERO for spec in queues}
    cursors: dict[str, str] = {}
    next_arrival = 0
    tenants = sorted({job.tenant for job in jobs})
    while next_arrival < len(arrivals) or pending:
        now = min(
            arrivals[next_arrival].arrival if next_arrival < len(arrivals) else float("inf"),
            completions[0][0] if completions else float("inf"),
        )
        if now == float("inf"):
            raise RuntimeError("jobs are waiting but nothing will ever free capacity for them")
        while next_arrival < len(arrivals) and arrivals[next_arrival].arrival <= now:
            job = arrivals[next_arrival]
            workload = _workload(job, queue=queue_for(job))
            pending[job.name] = workload
            by_ref[workload.ref] = job
            next_arrival += 1
        while completions and completions[0][0] <= now:
            _, _, queue, requests = heapq.heappop(completions)
            usage[queue] = usage[queue].saturating_sub(requests)
        started = time.perf_counter()
        plan = plan_admissions(
            Snapshot(
                queues=queues,
                cohort_capacity={"": capacity},
                pending=list(pending.values()),
                usage=usage,
                round_robin_cursors=cursors,
            )
        )
        result.planner_seconds += time.perf_counter() - started
        result.planner_calls += 1
        cursors = dict(plan.round_robin_cursors)
        for admission in plan.admissions:
            workload = admission.workload
            job = by_ref[workload.ref]
            del pending[job.name]
            usage[workload.queue] = usage[workload.queue] + workload.requests
            heapq.heappush(completions, (now + job.duration, job.name, workload.queue, workload.requests))
            result.records.append(JobRecord(job=job, admitted_at=now))
        waiting = {tenant: 0 for tenant in tenants}
        for workload in pending.values():
            waiting[workload.namespace] += 1
        result.backlog.append((now, waiting))
    return result


def _workload(job: Job, *, queue: str) -> PendingWorkload:
    return PendingWorkload(
        namespace=job.tenant,
        name=job.name,
        queue=queue,
        requests=job.requests,
        created_at=EPOCH + timedelta(seconds=job.arrival),
        expected_duration=None if job.expected_duration is None else timedelta(seconds=job.expected_duration),
    )
