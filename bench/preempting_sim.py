"""A time-stepped cluster that admits *and preempts* through ebbtide's pure planners.

Unlike bench/queue_sim.py, work here may never end (a service, ``duration=inf``) and the run
stops at a horizon. Every ``tick`` seconds the simulator does what one operator cycle does:
finished jobs release their capacity, arrivals join their queue, the admission planner
(:func:`ebbtide.queueing.plan_admissions`) admits, and the preemption planner
(:func:`ebbtide.queueing.plan_preemptions`) takes workloads back, which go back to their
queue at once (a time slice sends its victim to the back; a reclaimed Job keeps its place).

A preempted job loses what it ran since its last checkpoint (``checkpoint`` seconds apart;
``None``: it never checkpoints and starts over), which the result reports as lost work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ebbtide.api.fairqueue_vocabulary import PreemptionReason
from ebbtide.api.resources import Resources
from ebbtide.queueing import (
    PendingWorkload,
    QueueSpec,
    RunningWorkload,
    Snapshot,
    plan_admissions,
    plan_preemptions,
)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LongJob:
    """A job of ``tenant`` arriving at ``arrival`` that needs ``duration`` seconds of running
    (``inf`` for a service that never ends)."""

    name: str
    tenant: str
    arrival: float
    duration: float
    requests: Resources


@dataclass
class JobProgress:
    job: LongJob
    done: float = 0.0  # seconds of work kept (checkpointed or never interrupted)
    admitted_at: float | None = None
    queued_at: float | None = None


@dataclass
class PreemptingResult:
    """``usage``: (time, tenant -> cpu millicores held) after every cycle; ``waiting``: the
    same instants, tenant -> jobs waiting; ``preemptions``: (time, reason); ``lost_cpu_seconds``:
    work thrown away by preemption."""

    usage: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    waiting: list[dict[str, int]] = field(default_factory=list)
    preemptions: list[tuple[float, str]] = field(default_factory=list)
    lost_cpu_seconds: float = 0.0
    delivered_cpu_seconds: float = 0.0
    completed: int = 0
    planner_seconds: float = 0.0


def simulate_preempting(
    *,
    jobs: Sequence[LongJob],
    capacity: Resources,
    queues: Sequence[QueueSpec],
    queue_for: Callable[[LongJob], str],
    horizon: float,
    tick: float = 10.0,
    checkpoint: float | None = None,
) -> PreemptingResult:
    """Run ``jobs`` for ``horizon`` seconds, one cycle every ``tick`` seconds."""
    result = PreemptingResult()
    arrivals = sorted(jobs, key=lambda job: (job.arrival, job.name))
    progress = {job.name: JobProgress(job) for job in jobs}
    pending: set[str] = set()
    running: set[str] = set()
    tenants = sorted({job.tenant for job in jobs})
    next_arrival = 0
    now = 0.0
    cursors: dict[str, str] = {}
    while now <= horizon:
        for name in sorted(running):
            state = progress[name]
            assert state.admitted_at is not None
            if now - state.admitted_at + state.done >= state.job.duration:
                running.discard(name)
                result.completed += 1
                result.delivered_cpu_seconds += (state.job.duration - state.done) * _cores(state.job)
        while next_arrival < len(arrivals) and arrivals[next_arrival].arrival <= now:
            pending.add(arrivals[next_arrival].name)
            next_arrival += 1
        snapshot = Snapshot(
            queues=queues,
            cohort_capacity={"": capacity},
            pending=[_pending(progress[name], queue_for) for name in sorted(pending)],
            usage=_usage(progress, running, queue_for),
            round_robin_cursors=cursors,
        )
        started = time.perf_counter()
        plan = plan_admissions(snapshot)
        cursors = dict(plan.round_robin_cursors)
        runs = [_running(progress[name], queue_for) for name in sorted(running)]
        runs += [_as_running(admission.workload, now) for admission in plan.admissions]
        taken = plan_preemptions(
            snapshot,
            running=runs,
            now=EPOCH + timedelta(seconds=now),
            admitted=[a.workload for a in plan.admissions],
        )
        result.planner_seconds += time.perf_counter() - started
        for admission in plan.admissions:
            name = admission.workload.name
            pending.discard(name)
            running.add(name)
            progress[name].admitted_at = now
        for preemption in taken:
            name = preemption.victim.name
            state = progress[name]
            assert state.admitted_at is not None
            ran = now - state.admitted_at
            kept = 0.0 if checkpoint is None else (ran // checkpoint) * checkpoint
            result.lost_cpu_seconds += (ran - kept) * _cores(state.job)
            result.delivered_cpu_seconds += kept * _cores(state.job)
            state.done += kept
            state.admitted_at = None
            if preemption.reason is PreemptionReason.TIME_SLICE_EXPIRED:
                state.queued_at = now
            running.discard(name)
            pending.add(name)
            result.preemptions.append((now, str(preemption.reason)))
        held = {tenant: 0 for tenant in tenants}
        for name in running:
            held[progress[name].job.tenant] += progress[name].job.requests.cpu_millis
        waiting = {tenant: 0 for tenant in tenants}
        for name in pending:
            waiting[progress[name].job.tenant] += 1
        result.usage.append((now, held))
        result.waiting.append(waiting)
        now += tick
    for name in running:
        state = progress[name]
        assert state.admitted_at is not None
        result.delivered_cpu_seconds += (horizon - state.admitted_at) * _cores(state.job)
    return result


def _cores(job: LongJob) -> float:
    return job.requests.cpu_millis / 1000


def _pending(state: JobProgress, queue_for: Callable[[LongJob], str]) -> PendingWorkload:
    job = state.job
    remaining = job.duration - state.done
    return PendingWorkload(
        namespace=job.tenant,
        name=job.name,
        queue=queue_for(job),
        requests=job.requests,
        created_at=EPOCH + timedelta(seconds=job.arrival),
        kind="Job",
        expected_duration=None if remaining == float("inf") else timedelta(seconds=remaining),
        queued_at=None if state.queued_at is None else EPOCH + timedelta(seconds=state.queued_at),
    )


def _running(state: JobProgress, queue_for: Callable[[LongJob], str]) -> RunningWorkload:
    assert state.admitted_at is not None
    return RunningWorkload(
        namespace=state.job.tenant,
        name=state.job.name,
        queue=queue_for(state.job),
        requests=state.job.requests,
        admitted_at=EPOCH + timedelta(seconds=state.admitted_at),
        kind="Job",
    )


def _as_running(workload: PendingWorkload, now: float) -> RunningWorkload:
    return RunningWorkload(
        namespace=workload.namespace,
        name=workload.name,
        queue=workload.queue,
        requests=workload.requests,
        admitted_at=EPOCH + timedelta(seconds=now),
        kind=workload.kind,
    )


def _usage(
    progress: dict[str, JobProgress], running: set[str], queue_for: Callable[[LongJob], str]
) -> dict[str, Resources]:
    usage: dict[str, Resources] = {}
    for name in running:
        job = progress[name].job
        queue = queue_for(job)
        usage[queue] = usage.get(queue, Resources.ZERO) + job.requests
    return usage
