"""The controller's side of preemption: what it writes, and why a restart never preempts twice."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from test_queue_cycle import merge

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, PREEMPTED_AT, PREEMPTION, QUEUE_LABEL
from ebbtide.api.workloads import WorkloadRecord, read_job, read_pod
from ebbtide.controllers.fairqueue.reclaim import Preempter
from ebbtide.controllers.fairqueue.snapshot import build_cycle_input, pending_workload
from ebbtide.controllers.fairqueue.store import QueueStore
from ebbtide.controllers.fairqueue.waiting import note_for
from ebbtide.kube.preemption_writes import PreemptOutcome, PreemptResult
from ebbtide.queueing import WaitingWorkload, WaitReason, plan_admissions

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 1, 13, 0, 0, tzinfo=UTC)
CAPACITY = {"cpu": "4", "memory": "64Gi"}
RECLAIM = {"reclaimWithinCohort": "LowerShare"}


def queue(name: str, weight: float) -> dict[str, Any]:
    spec = {"weight": weight, "cohort": "c", "capacity": CAPACITY, "preemption": RECLAIM}
    return {"metadata": {"name": name, "generation": 1}, "spec": spec, "status": {}}


def job(name: str, *, queue: str, minute: int, admitted: bool) -> dict[str, Any]:
    annotations = {ADMITTED_AT: f"2024-05-01T12:{minute:02d}:00.000000Z"} if admitted else {}
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            "creationTimestamp": f"2024-05-01T11:{minute:02d}:00Z",
            "labels": {QUEUE_LABEL: queue},
            "annotations": annotations,
        },
        "spec": {
            "suspend": not admitted,
            "template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}},
        },
    }


class FakeApi:
    """Jobs as the API server keeps them; the PreemptionWriter, event recorder and status writer."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = {obj["metadata"]["name"]: obj for obj in jobs}
        self.patches: list[tuple[str, Mapping[str, Any]]] = []
        self.events: list[tuple[str, str, str]] = []
        self.counts: dict[str, Mapping[str, object]] = {}

    def preempt(self, workload: WorkloadRecord, *, patch: Mapping[str, Any]) -> PreemptOutcome:
        self.patches.append((workload.name, patch))
        obj = self.jobs[workload.name]
        merge(obj, patch)
        return PreemptOutcome(PreemptResult.PREEMPTED, read_job(obj))

    def delete_pod(self, workload: WorkloadRecord) -> PreemptOutcome:
        self.patches.append((workload.name, {"delete": True}))
        return PreemptOutcome(PreemptResult.PREEMPTED, None)

    def record(self, workload: WorkloadRecord, *, type_: str, reason: str, message: str) -> None:
        self.events.append((workload.name, reason, message))

    def write_counts(self, name: str, status: Mapping[str, object]) -> bool:
        self.counts[name] = dict(status)
        return True


def store_of(api: FakeApi, *, pods: list[dict[str, Any]] = ()) -> QueueStore:  # type: ignore[assignment]
    store = QueueStore()
    store.replace_queues([queue("light", 1), queue("heavy", 3)])
    store.replace_jobs(copy.deepcopy(list(api.jobs.values())))
    store.replace_pods(copy.deepcopy(list(pods)))
    store.replace_nodes([])
    store.replace_namespaces([{"metadata": {"name": "ns"}}])
    return store


def run(api: FakeApi, store: QueueStore) -> int:
    preempter = Preempter(
        store=store,
        writer=api,  # type: ignore[arg-type]
        events=api,  # type: ignore[arg-type]
        write_counts=api.write_counts,
        clock=lambda: NOW,
    )
    view = store.view()
    cycle_input = build_cycle_input(view, cursors={})
    return preempter.run(view=view, cycle_input=cycle_input, plan=plan_admissions(cycle_input.snapshot))


def light_holds_the_cohort() -> FakeApi:
    jobs = [job(f"light-{i}", queue="light", minute=i, admitted=True) for i in range(4)]
    jobs += [job(f"heavy-{i}", queue="heavy", minute=10 + i, admitted=False) for i in range(4)]
    return FakeApi(jobs)


def test_reclaim_suspends_the_newest_jobs_of_the_queue_above_its_share_and_records_why() -> None:
    api = light_holds_the_cohort()
    assert run(api, store_of(api)) == 3  # 1:3 of 4 cpu
    assert [name for name, _ in api.patches] == ["light-3", "light-2", "light-1"]
    _, patch = api.patches[0]
    assert patch["spec"] == {"suspend": True}
    assert patch["metadata"]["resourceVersion"] == "7"
    note = json.loads(patch["metadata"]["annotations"][PREEMPTION])
    assert note["admittedAt"] == "2024-05-01T12:03:00.000000Z"
    assert note["message"].startswith("reclaimed by heavy: 0.00 of its 0.75 share")
    assert PREEMPTED_AT in patch["metadata"]["annotations"]
    assert {reason for _, reason, _ in api.events} == {"Preempted"}
    assert api.counts == {"light": {"preempted": 3}, "heavy": {"reclaimed": 3}}


def test_a_restart_while_suspended_jobs_still_have_pods_preempts_nothing_more() -> None:
    api = light_holds_the_cohort()
    run(api, store_of(api))
    # A new operator: the suspended Jobs' pods are still terminating, and light's last Job,
    # admitted again meanwhile, would look like a candidate on a view that ignored them.
    still_running = [
        {
            "metadata": {
                "name": f"light-{i}-pod",
                "namespace": "ns",
                "uid": f"pod-{i}",
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": f"light-{i}",
                        "uid": f"uid-light-{i}",
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "nodeName": "n1",
                "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}],
            },
            "status": {"phase": "Running"},
        }
        for i in (1, 2, 3)
    ]
    fresh = FakeApi(list(api.jobs.values()))
    assert run(fresh, store_of(fresh, pods=still_running)) == 0
    assert fresh.patches == []


def test_a_pod_marked_before_a_restart_is_deleted_not_chosen_again() -> None:
    api = FakeApi([job(f"heavy-{i}", queue="heavy", minute=10 + i, admitted=False) for i in range(2)])
    admitted_at = "2024-05-01T12:00:00.000000Z"
    marked = {
        "metadata": {
            "name": "light-pod",
            "namespace": "ns",
            "uid": "pod-uid",
            "creationTimestamp": "2024-05-01T11:00:00Z",
            "labels": {QUEUE_LABEL: "light"},
            "annotations": {
                ADMITTED_AT: admitted_at,
                PREEMPTED_AT: "2024-05-01T12:59:00.000000Z",
                PREEMPTION: json.dumps({"reason": "Reclaimed", "admittedAt": admitted_at}),
            },
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
        "status": {"phase": "Running"},
    }
    assert read_pod(marked).workload.preempted_at
    assert run(api, store_of(api, pods=[marked])) == 0
    assert api.patches == [("light-pod", {"delete": True})]


def test_a_preempted_workload_says_who_took_its_capacity_while_it_waits() -> None:
    api = light_holds_the_cohort()
    run(api, store_of(api))
    record = read_job(api.jobs["light-3"])
    waiting = WaitingWorkload(
        workload=pending_workload(record),
        reason=WaitReason.WAITING_FOR_CAPACITY,
        message="needs cpu 1",
        queue_position=1,
        cohort_position=1,
    )
    assert note_for(waiting, record).message.startswith("needs cpu 1; preempted: reclaimed by heavy: 0.00 of")
