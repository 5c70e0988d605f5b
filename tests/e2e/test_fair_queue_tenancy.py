"""Only ebbtide admits: a tenant with the usual namespaced ``edit`` rights tries every way past the
queue on the real test bed, with the chart's admission policies in place, while the operator runs
and while it is stopped; the operator (the chart's service account) still admits.

Each queue here is in a cohort of its own whose capacity is zero, so nothing in it is admitted
until the test raises the capacity: every attempt meets a workload that is still waiting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.e2e.test_fair_queue import (
    Queues,
    annotations,
    gate_names,
    job_manifest,
    pod_manifest,
    wait_for_webhook,
)
from tests.support.chart_identities import ChartIdentities, chart_admission_policy, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import (
    ADMISSION_DECISION,
    ADMITTED_AT,
    DEFAULT_QUEUE_LABEL,
    PREEMPTED_AT,
    QUEUE_LABEL,
    QUEUE_MANAGED_LABEL,
    REQUEUED_AT,
    SCHEDULING_GATE,
)

TENANT = "tenant"
OTHER_GATE = "example.com/hold"
NO_CAPACITY = {"cpu": "0", "memory": "0"}
SOME_CAPACITY = {"cpu": "8", "memory": "32Gi"}


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator as the chart runs it (its service account, its webhook), with the chart's
    admission policies enforced by the API server."""
    directory = tmp_path_factory.mktemp("tenancy")
    with (
        chart_admission_policy(cluster, chart_identities, directory),
        chart_webhook(cluster, chart_identities, directory, port=free_port()) as webhook,
        running_operator(
            cluster,
            log=directory / "operator.log",
            controllers="queueing",
            kubeconfig=chart_identities.operator,
            extra_args=webhook.operator_args(),
        ) as operator,
    ):
        wait_for_webhook(cluster)
        yield operator


@pytest.fixture
def operator(guarded_operator: OperatorProcess, cluster: E2ECluster) -> OperatorProcess:
    """The module's operator, started again if an earlier test left it stopped."""
    process = guarded_operator.process
    if process is None or process.poll() is not None:
        guarded_operator.start()
        wait_for_webhook(cluster)
    return guarded_operator


@pytest.fixture
def queues(cluster: E2ECluster) -> Iterator[Queues]:
    made = Queues(cluster)
    yield made
    made.delete_all()


class Tenant:
    """A service account with the ``edit`` ClusterRole in its namespace, talking with its token."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        cluster.core.create_namespaced_service_account(namespace, {"metadata": {"name": TENANT}})
        cluster.rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": f"{TENANT}-edit"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": TENANT, "namespace": namespace}],
            },
        )
        api_client = cluster.client_as(namespace=namespace, service_account=TENANT)
        self.namespace = namespace
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)

    def patch_pod(self, name: str, body: Any, *, json_patch: bool = False) -> Any:
        if json_patch:
            return self.core.patch_namespaced_pod(
                name, self.namespace, body, _content_type="application/json-patch+json"
            )
        return self.core.patch_namespaced_pod(name, self.namespace, body)

    def patch_job(self, name: str, body: Any) -> Any:
        return self.batch.patch_namespaced_job(name, self.namespace, body)


@pytest.fixture
def tenant(cluster: E2ECluster, namespace: str) -> Tenant:
    return Tenant(cluster, namespace)


# -- helpers ----------------------------------------------------------------------------------


def refused(attempt: Callable[[], object]) -> str:
    """The API server's message refusing ``attempt``; fails the test if it was let through."""
    with pytest.raises(ApiException) as raised:
        attempt()
    assert raised.value.status == 403, raised.value.body
    message = str(json.loads(raised.value.body)["message"])
    assert "ValidatingAdmissionPolicy" in message, message
    return message


def waiting_pod(cluster: E2ECluster, tenant: Tenant, name: str, *, queue: str) -> client.V1Pod:
    pod = tenant.core.create_namespaced_pod(
        tenant.namespace, pod_manifest(name, queue=queue, gates=(OTHER_GATE,))
    )
    assert gate_names(pod) == [OTHER_GATE, SCHEDULING_GATE]
    return pod


def waiting_job(tenant: Tenant, name: str, *, queue: str) -> client.V1Job:
    job = tenant.batch.create_namespaced_job(tenant.namespace, job_manifest(name, queue=queue, duration="1s"))
    assert job.spec.suspend
    return job


