"""ebbtide as users run it: the Helm chart with the image built here, on kind's real nodes.

One release serves the module's tests, in order: the operator's two replicas and their
leadership, FairQueue admission through the webhook Service with the chart's certificate and
Jobs whose containers really run, leadership passing to the standby when the leader's pod is
deleted, and finally ``helm uninstall`` leaving nothing behind.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tests.support.cluster import REPO
from tests.support.kind_bed import PROMETHEUS_URL, KindBed, with_images
from tests.support.waiting import eventually
from tests.unit.chart.chart_rendering import CHART, helm, set_args

from ebbtide.api import API_GROUP, API_VERSION, FairQueue, ScalingPolicy
from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, EVENT_ADMITTED, QUEUE_LABEL
from ebbtide.controllers.fairqueue.leadership import LEASE_NAME
from ebbtide.scoring.values import AFFINITY_KEY

# The first test sets the cluster up, which includes the images' builds on a cold machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

RELEASE = "kt"
NAMESPACE = "ebbtide-kind-test"
OPERATOR = f"{RELEASE}-ebbtide-operator"
SCHEDULER_NAME = "ebbtide-scheduler"  # the chart's scheduler.name
WORK_SECONDS = 3  # how long each Job's container runs
EXAMPLES = REPO / "examples" / "kind"
WEB_NAMESPACE = "ebbtide-web"  # examples/kind/web.yaml's


@pytest.fixture(scope="module")
def release(kind_bed: KindBed) -> Iterator[str]:
    """The chart installed (and Available) with the ebbtide image loaded on the nodes; the
    release's namespace. Uninstalled by the last test, or at the end if that one failed.
    Prometheus does not run yet: the operator starts without it (FairQueue admission needs none)
    and its ScalingPolicies act once it answers, which the scaling test starts."""
    repository, tag = kind_bed.images.ebbtide.rsplit(":", 1)
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "prometheus.url": PROMETHEUS_URL,
        # where kind-config.yaml has the cluster's own scheduler call the extender
        "scheduler.extender.clusterIP": "10.96.0.88",
    }
    common = [f"--kubeconfig={kind_bed.kubeconfig}", f"--namespace={NAMESPACE}"]
    helm("upgrade", "--install", RELEASE, str(CHART), *common, "--create-namespace", *set_args(values),
         "--wait", "--timeout=10m", timeout=660)  # fmt: skip
    try:
        yield NAMESPACE
    finally:
        helm("uninstall", RELEASE, *common, "--wait", check=False)
        kind_bed.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")


# -- helpers ----------------------------------------------------------------------------------


def operator_pods(kind_bed: KindBed, namespace: str) -> list[Any]:
    selector = "app.kubernetes.io/component=operator"
    return [
        pod
        for pod in kind_bed.core.list_namespaced_pod(namespace, label_selector=selector).items
        if pod.metadata.deletion_timestamp is None
    ]


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def lease_holder(kind_bed: KindBed, namespace: str) -> str | None:
    try:
        lease = kind_bed.coordination.read_namespaced_lease(LEASE_NAME, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return lease.spec.holder_identity or None


def leader_metric(kind_bed: KindBed, namespace: str, pod: str) -> float:
    """``ebbtide_fairqueue_leader`` as the pod serves it (through the API server's pod proxy)."""
    text = kind_bed.kubectl(
        "get", "--raw", f"/api/v1/namespaces/{namespace}/pods/{pod}:8080/proxy/metrics"
    ).stdout
    for line in text.splitlines():
        if line.startswith("ebbtide_fairqueue_leader"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{pod} serves no ebbtide_fairqueue_leader")


def create_queue(kind_bed: KindBed, name: str, *, cohort: str, weight: int, cpu: str) -> None:
    body = {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "FairQueue",
        "metadata": {"name": name},
        "spec": {"cohort": cohort, "weight": weight, "capacity": {"cpu": cpu, "memory": "8Gi"}},
    }
    kind_bed.custom.create_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, body)


def job(name: str, *, queue: str, image: str) -> dict[str, Any]:
    """A Job whose one container really runs for :data:`WORK_SECONDS` and succeeds."""
    return {
        "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "work",
                            "image": image,
                            "imagePullPolicy": "Never",
                            "command": ["python", "-c", f"import time; time.sleep({WORK_SECONDS})"],
                            "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}},
                        }
                    ],
                }
            },
        },
    }


