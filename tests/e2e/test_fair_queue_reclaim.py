"""Preemption on the real test bed: reclaim within a cohort, across a restart, and time slices.

Two queues weighted 1:3 share a cohort of 20 cpu; every workload asks for 1 cpu (1/20 of it).
The lighter queue's work arrives first (a ReplicaSet's pods and Jobs that never end), then the
heavier queue's, interleaved, so the first 20 admissions go mostly to the lighter queue and,
without preemption, that split would stay for good.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client
from tests.e2e.test_fair_queue import (
    AdmissionRecorder,
    Queues,
    annotations,
    events_for,
    fair_queue_operator,
    job_manifest,
    operator,
    queues,
)
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import eventually

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, PREEMPTED_AT, PREEMPTION, QUEUE_LABEL, REQUEUED_AT

__all__ = ["fair_queue_operator", "operator", "queues"]  # fixtures used by name

pytestmark = pytest.mark.e2e

CAPACITY = {"cpu": "20", "memory": "64Gi"}
FOREVER = "1000h"  # KWOK ends a Job's pod after its simulated duration: never, within a test
RECLAIM = {"reclaimWithinCohort": "LowerShare", "podPreemption": "Allowed"}


def replica_set(name: str, *, queue: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name, QUEUE_LABEL: queue}
    container = {
        "name": "serve",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": "1", "memory": "256Mi"}},
    }
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def admitted_cpu(cluster: E2ECluster, namespace: str) -> dict[str, int]:
    """Admitted workloads per queue (each asks for 1 cpu): unsuspended Jobs and ungated pods
    that carry an admission."""
    held: dict[str, int] = {}
    for job in cluster.batch.list_namespaced_job(namespace).items:
        if not job.spec.suspend and ADMITTED_AT in annotations(job):
            queue = job.metadata.labels[QUEUE_LABEL]
            held[queue] = held.get(queue, 0) + 1
    for pod in cluster.core.list_namespaced_pod(namespace).items:
        queue = (pod.metadata.labels or {}).get(QUEUE_LABEL)
        if (
            queue
            and not pod.spec.scheduling_gates
            and ADMITTED_AT in annotations(pod)
            and not pod.metadata.deletion_timestamp
        ):
            held[queue] = held.get(queue, 0) + 1
    return held


def submit_staggered(cluster: E2ECluster, namespace: str, *, light: str, heavy: str) -> None:
    """light: 6 ReplicaSet pods, then 10 Jobs; heavy: 20 Jobs and 4 ReplicaSet pods, interleaved
    with light's Jobs, about a quarter of a second apart."""
    cluster.apps.create_namespaced_replica_set(namespace, replica_set("light-rs", queue=light, replicas=6))
    for index in range(20):
        if index < 10:
            cluster.batch.create_namespaced_job(
                namespace, job_manifest(f"light-{index:02d}", queue=light, duration=FOREVER)
            )
        cluster.batch.create_namespaced_job(
            namespace, job_manifest(f"heavy-{index:02d}", queue=heavy, duration=FOREVER)
        )
        time.sleep(0.25)
    cluster.apps.create_namespaced_replica_set(namespace, replica_set("heavy-rs", queue=heavy, replicas=4))


def on_weights(cluster: E2ECluster, namespace: str, light: str, heavy: str) -> dict[str, int] | None:
    held = admitted_cpu(cluster, namespace)
    # 1:3 of 20 is 5:15; within one workload.
    return held if abs(held.get(light, 0) - 5) <= 1 and abs(held.get(heavy, 0) - 15) <= 1 else None


def preempted_jobs(cluster: E2ECluster, namespace: str) -> list[client.V1Job]:
    return [
        job for job in cluster.batch.list_namespaced_job(namespace).items if PREEMPTED_AT in annotations(job)
    ]


def test_reclaim_converges_admitted_capacity_to_the_weights(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    light = queues.create("light", weight=1, capacity=CAPACITY, preemption=RECLAIM)
    heavy = queues.create("heavy", weight=3, capacity=CAPACITY, preemption=RECLAIM)
    submit_staggered(cluster, namespace, light=light, heavy=heavy)
    # Both queues are backlogged from here on: 16 + 24 workloads for 20 cpu.
    held = eventually(
        lambda: on_weights(cluster, namespace, light, heavy),
        timeout=120,
        every=1,
        what="admitted capacity to converge to 1:3",
    )
    assert sum(held.values()) <= 20

    victims = preempted_jobs(cluster, namespace)
    assert victims, "light held more than its share: some of its Jobs must have been taken back"
    for job in victims:
        assert job.metadata.labels[QUEUE_LABEL] == light
        note = json.loads(annotations(job)[PREEMPTION])
        assert note["reason"] == "Reclaimed"
        assert note["message"].startswith(f"reclaimed by {heavy}: ")
    job = victims[0]
    eventually(
        lambda: events_for(cluster, namespace, job.metadata.name).get("Preempted") == "Normal",
        what="a Preempted event on a reclaimed Job",
    )
    # Nothing is lost: every Job is still there, and the ReplicaSet keeps its pods (gated again).
    assert len(cluster.batch.list_namespaced_job(namespace).items) == 30
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="app=light-rs").items
    assert len([pod for pod in pods if not pod.metadata.deletion_timestamp]) == 6
    status = queues.read(light)["status"]
    assert status.get("preempted", 0) >= 1
    assert queues.read(heavy)["status"].get("reclaimed", 0) >= 1


