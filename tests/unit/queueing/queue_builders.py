"""Small fluent builders for queueing tests: ``queue("a").weight(2)``, ``job("j1").cpu(2)``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ebbtide.api.duration import parse_duration
from ebbtide.api.resources import Resources
from ebbtide.queueing import PendingWorkload, QueueOrder, QueueSpec, ResourceLimit, Snapshot, plan_admissions

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GI = 1024**3


def cores(cpu: float, memory_gi: float = 0) -> Resources:
    return Resources.from_quantities(cpu_cores=cpu, memory_bytes=memory_gi * GI)


@dataclass(frozen=True)
class QueueBuilder:
    spec: QueueSpec

    def weight(self, weight: float) -> QueueBuilder:
        return QueueBuilder(replace(self.spec, weight=weight))

    def order(self, order: QueueOrder) -> QueueBuilder:
        return QueueBuilder(replace(self.spec, order=order))

    def cohort(self, cohort: str) -> QueueBuilder:
        return QueueBuilder(replace(self.spec, cohort=cohort))

    def guaranteed(self, cpu: float = 0, memory_gi: float = 0) -> QueueBuilder:
        return QueueBuilder(replace(self.spec, guaranteed=cores(cpu, memory_gi)))

    def limit(self, cpu: float | None = None, memory_gi: float | None = None) -> QueueBuilder:
        limit = ResourceLimit.from_quantities(
            cpu_cores=cpu, memory_bytes=None if memory_gi is None else memory_gi * GI
        )
        return QueueBuilder(replace(self.spec, limit=limit))

    def namespaces(self, *names: str) -> QueueBuilder:
        return QueueBuilder(replace(self.spec, allowed_namespaces=frozenset(names)))

    def build(self) -> QueueSpec:
        return self.spec


def queue(name: str) -> QueueBuilder:
    return QueueBuilder(QueueSpec(name=name))


@dataclass(frozen=True)
class JobBuilder:
    workload: PendingWorkload

    def in_queue(self, name: str) -> JobBuilder:
        return JobBuilder(replace(self.workload, queue=name))

    def namespace(self, namespace: str) -> JobBuilder:
        return JobBuilder(replace(self.workload, namespace=namespace))

    def requests(self, cpu: float = 0, memory_gi: float = 0) -> JobBuilder:
        return JobBuilder(replace(self.workload, requests=cores(cpu, memory_gi)))

    def created(self, seconds: float) -> JobBuilder:
        return JobBuilder(replace(self.workload, created_at=T0 + timedelta(seconds=seconds)))

    def priority(self, priority: int) -> JobBuilder:
        return JobBuilder(replace(self.workload, priority=priority))

    def expected(self, duration: str) -> JobBuilder:
        return JobBuilder(replace(self.workload, expected_duration=parse_duration(duration)))

    def kind(self, kind: str) -> JobBuilder:
        return JobBuilder(replace(self.workload, kind=kind))

    def build(self) -> PendingWorkload:
        return self.workload


def job(name: str) -> JobBuilder:
    """A 1-cpu workload in queue ``q`` and namespace ``default``, created at T0."""
    return JobBuilder(
        PendingWorkload(namespace="default", name=name, queue="q", requests=cores(1), created_at=T0)
    )


@dataclass
class SnapshotBuilder:
    queues: list[QueueSpec] = field(default_factory=list)
    capacity: dict[str, Resources] = field(default_factory=dict)
    pending: list[PendingWorkload] = field(default_factory=list)
    usage: dict[str, Resources] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)

    def with_queues(self, *queues: QueueBuilder | QueueSpec) -> SnapshotBuilder:
        self.queues += [q.build() if isinstance(q, QueueBuilder) else q for q in queues]
        return self

    def with_capacity(self, cpu: float, memory_gi: float = 1024, cohort: str = "") -> SnapshotBuilder:
        self.capacity[cohort] = cores(cpu, memory_gi)
        return self

    def with_pending(self, *jobs: JobBuilder | PendingWorkload) -> SnapshotBuilder:
        self.pending += [j.build() if isinstance(j, JobBuilder) else j for j in jobs]
        return self

    def with_usage(self, queue_name: str, cpu: float, memory_gi: float = 0) -> SnapshotBuilder:
        self.usage[queue_name] = cores(cpu, memory_gi)
        return self

    def with_cursor(self, queue_name: str, namespace: str) -> SnapshotBuilder:
        self.cursors[queue_name] = namespace
        return self

    def build(self) -> Snapshot:
        return Snapshot(
            queues=tuple(self.queues),
            cohort_capacity=dict(self.capacity),
            pending=tuple(self.pending),
            usage=dict(self.usage),
            round_robin_cursors=dict(self.cursors),
        )


def snapshot() -> SnapshotBuilder:
    return SnapshotBuilder()


def admitted_names(snap: Snapshot) -> list[str]:
    return [admission.workload.name for admission in plan_admissions(snap).admissions]
