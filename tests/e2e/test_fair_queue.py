"""FairQueue admission on the real test bed: the webhook, the controller, KWOK's nodes and the Job
controller, with the real ``ebbtide operator`` process (killed and restarted in one test).

Every test makes its own queues in a cohort of its own with a declared capacity, so the tests
neither see each other's work nor depend on the size of the cluster.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually
from tests.support.watching import FollowedObjects

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import (
    ADMISSION_DECISION,
    ADMITTED_AT,
    QUEUE_LABEL,
    QUEUE_POSITION,
    SCHEDULING_GATE,
    WAITING_REASON,
)

OTHER_GATE = "example.com/hold"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fair_queue_operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The real operator with only the queue controller, as the chart runs it: the chart's
    service account, a serving certificate it is given, and the chart's webhook configuration
    (calling a free port of this machine, where the API server reaches it) trusting that
    certificate's CA."""
    directory = tmp_path_factory.mktemp("fair-queue")
    with (
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
def operator(fair_queue_operator: OperatorProcess, cluster: E2ECluster) -> OperatorProcess:
    """The module's operator, started again if an earlier test left it dead."""
    process = fair_queue_operator.process
    if process is None or process.poll() is not None:
        fair_queue_operator.start()
        wait_for_webhook(cluster)
    return fair_queue_operator


class Queues:
    """Creates FairQueues in a cohort private to the test; deletes them afterwards."""

    def __init__(self, cluster: E2ECluster) -> None:
        self.api = cluster.custom
        self.cohort = f"e2e-{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []

    def name(self, base: str) -> str:
        return f"{self.cohort}-{base}"

    def create(self, base: str, **spec: Any) -> str:
        name = self.name(base)
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "FairQueue",
            "metadata": {"name": name},
            "spec": {"cohort": self.cohort, **spec},
        }
        self.api.create_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, body)
        self.names.append(name)
        return name

    def read(self, name: str) -> dict[str, Any]:
        return dict(self.api.get_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, name))

    def delete_all(self) -> None:
        for name in self.names:
            try:
                self.api.delete_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, name)
            except ApiException as error:
                if error.status != 404:
                    raise


@pytest.fixture
def queues(cluster: E2ECluster) -> Iterator[Queues]:
    made = Queues(cluster)
    yield made
    made.delete_all()


# -- helpers ----------------------------------------------------------------------------------


def wait_for_webhook(cluster: E2ECluster) -> None:
    """Wait until the API server gates a labelled pod (a dry run: nothing is created)."""

    def gated() -> bool:
        try:
            pod = cluster.core.create_namespaced_pod(
                "default", pod_manifest("webhook-probe", queue="probe"), dry_run="All"
            )
        except ApiException:
            return False  # the configuration is not there yet, or names the previous server
        return SCHEDULING_GATE in gate_names(pod)

    eventually(gated, timeout=90, what="the fair-queue webhook to gate labelled pods")


def pod_manifest(name: str, *, queue: str, cpu: str = "500m", gates: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {"name": "work", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": cpu}}}
        ]
    }
    if gates:
        spec["schedulingGates"] = [{"name": gate} for gate in gates]
    return {"metadata": {"name": name, "labels": {QUEUE_LABEL: queue}}, "spec": spec}


def job_manifest(name: str, *, queue: str, duration: str, completions: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
        "spec": {
            "completions": completions,
            "parallelism": 1,
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"ebbtide.io/simulated-duration": duration}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "work",
                            "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "1", "memory": "256Mi"}},
                        }
                    ],
                },
            },
        },
    }


def gate_names(pod: client.V1Pod) -> list[str]:
    return [gate.name for gate in pod.spec.scheduling_gates or []]


def annotations(obj: Any) -> dict[str, str]:
    return dict(obj.metadata.annotations or {})


def events_for(cluster: E2ECluster, namespace: str, name: str) -> dict[str, str]:
    """Event reason -> type for the object ``name`` in ``namespace``."""
    found = cluster.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return {event.reason: event.type for event in found}


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- pods -------------------------------------------------------------------------------------


