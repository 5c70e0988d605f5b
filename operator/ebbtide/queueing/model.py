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
from typing import Final, NamedTuple

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


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One FairQueue's policy.

    ``weight`` must be finite and >= 0 (the API rejects 0; the planner treats a zero-weight
    queue as best-effort, see :mod:`ebbtide.queueing.entitlement`). ``guaranteed`` counts a
    resource left out as zero; ``limit`` leaves a resource left out unbounded.
    ``allowed_namespaces`` is the namespace selector already resolved to names; ``None``
    admits every namespace.
    """

    name: str
    weight: float = 1.0
    order: QueueOrder = QueueOrder.FIFO
    cohort: str = DEFAULT_COHORT
    guaranteed: Resources = Resources.ZERO
    limit: ResourceLimit = ResourceLimit.UNLIMITED
    allowed_namespaces: frozenset[str] | None = None

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
    workload is never admitted.
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
