"""The planner's inputs: plain frozen values describing queues, workloads and the cluster.

A controller builds these from the API objects (``FairQueue``, pods, Jobs); tests and the
benchmarks build them directly. Nothing here knows about Kubernetes clients.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Final, NamedTuple

from ebbtide.api.fairqueue_vocabulary import StopPolicy
from ebbtide.api.resources import Resources
from ebbtide.queueing.resources import ResourceLimit

DEFAULT_COHORT: Final = ""
"""The cohort of queues that name none: the whole cluster."""


class QueueOrder(StrEnum):
    """The order of workloads *within* one queue (see :mod:`ebbtide.queueing.orders`)."""

    FIFO = "FIFO"
    ROUND_ROBIN = "RoundRobin"
    SHORTEST_JOB_FIRST = "ShortestJobFirst"
    PRIORITY = "Priority"
    TIME_SLICE = "TimeSlice"


@dataclass(frozen=True, slots=True)
class PreemptionPolicy:
    """When a queue's admitted workloads may be preempted (see :mod:`ebbtide.queueing.preemption`).

    ``reclaim``: the queue, below its entitlement with waiting work, takes capacity back from
    queues above theirs. ``by_priority``: a waiting workload may preempt lower-priority admitted
    workloads of its own queue. ``min_runtime``: no workload of the queue is preempted before it
    has run this long. ``pods``: bare pods of the queue may be preempted (deleted); otherwise
    only Jobs are. The default preempts nothing.
    """

    reclaim: bool = False
    by_priority: bool = False
    min_runtime: timedelta = timedelta(0)
    pods: bool = False

    NEVER: ClassVar[PreemptionPolicy]

    def allows(self, victim: RunningWorkload, *, now: datetime) -> bool:
        """``victim`` (of this queue) may be preempted now: a Job, or a pod when pods may be,
        that has run for at least the minimum runtime."""
        if victim.kind != "Job" and not self.pods:
            return False
        return now - victim.admitted_at >= max(self.min_runtime, timedelta(0))


PreemptionPolicy.NEVER = PreemptionPolicy()


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One FairQueue's policy.

    ``weight`` must be finite and >= 0 (the API rejects 0; the planner treats a zero-weight
    queue as best-effort, see :mod:`ebbtide.queueing.entitlement`). ``guaranteed`` counts a
    resource left out as zero; ``limit`` leaves a resource left out unbounded.
    ``allowed_namespaces`` is the namespace selector already resolved to names; ``None``
    admits every namespace. ``time_slice`` is the quantum of the TimeSlice order (``None`` for
    the other orders). ``stop_policy`` holds the queue's admissions (Hold) and drains its
    admitted workloads too (HoldAndDrain).
    """

    name: str
    weight: float = 1.0
    order: QueueOrder = QueueOrder.FIFO
    cohort: str = DEFAULT_COHORT
    guaranteed: Resources = Resources.ZERO
    limit: ResourceLimit = ResourceLimit.UNLIMITED
    allowed_namespaces: frozenset[str] | None = None
    preemption: PreemptionPolicy = PreemptionPolicy.NEVER
    time_slice: timedelta | None = None
    stop_policy: StopPolicy = StopPolicy.NONE

    @property
    def stopped(self) -> bool:
        """The queue's stop policy holds its admissions."""
        return self.stop_policy is not StopPolicy.NONE

    def allows_namespace(self, namespace: str) -> bool:
        return self.allowed_namespaces is None or namespace in self.allowed_namespaces


class WorkloadRef(NamedTuple):
    """Identifies a workload: a Job and a Pod may share a namespace and a name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class PendingWorkload:
    """A gated pod or suspended Job waiting for admission.

    ``created_at`` must be timezone-aware. ``expected_duration`` is the parsed
    ``ebbtide.io/expected-duration`` annotation (``None`` when absent); only
    ShortestJobFirst reads it. ``priority`` is the pod priority (higher runs first under
    the Priority order). ``unreadable`` says why the workload's object could not be read: such a
    workload is never admitted. ``queued_at`` is when it went back to the back of its queue at
    the end of a time slice (``None`` otherwise); only the TimeSlice order reads it.
    """

    namespace: str
    name: str
    queue: str
    requests: Resources
    created_at: datetime
    kind: str = "Pod"
    priority: int = 0
    expected_duration: timedelta | None = None
    unreadable: str | None = None
    queued_at: datetime | None = None

    @property
    def ref(self) -> WorkloadRef:
        return WorkloadRef(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class RunningWorkload:
    """An admitted, unfinished workload: what preemption may take back.

    ``admitted_at`` must be timezone-aware.
    """

    namespace: str
    name: str
    queue: str
    requests: Resources
    admitted_at: datetime
    kind: str = "Pod"
    priority: int = 0

    @property
    def ref(self) -> WorkloadRef:
        return WorkloadRef(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class AdmittedWorkload:
    """A workload admitted earlier, as needed to compute usage."""

    queue: str
    requests: Resources
    finished: bool = False


def usage_by_queue(admitted: Iterable[AdmittedWorkload]) -> dict[str, Resources]:
    """Sum the requests of admitted workloads per queue, skipping finished ones.

    A queue's usage counts only admitted-and-not-finished workloads: a completed Job or a
    pod in phase Succeeded/Failed no longer holds capacity.
    """
    totals: defaultdict[str, Resources] = defaultdict(lambda: Resources.ZERO)
    for workload in admitted:
        if not workload.finished:
            totals[workload.queue] = totals[workload.queue] + workload.requests
    return dict(totals)


@dataclass(frozen=True)
class Snapshot:
    """Everything one planning cycle looks at.

    ``cohort_capacity`` maps each cohort to the capacity its queues share; a cohort missing
    from it has zero capacity. The capacity is what the queues may use between them, so
    anything running outside every queue must already be subtracted by the caller.
    ``usage`` maps queue names to the requests of their admitted, unfinished workloads
    (see :func:`usage_by_queue`); a queue missing from it uses nothing, and usage of a queue
    that no longer exists is ignored. ``round_robin_cursors`` maps a RoundRobin queue to the
    namespace it admitted from last (the plan returns the updated cursors).
    """

    queues: Sequence[QueueSpec]
    cohort_capacity: Mapping[str, Resources]
    pending: Sequence[PendingWorkload]
    usage: Mapping[str, Resources] = field(default_factory=dict)
    round_robin_cursors: Mapping[str, str] = field(default_factory=dict)