def test_a_queued_pod_is_gated_at_creation_then_admitted_and_runs(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create("solo", capacity={"cpu": "4", "memory": "16Gi"})
    created = cluster.core.create_namespaced_pod(namespace, pod_manifest("p", queue=queue))
    assert gate_names(created) == [SCHEDULING_GATE]

    running = eventually(
        lambda: (p := cluster.core.read_namespaced_pod("p", namespace)).status.phase == "Running" and p,
        what="the pod to be admitted, scheduled and Running",
    )
    assert gate_names(running) == []
    assert ADMITTED_AT in annotations(running)
    assert json.loads(annotations(running)[ADMISSION_DECISION])["queue"] == queue
    assert WAITING_REASON not in annotations(running)
    eventually(
        lambda: events_for(cluster, namespace, "p").get("Admitted") == "Normal", what="an Admitted event"
    )

    status = eventually(
        lambda: (s := queues.read(queue).get("status", {})).get("admitted") == 1 and s,
        what="the queue's status to count the admission",
    )
    assert (status["pending"], status["usage"]["cpu"]) == (0, "500m")
    table = cluster.kubectl("get", "fq", queue, "--no-headers").stdout.split()
    assert table[:5] == [queue, "1", "FIFO", "0", "1"]  # name, weight, order, pending, admitted


def test_another_controllers_gate_stays_until_its_owner_removes_it(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create("gated", capacity={"cpu": "4", "memory": "16Gi"})
    cluster.core.create_namespaced_pod(namespace, pod_manifest("held", queue=queue, gates=(OTHER_GATE,)))
    admitted = eventually(
        lambda: ADMITTED_AT in annotations(p := cluster.core.read_namespaced_pod("held", namespace)) and p,
        what="the pod to be admitted",
    )
    assert gate_names(admitted) == [OTHER_GATE]
    assert admitted.spec.node_name is None

    cluster.core.patch_namespaced_pod("held", namespace, {"spec": {"schedulingGates": None}})
    eventually(
        lambda: cluster.core.read_namespaced_pod("held", namespace).status.phase == "Running",
        what="the pod to run once the other gate is gone",
    )


# -- bad input --------------------------------------------------------------------------------


def test_a_pod_for_a_missing_queue_waits_and_is_admitted_once_the_queue_exists(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.name("late")
    cluster.core.create_namespaced_pod(namespace, pod_manifest("early", queue=queue))
    waiting = eventually(
        lambda: (
            annotations(p := cluster.core.read_namespaced_pod("early", namespace)).get(WAITING_REASON) and p
        ),
        what="the pod to say why it waits",
    )
    assert annotations(waiting)[WAITING_REASON] == "QueueNotFound"
    assert queue in annotations(waiting)["ebbtide.io/waiting-message"]
    assert gate_names(waiting) == [SCHEDULING_GATE]
    eventually(
        lambda: events_for(cluster, namespace, "early").get("QueueNotFound") == "Warning",
        what="a QueueNotFound warning event",
    )

    queues.create("late", capacity={"cpu": "4", "memory": "16Gi"})
    eventually(
        lambda: cluster.core.read_namespaced_pod("early", namespace).status.phase == "Running",
        what="the pod to be admitted and run once its queue exists",
    )


def test_workloads_over_the_limit_or_from_a_refused_namespace_wait_with_their_reason(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    capacity = {"cpu": "8", "memory": "16Gi"}
    small = queues.create("small", capacity=capacity, limit={"cpu": "1"})
    picky = queues.create("picky", capacity=capacity, namespaceSelector={"matchLabels": {"team": "blue"}})
    cluster.core.create_namespaced_pod(namespace, pod_manifest("big", queue=small, cpu="2"))
    cluster.core.create_namespaced_pod(namespace, pod_manifest("stranger", queue=picky))

    def reasons() -> dict[str, str] | None:
        found = {
            name: annotations(cluster.core.read_namespaced_pod(name, namespace)).get(WAITING_REASON, "")
            for name in ("big", "stranger")
        }
        return found if all(found.values()) else None

    assert eventually(reasons, what="both pods to say why they wait") == {
        "big": "ExceedsQueueLimit",
        "stranger": "NamespaceNotAllowed",
    }
    big = cluster.core.read_namespaced_pod("big", namespace)
    assert gate_names(big) == [SCHEDULING_GATE]
    assert QUEUE_POSITION not in annotations(big)  # never admittable as things stand: no place in line
    condition = eventually(
        lambda: next(
            (
                c
                for c in queues.read(small).get("status", {}).get("conditions", [])
                if c["type"] == "InadmissibleWorkloads" and c["status"] == "True"
            ),
            None,
        ),
        what="the queue to report the workload it cannot admit",
    )
    assert condition["reason"] == "ExceedsQueueLimit"

    cluster.core.patch_namespace(namespace, {"metadata": {"labels": {"team": "blue"}}})
    eventually(
        lambda: ADMITTED_AT in annotations(cluster.core.read_namespaced_pod("stranger", namespace)),
        what="the pod to be admitted once its namespace is allowed",
    )


# -- Jobs -------------------------------------------------------------------------------------


def test_backlogged_queues_share_capacity_by_weight(
    cluster: E2ECluster,
    namespace: str,
    operator: OperatorProcess,
    queues: Queues,
    record_property: Callable[[str, object], None],
) -> None:
    # The cohort's capacity is the smallest any of its queues declares: while heavy declares
    # none, nothing is admitted, so both backlogs are complete before the first admission.
    light = queues.create("light", weight=1, capacity={"cpu": "8", "memory": "32Gi"})
    heavy = queues.create("heavy", weight=3, capacity={"cpu": "0", "memory": "32Gi"})
    counts = {light: 22, heavy: 66}  # at 1:3 both drain at about the same time, ~40 s in
    for queue, count in counts.items():
        for index in range(count):
            created = cluster.batch.create_namespaced_job(
                namespace, job_manifest(f"{queue[-5:]}-{index:03d}", queue=queue, duration="2s")
            )
            assert created.spec.suspend
    cluster.custom.patch_cluster_custom_object(
        API_GROUP, API_VERSION, FairQueue.PLURAL, heavy, {"spec": {"capacity": {"cpu": "8"}}}
    )

    def jobs_by_queue() -> dict[str, list[client.V1Job]]:
        grouped: dict[str, list[client.V1Job]] = defaultdict(list)
        for job in cluster.batch.list_namespaced_job(namespace).items:
            grouped[job.metadata.labels[QUEUE_LABEL]].append(job)
        return grouped

    def one_queue_drained() -> dict[str, list[client.V1Job]] | None:
        grouped = jobs_by_queue()
        drained = any(all(ADMITTED_AT in annotations(job) for job in jobs) for jobs in grouped.values())
        return grouped if drained else None

    grouped = eventually(one_queue_drained, timeout=150, every=1, what="one queue to admit its whole backlog")
    # The window in which both queues had work waiting: from the first admission to the last
    # admission of the queue that drained first.
    admitted_at = {
        queue: sorted(
            parse_time(annotations(job)[ADMITTED_AT]) for job in jobs if ADMITTED_AT in annotations(job)
        )
        for queue, jobs in grouped.items()
    }
    start = min(times[0] for times in admitted_at.values())
    end = min(times[-1] for queue, times in admitted_at.items() if len(times) == counts[queue])
    in_window = {
        job.metadata.name
        for jobs in grouped.values()
        for job in jobs
        if ADMITTED_AT in annotations(job) and parse_time(annotations(job)[ADMITTED_AT]) < end
    }

    def finished_in_window() -> dict[str, list[client.V1Job]] | None:
        grouped = jobs_by_queue()
        done = all(
            job.status.completion_time is not None
            for jobs in grouped.values()
            for job in jobs
            if job.metadata.name in in_window
        )
        return grouped if done else None

    grouped = eventually(
        finished_in_window, timeout=60, every=1, what="the Jobs admitted in the window to finish"
    )
    cpu_seconds = {}
    for queue, jobs in grouped.items():
        total = 0.0
        for job in jobs:
            if job.metadata.name not in in_window:
                continue
            began = max(parse_time(annotations(job)[ADMITTED_AT]), start)
            ended = min(job.status.completion_time.astimezone(UTC), end)
            total += max(0.0, (ended - began).total_seconds())  # one cpu per Job
        cpu_seconds[queue] = total
    ratio = cpu_seconds[heavy] / cpu_seconds[light]
    record_property("cpu_seconds_ratio", round(ratio, 3))
    record_property("window_seconds", round((end - start).total_seconds(), 1))
    assert (end - start).total_seconds() > 15, "the backlog must last long enough to measure"
    assert 2.0 <= ratio <= 4.5, (
        f"heavy/light cpu-seconds {cpu_seconds} (ratio {ratio:.2f}) over {end - start}"
    )


class AdmissionRecorder:
    """Watches a namespace's Jobs and keeps every distinct ``admitted-at`` value each one had
    (through control-plane outages too: see :mod:`tests.support.watching`)."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        self.values: dict[str, list[str]] = defaultdict(list)
        self.removed: set[str] = set()
        self._followed = FollowedObjects(
            cluster.batch.list_namespaced_job, namespace, lambda obj: self._record(obj.get("metadata") or {})
        )

    def __enter__(self) -> AdmissionRecorder:
        self._followed.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._followed.stop()

    def _record(self, metadata: dict[str, Any]) -> None:
        name, value = metadata.get("name"), (metadata.get("annotations") or {}).get(ADMITTED_AT)
        seen = self.values[name]
        if value is None and seen:
            self.removed.add(name)
        elif value is not None and value not in seen:
            seen.append(value)


def test_a_killed_operator_loses_no_admission_and_makes_none_twice(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess, queues: Queues
) -> None:
    queue = queues.create("steady", capacity={"cpu": "4", "memory": "16Gi"})
    names = [f"job-{index:02d}" for index in range(16)]
    with AdmissionRecorder(cluster, namespace) as recorder:
        for name in names:
            cluster.batch.create_namespaced_job(
                namespace, job_manifest(name, queue=queue, duration="2s", completions=2)
            )

        def admitted_count() -> int:
            jobs = cluster.batch.list_namespaced_job(namespace).items
            return sum(1 for job in jobs if ADMITTED_AT in annotations(job))

        eventually(lambda: 4 <= admitted_count() <= 8, what="the backlog to be part-way admitted")
        operator.kill()
        with pytest.raises(ApiException) as refused:
            cluster.core.create_namespaced_pod(namespace, pod_manifest("while-down", queue=queue))
        # failurePolicy Fail: while the operator is down, queued work is refused, never let through.
        assert refused.value.status == 500
        assert "fairqueue.ebbtide.io" in str(refused.value.body)
        assert admitted_count() < len(names), "the operator must die with work still pending"

        operator.start()

        def all_complete() -> list[client.V1Job] | None:
            jobs = cluster.batch.list_namespaced_job(namespace).items
            done = len(jobs) == len(names) and all(job.status.succeeded == 2 for job in jobs)
            return jobs if done else None

        jobs = eventually(all_complete, timeout=180, every=1, what="every Job to run its two completions")
        # The watch has seen every write; let it catch up with the last ones.
        eventually(
            lambda: all(recorder.values.get(name) for name in names), what="the watch to see every admission"
        )

    for job in jobs:
        assert (job.status.succeeded, job.status.failed or 0) == (2, 0), job.metadata.name
    assert {name: len(values) for name, values in recorder.values.items()} == dict.fromkeys(names, 1)
    assert recorder.removed == set()
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name").items
    per_job: dict[str, int] = defaultdict(int)
    for pod in pods:
        per_job[pod.metadata.labels["batch.kubernetes.io/job-name"]] += 1
    assert per_job == dict.fromkeys(names, 2)