def pod_bypasses(
    tenant: Tenant, name: str, *, queue: str, other_queue: str
) -> dict[str, Callable[[], object]]:
    """Every way a tenant might let the waiting pod ``name`` go or move it, by name."""
    return {
        "remove every gate": lambda: tenant.patch_pod(name, {"spec": {"schedulingGates": None}}),
        "remove only ebbtide's gate": lambda: tenant.patch_pod(
            name, [{"op": "remove", "path": "/spec/schedulingGates/1"}], json_patch=True
        ),
        "remove the queue label": lambda: tenant.patch_pod(
            name, {"metadata": {"labels": {QUEUE_LABEL: None}}}
        ),
        "move to another queue": lambda: tenant.patch_pod(
            name, {"metadata": {"labels": {QUEUE_LABEL: other_queue}}}
        ),
        "forge admitted-at": lambda: tenant.patch_pod(
            name, {"metadata": {"annotations": {ADMITTED_AT: "2026-01-01T00:00:00.000000Z"}}}
        ),
        "forge the decision": lambda: tenant.patch_pod(
            name, {"metadata": {"annotations": {ADMISSION_DECISION: json.dumps({"queue": queue})}}}
        ),
        "forge requeued-at": lambda: tenant.patch_pod(
            name, {"metadata": {"annotations": {REQUEUED_AT: "2000-01-01T00:00:00.000000Z"}}}
        ),
        "forge preempted-at": lambda: tenant.patch_pod(
            name, {"metadata": {"annotations": {PREEMPTED_AT: "2026-01-01T00:00:00.000000Z"}}}
        ),
    }


def job_bypasses(tenant: Tenant, name: str, *, other_queue: str) -> dict[str, Callable[[], object]]:
    """Every way a tenant might let the waiting Job ``name`` go or move it, by name."""
    return {
        "unsuspend": lambda: tenant.patch_job(name, {"spec": {"suspend": False}}),
        "unsuspend and unlabel": lambda: tenant.patch_job(
            name, {"metadata": {"labels": {QUEUE_LABEL: None}}, "spec": {"suspend": False}}
        ),
        "remove the queue label": lambda: tenant.patch_job(
            name, {"metadata": {"labels": {QUEUE_LABEL: None}}}
        ),
        "move to another queue": lambda: tenant.patch_job(
            name, {"metadata": {"labels": {QUEUE_LABEL: other_queue}}}
        ),
        "forge admitted-at": lambda: tenant.patch_job(
            name, {"metadata": {"annotations": {ADMITTED_AT: "2026-01-01T00:00:00.000000Z"}}}
        ),
    }


def assert_every_bypass_refused(
    bypasses: dict[str, Callable[[], object]], *, expected: dict[str, str]
) -> dict[str, str]:
    """Try each bypass; each must be refused with a message containing its expected text."""
    messages = {what: refused(attempt) for what, attempt in bypasses.items()}
    for what, message in messages.items():
        wanted = next(text for key, text in expected.items() if key in what)
        assert wanted in message, f"{what}: {message}"
    return messages


def pod_expectations(namespace: str, name: str, queue: str) -> dict[str, str]:
    waiting = f"pod {namespace}/{name} is waiting in FairQueue {queue}; only ebbtide admits it"
    subject = f"{namespace}/{name}"
    forged = f"of pod {subject} records an admission by ebbtide"
    return {  # the first key found in a bypass's name wins, so "requeued-at" comes before "queue"
        "requeued-at": f"annotation {REQUEUED_AT} of pod {subject} records a requeue by ebbtide",
        "preempted-at": f"annotation {PREEMPTED_AT} of pod {subject} records a preemption by ebbtide",
        "gate": waiting,
        "label": waiting,
        "queue": waiting,
        "admitted-at": f"annotation {ADMITTED_AT} {forged}",
        "decision": f"annotation {ADMISSION_DECISION} {forged}",
    }


def job_expectations(namespace: str, name: str, queue: str) -> dict[str, str]:
    waiting = f"job {namespace}/{name} is waiting in FairQueue {queue}; only ebbtide admits it"
    return {
        "unsuspend": waiting,
        "label": waiting,
        "queue": waiting,
        "admitted-at": f"annotation {ADMITTED_AT} of job {namespace}/{name} records an admission by ebbtide",
    }


