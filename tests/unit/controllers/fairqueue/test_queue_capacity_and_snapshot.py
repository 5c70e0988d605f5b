"""What a cohort may admit, and which workloads count where in a cycle's snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ebbtide.api import FairQueueSpec
from ebbtide.api.resources import NodeFacts, Resources
from ebbtide.api.workloads import PodRecord, WorkloadRecord, WorkloadState
from ebbtide.controllers.fairqueue.capacity import cohort_capacities, node_capacity
from ebbtide.controllers.fairqueue.records import QueueRecord
from ebbtide.controllers.fairqueue.snapshot import build_cycle_input
from ebbtide.controllers.fairqueue.store import StoreView
from ebbtide.queueing import WorkloadRef

GI = 1024**3


def fq(name: str, **spec: Any) -> QueueRecord:
    return QueueRecord(name=name, generation=1, spec=FairQueueSpec.model_validate(spec))


def node(name: str, cpu: int, *, schedulable: bool = True) -> NodeFacts:
    return NodeFacts(name=name, allocatable=Resources(cpu * 1000, 32 * GI), schedulable=schedulable)


def workload(
    name: str,
    *,
    queue: str | None,
    state: WorkloadState,
    cpu: int = 1,
    kind: str = "Pod",
    created: int = 0,
    uid: str | None = None,
) -> WorkloadRecord:
    return WorkloadRecord(
        kind=kind,
        uid=uid or f"uid-{name}",
        namespace="ns",
        name=name,
        resource_version="1",
        queue=queue,
        state=state,
        requests=Resources(cpu * 1000, GI),
        created_at=datetime(2024, 5, 1, 12, 0, created, tzinfo=UTC),
    )


def running(record: WorkloadRecord, *, job_uid: str | None = None) -> PodRecord:
    return PodRecord(workload=record, active=True, job_uid=job_uid)


def test_nodes_that_are_cordoned_or_not_ready_add_nothing() -> None:
    assert node_capacity([node("a", 8), node("b", 8, schedulable=False)]) == Resources(8000, 32 * GI)


def test_an_undeclared_cohort_gets_the_nodes_less_outside_pods_and_other_cohorts_usage() -> None:
    capacities = cohort_capacities(
        queues=[fq("a", cohort="x"), fq("b", cohort="y")],
        nodes_total=Resources(24000, 96 * GI),
        outside=Resources(2000, GI),
        usage_by_cohort={"x": Resources(3000, GI), "y": Resources(5000, 2 * GI)},
    )
    assert capacities["x"].capacity == Resources(17000, 93 * GI)
    assert capacities["y"].capacity == Resources(19000, 94 * GI)


def test_a_declared_capacity_is_the_smallest_any_queue_declares_whatever_runs_outside() -> None:
    capacities = cohort_capacities(
        queues=[
            fq("a", cohort="x", capacity={"cpu": "10"}),
            fq("b", cohort="x", capacity={"cpu": "8"}),
            fq("c", cohort="y"),
        ],
        nodes_total=Resources(24000, 96 * GI),
        outside=Resources(1000, GI),
        usage_by_cohort={"y": Resources(20000, 2 * GI)},
    )
    entry = capacities["x"]
    assert entry.capacity.cpu_millis == 8000  # a quota: neither outside pods nor cohort y count
    assert entry.capacity.memory_bytes == 93 * GI  # memory undeclared: the nodes, less what else runs
    assert (entry.declared_cpu, entry.declared_memory) == (True, False)


def test_capacity_never_goes_negative() -> None:
    capacities = cohort_capacities(
        queues=[fq("a")],
        nodes_total=Resources(1000, GI),
        outside=Resources(5000, 5 * GI),
        usage_by_cohort={},
    )
    assert capacities["default"].capacity == Resources.ZERO


def view(*, queues: list[QueueRecord], workloads: list[WorkloadRecord], pods: list[PodRecord]) -> StoreView:
    return StoreView(
        synced=True,
        queues={queue.name: queue for queue in queues},
        workloads=workloads,
        active_pods=pods,
        nodes=[node("n", 16)],
        namespaces={"ns": {}},
    )


def test_pending_workloads_go_to_the_planner_whatever_their_queue() -> None:
    pending = [
        workload("p1", queue="a", state=WorkloadState.PENDING),
        workload("p2", queue="nope", state=WorkloadState.PENDING),
    ]
    cycle = build_cycle_input(view(queues=[fq("a")], workloads=pending, pods=[]), cursors={})
    assert {item.name for item in cycle.snapshot.pending} == {"p1", "p2"}
    assert cycle.waiting_count == {"a": 1, "nope": 1}


def test_admitted_workloads_are_their_queues_usage_and_everything_else_running_is_outside() -> None:
    admitted_pod = workload("pod", queue="a", state=WorkloadState.ADMITTED, cpu=2)
    admitted_job = workload("job", queue="a", state=WorkloadState.ADMITTED, cpu=3, kind="Job", uid="job-uid")
    job_pod = workload("job-1", queue=None, state=WorkloadState.UNMANAGED, cpu=3)
    stranger = workload("web", queue=None, state=WorkloadState.UNMANAGED, cpu=1)
    bypassed = workload("early", queue="a", state=WorkloadState.UNMANAGED, cpu=4)
    cycle = build_cycle_input(
        view(
            queues=[fq("a")],
            workloads=[admitted_pod, admitted_job, bypassed],
            pods=[
                running(admitted_pod),
                running(job_pod, job_uid="job-uid"),
                running(stranger),
                running(bypassed),
            ],
        ),
        cursors={},
    )
    assert cycle.snapshot.usage == {"a": Resources(5000, 2 * GI)}
    assert cycle.running == {"a": 2}
    assert cycle.outside == Resources(5000, 2 * GI)  # the stranger and the pod that bypassed the queue
    assert cycle.snapshot.cohort_capacity == {"default": Resources(11000, 30 * GI)}


def test_a_workload_admitted_to_a_deleted_queue_runs_outside_the_queues() -> None:
    orphan = workload("orphan", queue="gone", state=WorkloadState.ADMITTED, cpu=2)
    cycle = build_cycle_input(view(queues=[fq("a")], workloads=[orphan], pods=[running(orphan)]), cursors={})
    assert cycle.snapshot.usage == {}
    assert cycle.outside == Resources(2000, GI)


def test_of_two_pending_objects_with_one_name_the_newer_is_the_workload() -> None:
    old = workload("p", queue="a", state=WorkloadState.PENDING, uid="old", created=1)
    new = workload("p", queue="a", state=WorkloadState.PENDING, uid="new", created=2)
    cycle = build_cycle_input(view(queues=[fq("a")], workloads=[new, old], pods=[]), cursors={})
    assert cycle.pending[WorkloadRef("Pod", "ns", "p")].uid == "new"
    assert len(cycle.snapshot.pending) == 1


def test_a_queue_whose_spec_was_refused_takes_no_part() -> None:
    broken = QueueRecord(name="b", generation=2, spec=None, error="weight: must be greater than 0")
    pending = [workload("p", queue="b", state=WorkloadState.PENDING)]
    cycle = build_cycle_input(view(queues=[fq("a"), broken], workloads=pending, pods=[]), cursors={})
    assert [spec.name for spec in cycle.snapshot.queues] == ["a"]
    assert "b" in cycle.queues