def test_without_reclaim_nothing_is_preempted(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    light = queues.create("light", weight=1, capacity=CAPACITY)
    heavy = queues.create("heavy", weight=3, capacity=CAPACITY)
    fill_with_light(cluster, namespace, light=light)
    submit_heavy(cluster, namespace, heavy=heavy)

    def seen() -> bool:
        status = queues.read(heavy).get("status", {})
        return status.get("pending") == 16

    eventually(seen, timeout=120, every=1, what="heavy's backlog to be seen")
    for _ in range(3):  # a few more cycles (the operator resyncs); still nothing taken back
        time.sleep(5)
        assert preempted_jobs(cluster, namespace) == []
        assert admitted_cpu(cluster, namespace) == {light: 20}


def fill_with_light(cluster: E2ECluster, namespace: str, *, light: str) -> None:
    """light fills the whole cohort first (6 ReplicaSet pods, 14 Jobs), so that heavy can only
    get capacity by taking it back."""
    cluster.apps.create_namespaced_replica_set(namespace, replica_set("light-rs", queue=light, replicas=6))
    for index in range(14):
        cluster.batch.create_namespaced_job(
            namespace, job_manifest(f"light-{index:02d}", queue=light, duration=FOREVER)
        )
    eventually(
        lambda: admitted_cpu(cluster, namespace).get(light) == 20,
        timeout=120,
        what="light to fill the cohort",
    )


def submit_heavy(cluster: E2ECluster, namespace: str, *, heavy: str) -> None:
    for index in range(16):
        cluster.batch.create_namespaced_job(
            namespace, job_manifest(f"heavy-{index:02d}", queue=heavy, duration=FOREVER)
        )
        time.sleep(0.25)


class PreemptionRecorder(AdmissionRecorder):
    """Every distinct admitted-at and preempted-at value each Job had."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        super().__init__(cluster, namespace)
        self.preempted: dict[str, set[str]] = {}

    def _record(self, metadata: dict[str, Any]) -> None:
        super()._record(metadata)
        value = (metadata.get("annotations") or {}).get(PREEMPTED_AT)
        if value is not None:
            self.preempted.setdefault(metadata.get("name", ""), set()).add(value)


def test_a_restart_in_the_middle_of_a_reclaim_loses_nothing_and_admits_no_job_twice(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    light = queues.create("light", weight=1, capacity=CAPACITY, preemption=RECLAIM)
    heavy = queues.create("heavy", weight=3, capacity=CAPACITY, preemption=RECLAIM)
    with PreemptionRecorder(cluster, namespace) as recorder:
        fill_with_light(cluster, namespace, light=light)
        submit_heavy(cluster, namespace, heavy=heavy)
        eventually(lambda: preempted_jobs(cluster, namespace), timeout=120, what="a first reclaim")
        operator.kill()
        operator.start()
        eventually(
            lambda: on_weights(cluster, namespace, light, heavy),
            timeout=120,
            every=1,
            what="admitted capacity to converge to 1:3 after the restart",
        )
        eventually(
            lambda: all(
                recorder.values.get(job.metadata.name)
                for job in cluster.batch.list_namespaced_job(namespace).items
                if ADMITTED_AT in annotations(job)
            ),
            what="the watch to see every admission",
        )

    assert len(cluster.batch.list_namespaced_job(namespace).items) == 30
    for name, admissions in recorder.values.items():
        # A Job is admitted again only after a preemption ended its previous admission.
        assert len(admissions) <= 1 + len(recorder.preempted.get(name, ())), name
    assert sum(admitted_cpu(cluster, namespace).values()) <= 20


def test_a_time_slice_suspends_a_workload_that_used_its_quantum_and_resumes_it_later(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create(
        "sliced", capacity={"cpu": "2", "memory": "8Gi"}, order="TimeSlice", timeSlice="10s"
    )
    names = [f"turn-{index}" for index in range(3)]
    for name in names:
        cluster.batch.create_namespaced_job(namespace, job_manifest(name, queue=queue, duration=FOREVER))
        time.sleep(0.5)
    first = names[0]
    suspended = eventually(
        lambda: (
            PREEMPTED_AT in annotations(job := cluster.batch.read_namespaced_job(first, namespace))
            and job.spec.suspend
            and job
        ),
        timeout=120,
        what="the first Job to yield once its quantum is used",
    )
    assert json.loads(annotations(suspended)[PREEMPTION])["reason"] == "TimeSliceExpired"
    assert REQUEUED_AT in annotations(suspended)
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.batch.read_namespaced_job(names[2], namespace)),
        what="the waiting Job to get the capacity",
    )
    preempted_at = annotations(suspended)[PREEMPTED_AT]
    eventually(
        lambda: (
            not (job := cluster.batch.read_namespaced_job(first, namespace)).spec.suspend
            and annotations(job)[ADMITTED_AT] > preempted_at
        ),
        timeout=120,
        what="the first Job to be resumed at its next turn",
    )
