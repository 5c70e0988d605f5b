"""One bad object harms only itself, on the real test bed: a handful of hostile Pods and Jobs (an
absurdly long, a unicode and a 200 KB expected duration, requests larger than the cluster, a
queue that does not exist, a forged admission, an owner reference to a Job that is not there, a
Job of parallelism 0, a pod deleted as soon as it is made) wait in the queues beside well-formed
work, and the operator is killed and started again with all of them present. Every well-formed
workload is admitted; each hostile one is admitted as if the bad field were absent, or carries its
waiting reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.test_fair_queue import Queues, annotations, job_manifest, pod_manifest, wait_for_webhook
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually

from ebbtide.api.fairqueue_vocabulary import (
    ADMITTED_AT,
    EXPECTED_DURATION_ANNOTATION,
    WAITING_MESSAGE,
    WAITING_REASON,
)

GOOD_PER_QUEUE = 5


@pytest.fixture
def operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    directory = tmp_path_factory.mktemp("hostile")
    with (
        chart_webhook(cluster, chart_identities, directory, port=free_port()) as webhook,
        running_operator(
            cluster,
            log=directory / "operator.log",
            controllers="queueing",
            kubeconfig=chart_identities.operator,
            extra_args=webhook.operator_args(),
        ) as process,
    ):
        wait_for_webhook(cluster)
        yield process


@pytest.fixture
def queues(cluster: E2ECluster) -> Iterator[Queues]:
    made = Queues(cluster)
    yield made
    made.delete_all()


def with_annotations(manifest: dict[str, Any], **values: str) -> dict[str, Any]:
    manifest["metadata"]["annotations"] = {**manifest["metadata"].get("annotations", {}), **values}
    return manifest


def hostile_pods(queue: str, missing_queue: str) -> dict[str, dict[str, Any]]:
    """Name -> manifest of each hostile pod."""
    duration = EXPECTED_DURATION_ANNOTATION
    owned = pod_manifest("fake-owner", queue=queue)
    owned["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "nobody",
            "uid": "00000000-0000-0000-0000-000000000000",
            "controller": True,
        }
    ]
    return {
        "huge-duration": with_annotations(
            pod_manifest("huge-duration", queue=queue), **{duration: "9" * 4000 + "s"}
        ),
        "unicode-duration": with_annotations(
            pod_manifest("unicode-duration", queue=queue), **{duration: "٣s"}
        ),
        "vast-duration": with_annotations(
            pod_manifest("vast-duration", queue=queue), **{duration: "x" * 200_000}
        ),
        "larger-than-all": pod_manifest("larger-than-all", queue=queue, cpu="100000"),
        "no-such-queue": pod_manifest("no-such-queue", queue=missing_queue),
        "forged": with_annotations(pod_manifest("forged", queue=queue), **{ADMITTED_AT: "not a time"}),
        "fake-owner": owned,
        "vanishing": pod_manifest("vanishing", queue=queue),
    }


def test_hostile_objects_and_an_operator_restart_stop_no_one_else(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    capacity = {"cpu": "16", "memory": "64Gi"}
    first = queues.create("a", weight=1, capacity=capacity)
    second = queues.create("b", weight=2, capacity=capacity)
    good = []
    for queue in (first, second):
        for index in range(GOOD_PER_QUEUE):
            name = f"good-{queue[-1]}-{index}"
            cluster.core.create_namespaced_pod(namespace, pod_manifest(name, queue=queue, cpu="500m"))
            good.append(name)
    cluster.batch.create_namespaced_job(namespace, job_manifest("good-job", queue=second, duration="1s"))
    zero = job_manifest("zero-parallelism", queue=first, duration="1s")
    zero["spec"]["parallelism"] = 0
    cluster.batch.create_namespaced_job(namespace, zero)

    operator.kill()
    operator.start()  # a view rebuilt from scratch, hostile objects included
    wait_for_webhook(cluster)
    hostile = hostile_pods(first, queues.name("missing"))
    for manifest in hostile.values():
        cluster.core.create_namespaced_pod(namespace, manifest)
    cluster.core.delete_namespaced_pod("vanishing", namespace, grace_period_seconds=0)
    operator.kill()
    operator.start()
    wait_for_webhook(cluster)

    def admitted(name: str) -> bool:
        return ADMITTED_AT in annotations(cluster.core.read_namespaced_pod(name, namespace))

    eventually(
        lambda: all(admitted(name) for name in good), timeout=120, what="every good pod to be admitted"
    )
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.batch.read_namespaced_job("good-job", namespace)),
        what="the good Job to be admitted",
    )

    def outcome(name: str) -> str | None:
        found = annotations(cluster.core.read_namespaced_pod(name, namespace))
        if ADMITTED_AT in found and found[ADMITTED_AT] != "not a time":
            return "admitted"
        return found.get(WAITING_REASON)

    expected = {
        "huge-duration": "admitted",  # the duration is ignored, and the rest of the pod is fine
        "unicode-duration": "admitted",
        "vast-duration": "admitted",
        "larger-than-all": "ExceedsCohortCapacity",
        "no-such-queue": "QueueNotFound",
        "forged": "admitted",  # gated, so it waited and was admitted as any other
    }

    def outcomes() -> dict[str, str | None] | None:
        found = {name: outcome(name) for name in expected}
        return found if all(found.values()) else None

    settled = eventually(outcomes, timeout=120, what="each hostile pod to be admitted or to say why it waits")
    print(f"\nhostile pods: {settled}")
    assert settled == expected
    waiting = annotations(cluster.core.read_namespaced_pod("larger-than-all", namespace))
    assert "more than the capacity" in waiting[WAITING_MESSAGE]
    zero_job = cluster.batch.read_namespaced_job("zero-parallelism", namespace)
    assert ADMITTED_AT in annotations(zero_job) or annotations(zero_job).get(WAITING_REASON)
    assert operator.process is not None and operator.process.poll() is None
    assert "admission cycle failed" not in operator.log_text()
