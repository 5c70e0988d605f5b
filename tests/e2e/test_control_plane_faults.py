"""Control-plane faults on the local test bed, with a backlog of Jobs in two queues and a
ScalingPolicy at work: the kube-apiserver killed for 30 s, etcd killed for 30 s, and the operator
restarted while the API server is down.

Afterwards every Job is admitted exactly once and none is lost (the test prints the lost and
doubled counts), the operator recovers without being restarted, and the ScalingPolicy takes no
scale action while it cannot read (its replicas never drop) and follows the load once the control
plane is back. Only the local backend runs the control plane as processes the test can stop.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.e2e.test_fair_queue import AdmissionRecorder, Queues, annotations, job_manifest, wait_for_webhook
from tests.e2e.test_scaling_policy import create_deployment, create_policy, replicas
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import (
    OperatorProcess,
    free_port,
    running_operator,
)
from tests.support.waiting import eventually
from tests.support.watching import FollowedObjects

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT
from ebbtide.devcluster.cluster import DevCluster

OUTAGE_SECONDS = 30
JOBS_PER_QUEUE = 12
#: Admitted before the fault: enough that the fault strikes mid-backlog.
ADMITTED_BEFORE_FAULT = 4


@pytest.fixture(scope="module")
def local(cluster: E2ECluster) -> DevCluster:
    if cluster.local is None:
        pytest.fail("control-plane faults need the local test bed (EBBTIDE_TEST_CLUSTER=local)")
    return cluster.local


@pytest.fixture
def operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path: Path, namespace: str
) -> Iterator[OperatorProcess]:
    """Both controllers as the chart runs them, with the chart's webhook; the ScalingPolicy side
    watches only the test's namespace."""
    with (
        chart_webhook(cluster, chart_identities, tmp_path, port=free_port()) as webhook,
        running_operator(
            cluster,
            log=tmp_path / "operator.log",
            controllers="scaling,queueing",
            kubeconfig=chart_identities.operator,
            extra_args=(*webhook.operator_args(), f"--namespace={namespace}"),
        ) as process,
    ):
        wait_for_webhook(cluster)
        yield process


@pytest.fixture
def queues(cluster: E2ECluster) -> Iterator[Queues]:
    made = Queues(cluster)
    yield made
    made.delete_all()


@pytest.fixture
def exporter(cluster: E2ECluster, namespace: str) -> Iterator[LoadExporter]:
    with load_exporter(cluster, job=f"load-{namespace}") as running:
        yield running