def sleeper(name: str, *, image: str, key: str) -> dict[str, Any]:
    """A pod for the chart's second scheduler whose container really runs, carrying ``key``."""
    return {
        "metadata": {"name": name, "labels": {AFFINITY_KEY: key}},
        "spec": {
            "schedulerName": SCHEDULER_NAME,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "sleep",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


def prioritize_calls(kind_bed: KindBed, namespace: str) -> float:
    """Prioritize calls the release's extenders have answered, summed over its scheduler pods."""
    pods = kind_bed.core.list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/component=scheduler"
    )
    total = 0.0
    for pod in pods.items:
        path = f"/api/v1/namespaces/{namespace}/pods/{pod.metadata.name}:8888/proxy/metrics"
        for line in kind_bed.kubectl("get", "--raw", path).stdout.splitlines():
            if line.startswith("ebbtide_extender_requests_total{") and 'verb="prioritize"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def admitted_at(job_object: Any) -> datetime | None:
    value = (job_object.metadata.annotations or {}).get(ADMITTED_AT)
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def admission_events(kind_bed: KindBed, namespace: str) -> Counter[str]:
    """How many times each Job of ``namespace`` was reported admitted."""
    counts: Counter[str] = Counter()
    for event in kind_bed.core.list_namespaced_event(namespace).items:
        if event.reason == EVENT_ADMITTED and event.involved_object.kind == "Job":
            counts[event.involved_object.name] += event.count or 1
    return counts


@pytest.fixture
def workloads(kind_bed: KindBed, release: str) -> Iterator[tuple[str, str]]:
    """(namespace, cohort): a fresh namespace for Jobs and a cohort name for FairQueues; both
    removed afterwards."""
    suffix = uuid.uuid4().hex[:6]
    namespace, cohort = f"kind-jobs-{suffix}", f"kind-{suffix}"
    kind_bed.core.create_namespace({"metadata": {"name": namespace}})
    eventually(
        lambda: _service_account(kind_bed, namespace), timeout=60, what="the namespace's service account"
    )
    yield namespace, cohort
    kind_bed.kubectl("delete", "namespace", namespace, "--wait=false")
    for queue in kind_bed.custom.list_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL)[
        "items"
    ]:
        if queue["spec"].get("cohort") == cohort:
            kind_bed.custom.delete_cluster_custom_object(
                API_GROUP, API_VERSION, FairQueue.PLURAL, queue["metadata"]["name"]
            )


def _service_account(kind_bed: KindBed, namespace: str) -> bool:
    try:
        kind_bed.core.read_namespaced_service_account("default", namespace)
    except ApiException:
        return False
    return True


def create_suspended_job(kind_bed: KindBed, namespace: str, manifest: dict[str, Any]) -> None:
    """Create the Job and check the webhook suspended it at creation."""
    created = eventually(
        lambda: _try_create(kind_bed, namespace, manifest),
        timeout=60,
        what="the webhook Service to answer",
    )
    assert created.spec.suspend, f"{manifest['metadata']['name']} was not suspended at creation"


def _try_create(kind_bed: KindBed, namespace: str, manifest: dict[str, Any]) -> Any:
    try:
        return kind_bed.batch.create_namespaced_job(namespace, manifest)
    except ApiException as error:
        if error.status >= 500:  # the webhook is not reachable yet: the API server fails closed
            return None
        raise


# -- the tests, in order ------------------------------------------------------------------------


def test_both_operator_replicas_are_ready_and_exactly_one_leads(kind_bed: KindBed, release: str) -> None:
    pods = eventually(
        lambda: (p := operator_pods(kind_bed, release)) and len(p) == 2 and all(map(ready, p)) and p,
        timeout=300,
        what="both operator replicas to be Ready",
    )
    names = {pod.metadata.name for pod in pods}
    holder = eventually(lambda: lease_holder(kind_bed, release), timeout=120, what="a leader")
    assert holder in names
    leading = {name: leader_metric(kind_bed, release, name) for name in names}
    assert sorted(leading.values()) == [0.0, 1.0], leading
    assert leading[holder] == 1.0


def test_jobs_are_suspended_at_creation_and_admitted_in_weighted_order_and_run(
    kind_bed: KindBed, release: str, workloads: tuple[str, str]
) -> None:
    namespace, cohort = workloads
    light, heavy = f"{cohort}-light", f"{cohort}-heavy"
    # The cohort's capacity is the smallest its queues declare: nothing is admitted while heavy
    # declares none, so both backlogs are complete before the first admission.
    capacity = "400m"  # four Jobs at once: a declared capacity is a quota for queued work alone
    create_queue(kind_bed, light, cohort=cohort, weight=1, cpu=capacity)
    create_queue(kind_bed, heavy, cohort=cohort, weight=3, cpu="0")
    counts = {light: 4, heavy: 12}
    for queue, count in counts.items():
        for index in range(count):
            manifest = job(
                f"{queue.rsplit('-', 1)[1]}-{index:02d}", queue=queue, image=kind_bed.images.ebbtide
            )
            create_suspended_job(kind_bed, namespace, manifest)
    kind_bed.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, heavy, {"spec": {"capacity": {"cpu": capacity}}}
    )

    def all_succeeded() -> list[Any] | None:
        jobs = kind_bed.batch.list_namespaced_job(namespace).items
        return jobs if all((j.status.succeeded or 0) == 1 for j in jobs) else None

    jobs = eventually(all_succeeded, timeout=600, every=2, what="every Job to run to completion")
    order = [
        j.metadata.labels[QUEUE_LABEL] for j in sorted(jobs, key=lambda j: admitted_at(j) or datetime.max)
    ]
    # While both queues wait, heavy (weight 3) is admitted three times as often as light: of the
    # first eight admissions about six are heavy's. Four slots of capacity, one per Job.
    first = Counter(order[:8])
    assert first[heavy] >= 5 and first[light] >= 1, order
    assert all(count == 1 for count in admission_events(kind_bed, namespace).values())
    for pod in kind_bed.core.list_namespaced_pod(namespace).items:
        [status] = pod.status.container_statuses
        assert status.state.terminated.exit_code == 0, pod.metadata.name
        assert pod.spec.node_name.startswith(kind_bed.cluster.name), pod.spec.node_name


