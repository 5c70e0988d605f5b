"""Reading Pods and Jobs into queue workloads: requests, states, and what is not a workload."""

from __future__ import annotations

from typing import Any

import pytest

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, QUEUE_LABEL, SCHEDULING_GATE
from ebbtide.api.resources import Resources, pod_requests
from ebbtide.api.workloads import WorkloadState, job_requests, read_job, read_pod

GI = 1024**3


def container(cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": "c", "image": "pause", "resources": {"requests": requests}, **extra}


def pod(
    *,
    queue: str | None = "q",
    gates: tuple[str, ...] = (SCHEDULING_GATE,),
    annotations: dict[str, str] | None = None,
    phase: str = "Pending",
    node: str | None = None,
    owner_kind: str | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": "p",
        "namespace": "ns",
        "uid": "uid-p",
        "resourceVersion": "7",
        "creationTimestamp": "2024-05-01T12:00:00Z",
        "labels": {QUEUE_LABEL: queue} if queue else {},
        "annotations": annotations or {},
    }
    if owner_kind:
        metadata["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": owner_kind, "name": "j", "uid": "uid-j", "controller": True}
        ]
    body_spec = spec or {"containers": [container("1", "1Gi")]}
    body_spec = {**body_spec, "schedulingGates": [{"name": gate} for gate in gates]}
    if node:
        body_spec["nodeName"] = node
    return {"metadata": metadata, "spec": body_spec, "status": {"phase": phase}}


def job(
    *,
    suspend: bool,
    annotations: dict[str, str] | None = None,
    conditions: list[Any] | None = None,
    parallelism: int | None = 2,
    completions: int | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "suspend": suspend,
        "template": {"spec": {"containers": [container("500m", "256Mi")]}},
    }
    if parallelism is not None:
        spec["parallelism"] = parallelism
    if completions is not None:
        spec["completions"] = completions
    return {
        "metadata": {
            "name": "j",
            "namespace": "ns",
            "uid": "uid-j",
            "resourceVersion": "3",
            "creationTimestamp": "2024-05-01T12:00:00Z",
            "labels": {QUEUE_LABEL: "q"},
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": {"conditions": conditions or []},
    }


def test_pod_requests_add_containers_and_take_the_larger_of_init_and_running() -> None:
    spec = {
        "containers": [container("1", "1Gi"), container("500m", "512Mi")],
        "initContainers": [container("4", "256Mi")],
    }
    assert pod_requests(spec) == Resources(cpu_millis=4000, memory_bytes=GI + GI // 2)


def test_sidecars_run_beside_the_app_and_beside_later_init_containers() -> None:
    spec = {
        "containers": [container("1", "1Gi")],
        "initContainers": [container("250m", "128Mi", restartPolicy="Always"), container("2", "64Mi")],
        "overhead": {"cpu": "100m"},
    }
    # running: 1 + 0.25 (sidecar); init peak: 2 + 0.25; then the overhead on top.
    assert pod_requests(spec) == Resources(cpu_millis=2350, memory_bytes=GI + 128 * 1024**2)


def test_limits_stand_in_for_missing_requests_and_nothing_requested_counts_zero() -> None:
    spec = {"containers": [{"name": "c", "resources": {"limits": {"cpu": "2"}}}, {"name": "bare"}]}
    assert pod_requests(spec) == Resources(cpu_millis=2000, memory_bytes=0)


@pytest.mark.parametrize(
    ("parallelism", "completions", "pods"),
    [(2, None, 2), (None, None, 1), (4, 3, 3), (0, None, 0)],
    ids=["parallelism", "default one pod", "capped by completions", "zero parallelism"],
)
def test_job_requests_are_the_template_times_pods_running_at_once(
    parallelism: int | None, completions: int | None, pods: int
) -> None:
    spec = job(suspend=True, parallelism=parallelism, completions=completions)["spec"]
    assert job_requests(spec) == Resources(cpu_millis=500 * pods, memory_bytes=256 * 1024**2 * pods)


def test_a_gated_pod_is_pending_with_its_requests_and_creation_time() -> None:
    record = read_pod(pod()).workload
    assert record.state is WorkloadState.PENDING
    assert (record.kind, record.namespace, record.name, record.queue) == ("Pod", "ns", "p", "q")
    assert record.requests == Resources(1000, GI)
    assert record.created_at.isoformat() == "2024-05-01T12:00:00+00:00"


def test_other_controllers_gates_are_kept_in_order() -> None:
    record = read_pod(pod(gates=("a.io/first", SCHEDULING_GATE, "b.io/second"))).workload
    assert record.state is WorkloadState.PENDING
    assert record.other_gates == ("a.io/first", "b.io/second")


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (pod(gates=(), annotations={ADMITTED_AT: "2024-05-01T12:00:01.000000Z"}), WorkloadState.ADMITTED),
        (pod(gates=()), WorkloadState.UNMANAGED),
        (pod(gates=(), annotations={ADMITTED_AT: "x"}, phase="Succeeded"), WorkloadState.FINISHED),
        (pod(gates=("other.io/gate",)), WorkloadState.UNMANAGED),
    ],
    ids=["admitted", "ungated without admission", "finished", "only another gate"],
)
def test_pod_states(body: dict[str, Any], state: WorkloadState) -> None:
    assert read_pod(body).workload.state is state


def test_a_pod_being_deleted_while_gated_is_finished_not_pending() -> None:
    body = pod()
    body["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:05Z"
    assert read_pod(body).workload.state is WorkloadState.FINISHED


def test_a_pod_of_a_job_is_not_a_workload_but_remembers_its_job() -> None:
    record = read_pod(pod(gates=(), owner_kind="Job", node="n1", phase="Running"))
    assert record.workload.queue is None
    assert record.job_uid == "uid-j"
    assert record.active


def test_a_bound_unqueued_pod_holds_its_requests() -> None:
    record = read_pod(pod(queue=None, gates=(), node="n1", phase="Running"))
    assert record.active
    assert record.workload.requests == Resources(1000, GI)


def test_an_invalid_expected_duration_is_ignored_and_reported() -> None:
    record = read_pod(pod(annotations={"ebbtide.io/expected-duration": "soon"})).workload
    assert record.expected_duration is None
    assert record.problem is not None
    assert "soon" in record.problem


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (job(suspend=True), WorkloadState.PENDING),
        (job(suspend=True, annotations={ADMITTED_AT: "t"}), WorkloadState.PENDING),
        (job(suspend=False, annotations={ADMITTED_AT: "t"}), WorkloadState.ADMITTED),
        (job(suspend=False), WorkloadState.UNMANAGED),
        (
            job(
                suspend=False,
                annotations={ADMITTED_AT: "t"},
                conditions=[{"type": "Complete", "status": "True"}],
            ),
            WorkloadState.FINISHED,
        ),
        (
            job(
                suspend=False,
                annotations={ADMITTED_AT: "t"},
                conditions=[{"type": "Failed", "status": "True"}],
            ),
            WorkloadState.FINISHED,
        ),
    ],
    ids=[
        "suspended",
        "suspended again after admission",
        "admitted",
        "unsuspended without admission",
        "complete",
        "failed",
    ],
)
def test_job_states(body: dict[str, Any], state: WorkloadState) -> None:
    assert read_job(body).state is state


def test_a_queue_label_that_is_not_a_string_makes_the_workload_unreadable_not_the_cycle() -> None:
    body = pod()
    body["metadata"]["labels"] = {QUEUE_LABEL: [None]}
    record = read_pod(body).workload
    assert record.queue is None and record.state is WorkloadState.PENDING
    assert record.unreadable is not None and QUEUE_LABEL in record.unreadable
