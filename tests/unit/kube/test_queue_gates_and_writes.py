"""Holding back and letting go: the webhook's mutations, the admission patch, and what an
admission does when the object changed under it (409: re-read and decide again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from ebbtide.api.fairqueue_vocabulary import (
    ADMISSION_DECISION,
    ADMITTED_AT,
    QUEUE_LABEL,
    QUEUE_POSITION,
    SCHEDULING_GATE,
    WAITING_MESSAGE,
    WAITING_REASON,
)
from ebbtide.api.gates import admission_patch, gates_with_ours
from ebbtide.api.workloads import read_job, read_pod
from ebbtide.kube.workload_writes import AdmitResult, WorkloadWriter

NOW = datetime(2024, 5, 1, 12, 0, 1, 250000, tzinfo=UTC)


def pod_body(
    *,
    gates: tuple[str, ...] = (SCHEDULING_GATE,),
    rv: str = "10",
    queue: str = "q",
    admitted: bool = False,
    cpu: str = "1",
) -> dict[str, Any]:
    annotations = {ADMITTED_AT: "2024-05-01T12:00:00.000000Z"} if admitted else {}
    return {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "uid": "u",
            "resourceVersion": rv,
            "creationTimestamp": "2024-05-01T12:00:00Z",
            "labels": {QUEUE_LABEL: queue},
            "annotations": annotations,
        },
        "spec": {
            "schedulingGates": [{"name": gate} for gate in gates],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}],
        },
        "status": {"phase": "Pending"},
    }


def test_the_webhook_appends_its_gate_after_other_gates() -> None:
    body = pod_body(gates=("other.io/gate",))
    assert gates_with_ours(body) == [{"name": "other.io/gate"}, {"name": SCHEDULING_GATE}]


def test_the_webhook_leaves_a_pod_that_already_has_the_gate() -> None:
    assert gates_with_ours(pod_body()) is None


def test_the_webhook_never_gates_a_pod_a_job_controls() -> None:
    body = pod_body(gates=())
    body["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "j", "controller": True}
    ]
    assert gates_with_ours(body) is None


def test_admitting_a_pod_removes_only_its_gate_and_records_the_decision_on_the_version_read() -> None:
    record = read_pod(pod_body(gates=("a.io/x", SCHEDULING_GATE, "b.io/y"))).workload
    patch = admission_patch(record, decision={"queue": "q", "shareAfter": "0.5"}, now=NOW)
    assert patch["metadata"]["resourceVersion"] == "10"
    assert patch["spec"] == {"schedulingGates": [{"name": "a.io/x"}, {"name": "b.io/y"}]}
    annotations = patch["metadata"]["annotations"]
    assert annotations[ADMITTED_AT] == "2024-05-01T12:00:01.250000Z"
    assert json.loads(annotations[ADMISSION_DECISION]) == {"queue": "q", "shareAfter": "0.5"}
    assert {
        key: annotations[key] for key in (WAITING_REASON, WAITING_MESSAGE, QUEUE_POSITION)
    } == dict.fromkeys((WAITING_REASON, WAITING_MESSAGE, QUEUE_POSITION))


def test_admitting_a_pod_with_no_other_gate_removes_the_list() -> None:
    record = read_pod(pod_body()).workload
    assert admission_patch(record, decision={}, now=NOW)["spec"] == {"schedulingGates": None}


def test_admitting_a_job_unsuspends_it() -> None:
    body = {
        "metadata": {
            "name": "j",
            "namespace": "ns",
            "uid": "j",
            "resourceVersion": "4",
            "labels": {QUEUE_LABEL: "q"},
        },
        "spec": {"suspend": True, "template": {"spec": {"containers": []}}},
    }
    patch = admission_patch(read_job(body), decision={}, now=NOW)
    assert patch["spec"] == {"suspend": False}
    assert patch["metadata"]["resourceVersion"] == "4"


class FakePods:
    """A stand-in for CoreV1Api: answers patches from a script and reads from ``current``."""

    def __init__(
        self, *, patch_answers: list[Exception | dict[str, Any]], current: dict[str, Any] | None
    ) -> None:
        self.patch_answers = patch_answers
        self.current = current
        self.patches: list[dict[str, Any]] = []

    def patch_namespaced_pod(self, name: str, namespace: str, body: dict[str, Any], **_: Any) -> Any:
        self.patches.append(body)
        answer = self.patch_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(data=json.dumps(answer).encode())

    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        if self.current is None:
            raise ApiException(status=404, reason="Not Found")
        return SimpleNamespace(data=json.dumps(self.current).encode())


def writer_with(pods: FakePods) -> WorkloadWriter:
    writer = WorkloadWriter.__new__(WorkloadWriter)
    writer._core = pods  # type: ignore[assignment]
    writer._max_conflicts = 3
    return writer


def conflict() -> ApiException:
    return ApiException(status=409, reason="Conflict")


def test_a_write_that_lands_admits() -> None:
    pods = FakePods(patch_answers=[pod_body(gates=(), admitted=True, rv="11")], current=None)
    outcome = writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW)
    assert outcome.result is AdmitResult.ADMITTED
    assert outcome.record is not None
    assert outcome.record.admitted_at is not None


def test_a_conflict_with_an_admission_that_already_landed_writes_nothing_more() -> None:
    pods = FakePods(patch_answers=[conflict()], current=pod_body(gates=(), admitted=True, rv="11"))
    outcome = writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW)
    assert outcome.result is AdmitResult.ALREADY_ADMITTED
    assert len(pods.patches) == 1


def test_a_conflict_with_an_unrelated_change_retries_on_the_fresh_version() -> None:
    fresh = pod_body(rv="12")
    pods = FakePods(patch_answers=[conflict(), pod_body(gates=(), admitted=True, rv="13")], current=fresh)
    outcome = writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW)
    assert outcome.result is AdmitResult.ADMITTED
    assert [patch["metadata"]["resourceVersion"] for patch in pods.patches] == ["10", "12"]


@pytest.mark.parametrize(
    "fresh",
    [pod_body(rv="12", queue="other"), pod_body(rv="12", cpu="2")],
    ids=["moved to another queue", "asks for more"],
)
def test_a_conflict_with_a_change_that_matters_is_left_for_the_next_cycle(fresh: dict[str, Any]) -> None:
    pods = FakePods(patch_answers=[conflict()], current=fresh)
    outcome = writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW)
    assert outcome.result is AdmitResult.CHANGED
    assert len(pods.patches) == 1


def test_a_workload_deleted_meanwhile_is_gone() -> None:
    pods = FakePods(patch_answers=[conflict()], current=None)
    assert (
        writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW).result
        is AdmitResult.GONE
    )


def test_a_refused_write_is_raised_not_retried() -> None:
    pods = FakePods(patch_answers=[ApiException(status=422, reason="Invalid")], current=None)
    with pytest.raises(ApiException):
        writer_with(pods).admit(read_pod(pod_body()).workload, decision={}, now=NOW)
    assert len(pods.patches) == 1