def still_waiting(
    cluster: E2ECluster, namespace: str, *, pods: tuple[str, ...], jobs: tuple[str, ...]
) -> None:
    for name in pods:
        pod = cluster.core.read_namespaced_pod(name, namespace)
        assert SCHEDULING_GATE in gate_names(pod) and ADMITTED_AT not in annotations(pod), name
    for name in jobs:
        job = cluster.batch.read_namespaced_job(name, namespace)
        assert job.spec.suspend and ADMITTED_AT not in annotations(job), name


def open_queue(cluster: E2ECluster, queue: str) -> None:
    cluster.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, queue, {"spec": {"capacity": SOME_CAPACITY}}
    )


# -- tests ------------------------------------------------------------------------------------


def test_a_tenant_cannot_let_a_waiting_pod_go_move_it_or_forge_its_admission(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("closed", capacity=NO_CAPACITY)
    other = queues.create("other", capacity=SOME_CAPACITY)
    waiting_pod(cluster, tenant, "p", queue=queue)

    messages = assert_every_bypass_refused(
        pod_bypasses(tenant, "p", queue=queue, other_queue=other),
        expected=pod_expectations(namespace, "p", queue),
    )
    print("\n".join(f"refused, {what}: {message}" for what, message in messages.items()))
    forged = pod_manifest("forged", queue=queue)
    forged["metadata"]["annotations"] = {ADMITTED_AT: "2026-01-01T00:00:00.000000Z"}
    assert "records an admission by ebbtide" in refused(
        lambda: tenant.core.create_namespaced_pod(namespace, forged)
    )
    still_waiting(cluster, namespace, pods=("p",), jobs=())

    # What is the tenant's own stays free: other labels and annotations, other gates, deleting.
    tenant.patch_pod("p", {"metadata": {"labels": {"team": "blue"}, "annotations": {"note": "mine"}}})
    tenant.patch_pod("p", [{"op": "remove", "path": "/spec/schedulingGates/0"}], json_patch=True)
    assert gate_names(cluster.core.read_namespaced_pod("p", namespace)) == [SCHEDULING_GATE]
    tenant.core.delete_namespaced_pod("p", namespace)


def test_a_tenant_cannot_unsuspend_or_move_a_waiting_job_even_for_a_missing_queue(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("closed", capacity=NO_CAPACITY)
    missing = queues.name("missing")
    waiting_job(tenant, "j", queue=queue)
    waiting_job(tenant, "lost", queue=missing)

    messages = assert_every_bypass_refused(
        job_bypasses(tenant, "j", other_queue=missing), expected=job_expectations(namespace, "j", queue)
    )
    print("\n".join(f"refused, {what}: {message}" for what, message in messages.items()))
    assert f"job {namespace}/lost is waiting in FairQueue {missing}" in refused(
        lambda: tenant.patch_job("lost", {"spec": {"suspend": False}})
    )
    still_waiting(cluster, namespace, pods=(), jobs=("j", "lost"))
    tenant.patch_job("j", {"metadata": {"labels": {"team": "blue"}}})
    tenant.batch.delete_namespaced_job("lost", namespace, propagation_policy="Background")


def test_the_guard_holds_while_the_operator_is_stopped_and_the_operator_still_admits(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("closed", capacity=NO_CAPACITY)
    other = queues.create("other", capacity=NO_CAPACITY)
    waiting_pod(cluster, tenant, "p", queue=queue)
    waiting_job(tenant, "j", queue=queue)

    operator.stop()
    try:
        assert_every_bypass_refused(
            pod_bypasses(tenant, "p", queue=queue, other_queue=other),
            expected=pod_expectations(namespace, "p", queue),
        )
        assert_every_bypass_refused(
            job_bypasses(tenant, "j", other_queue=other), expected=job_expectations(namespace, "j", queue)
        )
        still_waiting(cluster, namespace, pods=("p",), jobs=("j",))
    finally:
        operator.start()
    wait_for_webhook(cluster)

    open_queue(cluster, queue)
    open_queue(cluster, other)  # the cohort's capacity is the smallest its queues declare
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.batch.read_namespaced_job("j", namespace)),
        what="the operator to admit the Job",
    )
    pod = eventually(
        lambda: ADMITTED_AT in annotations(p := cluster.core.read_namespaced_pod("p", namespace)) and p,
        what="the operator to admit the pod",
    )
    assert gate_names(pod) == [OTHER_GATE]


def test_an_admitted_workload_keeps_its_queue_and_its_size(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("open", capacity=SOME_CAPACITY)
    other = queues.create("other", capacity=SOME_CAPACITY)
    job = job_manifest("j", queue=queue, duration="600s")
    tenant.batch.create_namespaced_job(namespace, job)
    admitted = eventually(
        lambda: ADMITTED_AT in annotations(j := cluster.batch.read_namespaced_job("j", namespace)) and j,
        what="the Job to be admitted",
    )
    assert not admitted.spec.suspend

    message = refused(lambda: tenant.patch_job("j", {"metadata": {"labels": {QUEUE_LABEL: other}}}))
    assert f"job {namespace}/j was admitted by FairQueue {queue}" in message
    refused(lambda: tenant.patch_job("j", {"metadata": {"labels": {QUEUE_LABEL: None}}}))
    message = refused(lambda: tenant.patch_job("j", {"spec": {"parallelism": 5}}))
    assert "at parallelism 1; suspend it to grow it" in message
    refused(lambda: tenant.patch_job("j", {"metadata": {"annotations": {ADMITTED_AT: None}}}))

    # Giving capacity back is the tenant's right: suspended again, the Job waits in its queue
    # (closed first, so that the operator does not admit it again at once).
    cluster.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, queue, {"spec": {"capacity": NO_CAPACITY}}
    )
    tenant.patch_job("j", {"spec": {"suspend": True}})
    refused(lambda: tenant.patch_job("j", {"spec": {"suspend": False}}))


def test_in_a_queue_managed_namespace_every_pod_and_job_names_a_queue(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("managed", capacity=SOME_CAPACITY)
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": {QUEUE_MANAGED_LABEL: "true"}}})
    unlabelled_pod = pod_manifest("unqueued", queue=queue)
    del unlabelled_pod["metadata"]["labels"][QUEUE_LABEL]
    unlabelled_job = job_manifest("unqueued-job", queue=queue, duration="1s")
    del unlabelled_job["metadata"]["labels"][QUEUE_LABEL]
    forged_owner = pod_manifest("fake-job-pod", queue=queue)
    del forged_owner["metadata"]["labels"][QUEUE_LABEL]
    forged_owner["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "x", "uid": "0" * 8, "controller": True}
    ]

    def dry_run_refused() -> str | None:
        try:
            tenant.core.create_namespaced_pod(namespace, unlabelled_pod, dry_run="All")
        except ApiException as error:
            if error.status == 403:
                return str(json.loads(error.body)["message"])
            raise
        return None  # the policies have not seen the namespace's new label yet

    eventually(dry_run_refused, what="the API server to see that the namespace opted in")
    message = refused(lambda: tenant.core.create_namespaced_pod(namespace, unlabelled_pod))
    assert f"namespace {namespace} is queue-managed" in message and f"label {QUEUE_LABEL}" in message
    print(f"\nrefused, an unlabelled pod: {message}")
    assert "is queue-managed" in refused(
        lambda: tenant.batch.create_namespaced_job(namespace, unlabelled_job)
    )
    assert "is queue-managed" in refused(lambda: tenant.core.create_namespaced_pod(namespace, forged_owner))

    # Named queues go through as usual, and a queued Job's own pods are the Job controller's.
    tenant.core.create_namespaced_pod(namespace, pod_manifest("queued", queue=queue))
    tenant.batch.create_namespaced_job(namespace, job_manifest("queued-job", queue=queue, duration="1s"))
    eventually(
        lambda: (j := cluster.batch.read_namespaced_job("queued-job", namespace)).status.succeeded == 1 and j,
        timeout=120,
        what="the queued Job to be admitted and its pod made and run",
    )
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.core.read_namespaced_pod("queued", namespace)),
        what="the queued pod to be admitted",
    )