def test_the_standby_takes_over_when_the_leaders_pod_is_deleted_and_admits_nothing_twice(
    kind_bed: KindBed, release: str, workloads: tuple[str, str]
) -> None:
    namespace, cohort = workloads
    queue = f"{cohort}-q"
    create_queue(kind_bed, queue, cohort=cohort, weight=1, cpu="200m")
    for index in range(10):
        create_suspended_job(
            kind_bed, namespace, job(f"j-{index:02d}", queue=queue, image=kind_bed.images.ebbtide)
        )
    leader = eventually(lambda: lease_holder(kind_bed, release), timeout=60, what="a leader")
    eventually(
        lambda: any(admitted_at(j) for j in kind_bed.batch.list_namespaced_job(namespace).items),
        timeout=120,
        what="the first admission",
    )
    kind_bed.core.delete_namespaced_pod(leader, release)
    successor = eventually(
        lambda: (h := lease_holder(kind_bed, release)) and h != leader and h,
        timeout=180,
        what="the standby to take the lease",
    )
    assert successor in {pod.metadata.name for pod in operator_pods(kind_bed, release)}

    def all_succeeded() -> list[Any] | None:
        jobs = kind_bed.batch.list_namespaced_job(namespace).items
        return jobs if all((j.status.succeeded or 0) == 1 for j in jobs) else None

    eventually(all_succeeded, timeout=600, every=2, what="every Job to be admitted and to complete")
    events = admission_events(kind_bed, namespace)
    assert set(events) == {f"j-{index:02d}" for index in range(10)}
    assert all(count == 1 for count in events.values()), events
    # The replacement pod comes back, and the release is whole again.
    eventually(
        lambda: len([p for p in operator_pods(kind_bed, release) if ready(p)]) == 2,
        timeout=300,
        what="the Deployment to replace the deleted replica",
    )


def test_the_charts_second_scheduler_and_extender_place_pods_on_real_workers_by_key(
    kind_bed: KindBed, release: str, workloads: tuple[str, str]
) -> None:
    namespace, _ = workloads
    key = uuid.uuid4().hex
    names = [f"keyed-{index}" for index in range(4)]
    for name in names:
        kind_bed.core.create_namespaced_pod(namespace, sleeper(name, image=kind_bed.images.ebbtide, key=key))

    def running() -> list[Any] | None:
        pods = [kind_bed.core.read_namespaced_pod(name, namespace) for name in names]
        return pods if all(p.status.phase == "Running" for p in pods) else None

    pods = eventually(running, timeout=300, every=1, what=f"the pods {SCHEDULER_NAME} places to run")
    nodes = {pod.spec.node_name for pod in pods}
    assert len(nodes) == 1, f"pods with one affinity key were spread over {nodes}"
    [node] = nodes
    assert node.startswith(f"{kind_bed.cluster.name}-worker"), node
    scheduled = [
        event
        for event in kind_bed.core.list_namespaced_event(namespace).items
        if event.reason == "Scheduled" and event.involved_object.name in names
    ]
    assert {e.reporting_component or e.source.component for e in scheduled} == {SCHEDULER_NAME}
    assert prioritize_calls(kind_bed, release) >= len(names), "the extenders answered no prioritize call"


def test_the_clusters_own_scheduler_calls_the_extender_as_kind_config_wires_it(
    kind_bed: KindBed, release: str, workloads: tuple[str, str]
) -> None:
    namespace, _ = workloads
    before = prioritize_calls(kind_bed, release)
    names = [f"default-{index}" for index in range(3)]
    for name in names:
        pod = sleeper(name, image=kind_bed.images.ebbtide, key=uuid.uuid4().hex)
        del pod["spec"]["schedulerName"]  # the cluster's own scheduler
        kind_bed.core.create_namespaced_pod(namespace, pod)
    eventually(
        lambda: all(kind_bed.core.read_namespaced_pod(n, namespace).status.phase == "Running" for n in names),
        timeout=300,
        every=1,
        what="the default scheduler's pods to run",
    )
    # Only the cluster's own scheduler placed pods meanwhile; each placement asked the extender.
    assert prioritize_calls(kind_bed, release) >= before + len(names)