class ReplicaRecorder:
    """Every ``spec.replicas`` the namespace's Deployment had, in order, through outages."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        self.seen: list[int] = []
        self._followed = FollowedObjects(cluster.apps.list_namespaced_deployment, namespace, self._record)
        self._followed.start()

    def _record(self, obj: dict[str, Any]) -> None:
        value = (obj.get("spec") or {}).get("replicas")
        if value is not None and (not self.seen or self.seen[-1] != value):
            self.seen.append(int(value))

    def stop(self) -> None:
        self._followed.stop()


def fill_backlog(cluster: E2ECluster, namespace: str, queues: Queues) -> list[str]:
    """Two queues sharing 4 cpus, weights 1 and 2, with JOBS_PER_QUEUE one-cpu Jobs each."""
    light = queues.create("light", weight=1, capacity={"cpu": "4", "memory": "32Gi"})
    heavy = queues.create("heavy", weight=2, capacity={"cpu": "4", "memory": "32Gi"})
    names = []
    for queue in (light, heavy):
        for index in range(JOBS_PER_QUEUE):
            name = f"{queue[-5:]}-{index:02d}"
            cluster.batch.create_namespaced_job(namespace, job_manifest(name, queue=queue, duration="3s"))
            names.append(name)
    return names


def admitted_count(cluster: E2ECluster, namespace: str) -> int:
    return sum(
        1 for job in cluster.batch.list_namespaced_job(namespace).items if ADMITTED_AT in annotations(job)
    )


def wait_until_mid_backlog(cluster: E2ECluster, namespace: str, total: int) -> None:
    eventually(
        lambda: ADMITTED_BEFORE_FAULT <= admitted_count(cluster, namespace) < total,
        what="the backlog to be part-way admitted",
    )


def outage(local: DevCluster, component: str) -> None:
    """Stop ``component`` for OUTAGE_SECONDS (the fault itself, not a wait for a state)."""
    assert local.stop_component(component), f"{component} was not running"
    try:
        time.sleep(OUTAGE_SECONDS)
    finally:
        local.start_component(component)


def nodes_ready(cluster: E2ECluster) -> None:
    """Wait until every node reports Ready again (the node lifecycle controller marks them
    not Ready while their leases cannot be renewed)."""

    def all_ready() -> bool:
        return all(
            any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
            for node in cluster.core.list_node().items
        )

    eventually(all_ready, timeout=120, what="every node to be Ready again")


def wait_for_api(cluster: E2ECluster) -> None:
    def answers() -> bool:
        try:
            cluster.core.list_namespace(limit=1, _request_timeout=5)
        except Exception:
            return False
        return True

    eventually(answers, timeout=120, what="the API server to answer again")


def assert_each_job_admitted_once(
    cluster: E2ECluster, namespace: str, names: list[str], recorder: AdmissionRecorder
) -> None:
    def all_complete() -> list[client.V1Job] | None:
        jobs = cluster.batch.list_namespaced_job(namespace).items
        done = len(jobs) == len(names) and all(job.status.succeeded == 1 for job in jobs)
        return jobs if done else None

    eventually(all_complete, timeout=300, every=1, what="every Job to be admitted and complete")
    eventually(
        lambda: all(recorder.values.get(name) for name in names), what="the watch to see every admission"
    )
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name").items
    per_job: dict[str, int] = defaultdict(int)
    for pod in pods:
        per_job[pod.metadata.labels["batch.kubernetes.io/job-name"]] += 1
    lost = sorted(name for name in names if not recorder.values.get(name))
    doubled = sorted(
        name for name in names if len(recorder.values.get(name, [])) > 1 or per_job.get(name, 0) > 1
    )
    print(f"\n{len(names)} Jobs: lost {len(lost)} {lost}, doubled {len(doubled)} {doubled}")
    assert (lost, doubled) == ([], [])
    assert recorder.removed == set()


def assert_recovered_in_place(operator: OperatorProcess, pid: int) -> None:
    assert operator.process is not None and operator.process.poll() is None, "the operator exited"
    assert operator.process.pid == pid, "the operator was restarted"


def policy_scaled_to(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, *, load: float, expected: int
) -> None:
    exporter.set(load)
    eventually(
        lambda: replicas(cluster, namespace) == expected,
        timeout=120,
        what=f"{expected} replicas for a load of {load}",
    )


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_a_control_plane_outage_mid_backlog_loses_and_doubles_nothing(
    cluster: E2ECluster,
    local: DevCluster,
    namespace: str,
    operator: OperatorProcess,
    queues: Queues,
    exporter: LoadExporter,
    component: str,
) -> None:
    assert operator.process is not None
    pid = operator.process.pid
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(25)
    create_policy(
        cluster, namespace, query=exporter.query, fallback={"failureThreshold": 2, "action": "Hold"}
    )
    eventually(lambda: replicas(cluster, namespace) == 3, what="3 replicas for a load of 25")
    scaled = ReplicaRecorder(cluster, namespace)
    with AdmissionRecorder(cluster, namespace) as recorder:
        names = fill_backlog(cluster, namespace, queues)
        wait_until_mid_backlog(cluster, namespace, len(names))
        exporter.set(55)  # what the policy reads once the control plane is back
        outage(local, component)
        wait_for_api(cluster)
        nodes_ready(cluster)
        assert_each_job_admitted_once(cluster, namespace, names, recorder)
    eventually(lambda: replicas(cluster, namespace) == 6, timeout=120, what="scaling to resume (6 replicas)")
    scaled.stop()
    print(f"replicas seen: {scaled.seen}")
    assert min(scaled.seen) >= 3, f"a scale-down on missing data: {scaled.seen}"
    assert_recovered_in_place(operator, pid)


def test_an_operator_restarted_while_the_api_server_is_down_loses_and_doubles_nothing(
    cluster: E2ECluster,
    local: DevCluster,
    namespace: str,
    operator: OperatorProcess,
    queues: Queues,
    exporter: LoadExporter,
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(25)
    create_policy(
        cluster, namespace, query=exporter.query, fallback={"failureThreshold": 2, "action": "Hold"}
    )
    eventually(lambda: replicas(cluster, namespace) == 3, what="3 replicas for a load of 25")
    with AdmissionRecorder(cluster, namespace) as recorder:
        names = fill_backlog(cluster, namespace, queues)
        wait_until_mid_backlog(cluster, namespace, len(names))
        exporter.set(55)
        assert local.stop_component("kube-apiserver")
        try:
            operator.kill()
            restarted = operator.launch()
            time.sleep(OUTAGE_SECONDS)
            assert restarted.poll() is None, (
                f"the operator gave up while the API server was down:\n{operator.log_text()[-3000:]}"
            )
        finally:
            local.start_component("kube-apiserver")
        wait_for_api(cluster)
        nodes_ready(cluster)
        operator.wait_healthy(timeout=120)
        assert_each_job_admitted_once(cluster, namespace, names, recorder)
    policy_scaled_to(cluster, namespace, exporter, load=55, expected=6)
    assert_recovered_in_place(operator, restarted.pid)