def test_a_queue_managed_namespace_gives_unlabelled_work_its_default_queue(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues, tenant: Tenant
) -> None:
    queue = queues.create("fallback", capacity=NO_CAPACITY)
    labels = {QUEUE_MANAGED_LABEL: "true", DEFAULT_QUEUE_LABEL: queue}
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": labels}})
    unlabelled_pod = pod_manifest("plain", queue=queue, gates=(OTHER_GATE,))
    del unlabelled_pod["metadata"]["labels"][QUEUE_LABEL]
    unlabelled_job = job_manifest("plain-job", queue=queue, duration="1s")
    del unlabelled_job["metadata"]["labels"][QUEUE_LABEL]

    def queued_on_creation() -> client.V1Pod | None:
        pod = tenant.core.create_namespaced_pod(
            namespace, {**unlabelled_pod, "metadata": {"generateName": "probe-"}}
        )
        if (pod.metadata.labels or {}).get(QUEUE_LABEL) == queue:
            return pod
        cluster.core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
        return None  # the API server has not seen the namespace's new labels yet

    eventually(queued_on_creation, what="the API server to give the namespace's default queue")
    pod = tenant.core.create_namespaced_pod(namespace, unlabelled_pod)
    assert pod.metadata.labels[QUEUE_LABEL] == queue
    assert gate_names(pod) == [OTHER_GATE, SCHEDULING_GATE]
    job = tenant.batch.create_namespaced_job(namespace, unlabelled_job)
    assert job.metadata.labels[QUEUE_LABEL] == queue and job.spec.suspend
    print(f"\nqueued on creation: pod {pod.metadata.name} and job {job.metadata.name} in FairQueue {queue}")

    # They wait like any queued work: the tenant can neither release nor move them.
    refused(lambda: tenant.patch_job("plain-job", {"spec": {"suspend": False}}))
    refused(lambda: tenant.patch_pod("plain", {"metadata": {"labels": {QUEUE_LABEL: None}}}))

    # While the operator is down, unlabelled work is still never let through ungated: it is
    # created held back in the default queue, or refused (the webhook is down) and can be sent again.
    operator.stop()
    try:
        held = tenant.core.create_namespaced_pod(
            namespace, {**unlabelled_pod, "metadata": {"name": "while-down"}}
        )
    except ApiException as error:
        assert error.status >= 400, error.body
        print(f"operator down: refused, {json.loads(error.body)['message']}")
    else:
        assert held.metadata.labels[QUEUE_LABEL] == queue and SCHEDULING_GATE in gate_names(held)
        print("operator down: created, held in the default queue")
    operator.start()
    wait_for_webhook(cluster)

    # The operator admits them from the default queue; the Job's own pods carry no queue.
    cluster.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, queue, {"spec": {"capacity": SOME_CAPACITY}}
    )
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.core.read_namespaced_pod("plain", namespace)),
        what="the pod to be admitted from the default queue",
    )
    done = eventually(
        lambda: (j := cluster.batch.read_namespaced_job("plain-job", namespace)).status.succeeded == 1 and j,
        timeout=120,
        what="the Job to be admitted from the default queue and its pod made and run",
    )
    assert ADMITTED_AT in annotations(done)
    [job_pod] = cluster.core.list_namespaced_pod(namespace, label_selector="job-name=plain-job").items
    assert QUEUE_LABEL not in (job_pod.metadata.labels or {}) and not gate_names(job_pod)


def test_an_admitted_pod_may_shrink_in_place_but_not_grow(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create("resized", capacity=SOME_CAPACITY)
    manifest = pod_manifest("resized", queue=queue, cpu="500m")
    # Pending after admission: a KWOK node does not declare in-place resize, so the API server
    # refuses any resize of a pod bound to one before admission policies are asked.
    manifest["spec"]["nodeSelector"] = {"ebbtide.io/test-nowhere": "true"}
    cluster.core.create_namespaced_pod(namespace, manifest)
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.core.read_namespaced_pod("resized", namespace)),
        what="the pod to be admitted",
    )

    def resize(cpu: str) -> Any:
        body = {"spec": {"containers": [{"name": "work", "resources": {"requests": {"cpu": cpu}}}]}}
        return cluster.core.patch_namespaced_pod_resize("resized", namespace, body)

    message = refused(lambda: resize("2"))
    assert f"pod {namespace}/resized was admitted by FairQueue {queue}" in message
    assert "may shrink them but not grow them" in message
    print(f"\nrefused, a resize that grows: {message}")
    resized = resize("250m")
    assert resized.spec.containers[0].resources.requests["cpu"] == "250m"