def test_a_scaling_policy_scales_a_real_deployment_ahead_of_real_http_load(
    kind_bed: KindBed, release: str, prometheus: str
) -> None:
    images = {"ebbtide-workload": kind_bed.images.workload, "ebbtide-loadgen": kind_bed.images.loadgen}
    kind_bed.kubectl("apply", "--filename=-", input=with_images(EXAMPLES / "web.yaml", images))
    try:
        kind_bed.kubectl("apply", f"--filename={EXAMPLES / 'scalingpolicy-web.yaml'}")
        samples = follow_scaling(kind_bed, namespace=WEB_NAMESPACE, replicas=3)
        loads = [s["load"] for s in samples if s.get("load") is not None]
        assert loads and max(loads) > 5, f"Prometheus saw no request rate: {samples[-3:]}"
        # On the ramp the forecast runs ahead of the load: replicas are added for the load to come.
        ahead = [s for s in samples if (s.get("predictedLoad") or 0) > (s.get("load") or 0) > 0]
        assert ahead, f"the forecast never ran ahead of the load: {samples[-5:]}"
        for pod in kind_bed.core.list_namespaced_pod(WEB_NAMESPACE, label_selector="app=web").items:
            assert pod.spec.node_name.startswith(kind_bed.cluster.name), pod.spec.node_name
        # Nothing holds the policy (the operator puts no finalizer on it): it goes at once.
        kind_bed.kubectl("delete", f"--filename={EXAMPLES / 'scalingpolicy-web.yaml'}", "--timeout=60s")
    finally:
        kind_bed.kubectl("delete", "namespace", WEB_NAMESPACE, "--wait=false", check=False)


def follow_scaling(kind_bed: KindBed, *, namespace: str, replicas: int) -> list[dict[str, Any]]:
    """The ScalingPolicy ``web``'s status, sampled until its Deployment has ``replicas`` Ready."""
    samples: list[dict[str, Any]] = []

    def scaled_up() -> bool:
        policy = kind_bed.custom.get_namespaced_custom_object(
            API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, "web"
        )
        samples.append(policy.get("status") or {})
        deployment = kind_bed.apps.read_namespaced_deployment("web", namespace)
        return (deployment.status.ready_replicas or 0) >= replicas

    eventually(scaled_up, timeout=400, every=2, what=f"the ScalingPolicy to scale web to {replicas} Ready")
    return samples


def test_helm_uninstall_leaves_no_pods_webhooks_or_stuck_objects(kind_bed: KindBed, release: str) -> None:
    common = [f"--kubeconfig={kind_bed.kubeconfig}", f"--namespace={release}"]
    helm("uninstall", RELEASE, *common, "--wait", "--timeout=5m", timeout=360)
    eventually(
        lambda: not kind_bed.core.list_namespaced_pod(release).items,
        timeout=180,
        what="the release's pods to be gone",
    )
    webhooks = kind_bed.admission.list_mutating_webhook_configuration().items
    assert not [w.metadata.name for w in webhooks if RELEASE in w.metadata.name]
    validating = kind_bed.admission.list_validating_webhook_configuration().items
    assert not [w.metadata.name for w in validating if RELEASE in w.metadata.name]
    leftovers = kind_bed.kubectl(
        "get", "all,secrets,configmaps,roles,rolebindings,serviceaccounts", f"--namespace={release}",
        "--output=json",
    )  # fmt: skip
    names = [
        f"{item['kind']}/{item['metadata']['name']}"
        for item in json.loads(leftovers.stdout)["items"]
        if not item["metadata"]["name"].startswith("kube-root-ca") and item["metadata"]["name"] != "default"
    ]
    assert not names, f"left behind in {release}: {names}"
    cluster_scoped = kind_bed.kubectl("get", "clusterroles,clusterrolebindings", "--output=name").stdout
    assert OPERATOR not in cluster_scoped
    # Nothing waits on a finalizer only an operator would remove (ebbtide puts none there).
    custom = kind_bed.kubectl("get", "fairqueues,scalingpolicies", "--all-namespaces", "--output=json").stdout
    stuck = [i["metadata"]["name"] for i in json.loads(custom)["items"] if i["metadata"].get("finalizers")]
    assert not stuck, f"objects with finalizers after uninstall: {stuck}"
    kind_bed.kubectl("delete", "namespace", release, "--timeout=120s")
