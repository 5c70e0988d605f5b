"""A FairQueue's stopPolicy on the real test bed: Hold stops admissions and lets admitted work
run, HoldAndDrain also suspends the queue's Jobs, None admits everything again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.test_fair_queue import (
    Queues,
    annotations,
    fair_queue_operator,
    job_manifest,
    operator,
    queues,
)
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, PREEMPTION, WAITING_REASON

__all__ = ["fair_queue_operator", "operator", "queues"]  # fixtures used by name

pytestmark = pytest.mark.e2e

FOREVER = "1000h"


def set_stop_policy(cluster: E2ECluster, queue: str, policy: str) -> None:
    cluster.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, queue, {"spec": {"stopPolicy": policy}}
    )


def active(queues: Queues, queue: str) -> dict[str, Any]:
    conditions = (queues.read(queue).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Active"), {})


def running(cluster: E2ECluster, namespace: str, name: str) -> bool:
    job = cluster.batch.read_namespaced_job(name, namespace)
    return not job.spec.suspend and ADMITTED_AT in annotations(job)


def test_hold_then_drain_then_resume(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create("stoppable", capacity={"cpu": "4", "memory": "8Gi"})
    cluster.batch.create_namespaced_job(namespace, job_manifest("first", queue=queue, duration=FOREVER))
    eventually(lambda: running(cluster, namespace, "first"), what="the first Job admitted")

    set_stop_policy(cluster, queue, "Hold")
    eventually(lambda: active(queues, queue).get("reason") == "Stopped", what="Active=False, Stopped")
    assert active(queues, queue)["status"] == "False"
    cluster.batch.create_namespaced_job(namespace, job_manifest("second", queue=queue, duration=FOREVER))
    eventually(
        lambda: (
            annotations(cluster.batch.read_namespaced_job("second", namespace)).get(WAITING_REASON)
            == "QueueStopped"
        ),
        what="the second Job to wait for the held queue",
    )
    assert running(cluster, namespace, "first"), "Hold lets admitted work run"

    set_stop_policy(cluster, queue, "HoldAndDrain")
    drained = eventually(
        lambda: (job := cluster.batch.read_namespaced_job("first", namespace)).spec.suspend and job,
        what="the admitted Job suspended by the drain",
    )
    assert json.loads(annotations(drained)[PREEMPTION])["reason"] == "QueueDrained"
    assert not running(cluster, namespace, "second")

    set_stop_policy(cluster, queue, "None")
    eventually(
        lambda: running(cluster, namespace, "first") and running(cluster, namespace, "second"),
        what="both Jobs admitted once the queue admits again",
    )
    # Statuses go out in paced batches: the one after the admissions may be a few seconds behind.
    eventually(lambda: active(queues, queue).get("reason") == "Admitting", what="Active=True, Admitting")
