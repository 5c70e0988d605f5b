"""The real kube-scheduler calls the ebbtide extender: pods land where the extender's scores say.

A second kube-scheduler (``ebbtide-scheduler``, its own lease) runs on this machine configured
with the extender (nodeCacheCapable, ignorable, 2 s timeout): the local cluster's own pair, or on
kind the same pair against kind's API server. Pods opt in with ``spec.schedulerName``. The
extender reads a per-node CPU utilisation from the test cluster's real Prometheus, fed by an
exporter this module runs.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from tests.e2e.test_testbed import eventually
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.operator import free_port

from ebbtide.devcluster.scheduling import SCHEDULER_NAME

HOT_NODE = "kwok-node-0"
LOAD_JOB = "ebbtide-node-load"


@pytest.fixture(scope="module")
def node_load(cluster: E2ECluster) -> Iterator[Gauge]:
    """A per-node utilisation gauge scraped by Prometheus (job ``ebbtide-node-load``)."""
    registry = CollectorRegistry()
    gauge = Gauge("ebbtide_test_node_cpu_utilisation", "Fake node CPU use", ["node"], registry=registry)
    for node in cluster.core.list_node().items:
        gauge.labels(node=node.metadata.name).set(0.2)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    cluster.add_scrape_target(job=LOAD_JOB, targets=[f"127.0.0.1:{port}"])
    try:
        yield gauge
    finally:
        cluster.add_scrape_target(job=LOAD_JOB, targets=[])
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def extender(
    cluster: E2ECluster, node_load: Gauge, chart_identities: ChartIdentities
) -> Iterator[E2ECluster]:
    """The second scheduler and the extender, reading the test's node load with a 0.8 CPU ceiling;
    the extender authenticates as the chart's service account."""
    config = {
        "apiVersion": "ebbtide.io/v1alpha1",
        "kind": "ExtenderConfiguration",
        "filter": {"ceilings": {"cpu": 0.8}},
        "load": {
            "queries": {"cpu": f'max by (node) (ebbtide_test_node_cpu_utilisation{{job="{LOAD_JOB}"}})'},
            "nodeLabel": "node",
            "refreshSeconds": 1,
        },
    }
    cluster.start_extender_scheduling(config=config, identities=chart_identities)
    yield cluster


def _pod(name: str, *, cpu: str = "500m", labels: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "schedulerName": SCHEDULER_NAME,
            "containers": [
                {"name": "c", "image": "pause", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}
            ],
        },
    }


def _bound_node(cluster: E2ECluster, namespace: str, name: str) -> str:
    pod = eventually(
        lambda: (p := cluster.core.read_namespaced_pod(name, namespace)).spec.node_name and p,
        what=f"pod {name} to be bound by {SCHEDULER_NAME}",
    )
    return str(pod.spec.node_name)


def _extender_metrics(cluster: E2ECluster) -> str:
    with urllib.request.urlopen(f"{cluster.extender_url}/metrics", timeout=5) as response:
        return response.read().decode()


def test_pods_sharing_an_affinity_key_land_on_the_same_node(extender: E2ECluster, namespace: str) -> None:
    key = uuid.uuid4().hex
    for i in range(4):
        extender.core.create_namespaced_pod(
            namespace, _pod(f"keyed-{i}", labels={"ebbtide.io/affinity-key": key})
        )
    nodes = {_bound_node(extender, namespace, f"keyed-{i}") for i in range(4)}
    assert len(nodes) == 1, f"pods with one affinity key were spread over {nodes}"
    assert 'verb="prioritize"' in _extender_metrics(extender)


def test_pods_without_a_key_spread_over_the_least_allocated_nodes(
    extender: E2ECluster, namespace: str
) -> None:
    for i in range(6):
        extender.core.create_namespaced_pod(namespace, _pod(f"spread-{i}", cpu="1"))
    placements = [_bound_node(extender, namespace, f"spread-{i}") for i in range(6)]
    assert len(set(placements)) >= 2, f"all pods went to one node: {placements}"


def test_a_hot_node_is_filtered_and_the_pod_event_says_why(
    extender: E2ECluster, node_load: Gauge, namespace: str
) -> None:
    node_load.labels(node=HOT_NODE).set(0.95)
    try:
        # Wait for the hot figure to reach Prometheus (and through it the extender's refresh).
        def hot_in_prometheus() -> bool:
            query = f'ebbtide_test_node_cpu_utilisation{{job="{LOAD_JOB}",node="{HOT_NODE}"}}'
            url = f"{extender.prometheus_url}/api/v1/query?query={urllib.request.quote(query)}"
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.load(response)["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) > 0.9

        eventually(hot_in_prometheus, what="Prometheus to scrape the hot node's load")
        time.sleep(3)  # the extender refreshes its load figures every second in this test
        # Only the hot node may run it: every other node is excluded by a required affinity.
        pod = _pod("pinned-to-hot")
        pod["spec"]["affinity"] = {  # type: ignore[index]
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [HOT_NODE]}]}
                    ]
                }
            }
        }
        extender.core.create_namespaced_pod(namespace, pod)

        def failed_event() -> str | None:
            events = extender.core.list_namespaced_event(
                namespace, field_selector="involvedObject.name=pinned-to-hot,reason=FailedScheduling"
            ).items
            return next((e.message for e in events if "ceiling" in (e.message or "")), None)

        message = eventually(failed_event, what="a FailedScheduling event naming the utilisation ceiling")
        # The scheduler counts reasons rather than naming nodes: "1 node cpu utilisation 95 ...".
        assert "1 node cpu utilisation 95 percent is above the ebbtide ceiling 80 percent" in message
        assert extender.core.read_namespaced_pod("pinned-to-hot", namespace).spec.node_name is None
    finally:
        node_load.labels(node=HOT_NODE).set(0.2)


def test_pods_still_schedule_without_the_extender_and_its_return_is_visible(
    extender: E2ECluster, namespace: str
) -> None:
    extender.stop_extender()
    try:
        extender.core.create_namespaced_pod(namespace, _pod("while-away"))
        assert _bound_node(extender, namespace, "while-away")  # ignorable: the scheduler carries on
    finally:
        extender.start_extender()
    health = eventually(lambda: _healthz(extender), what="the extender to report healthy again")
    assert health == 200
    extender.core.create_namespaced_pod(namespace, _pod("after-return"))
    _bound_node(extender, namespace, "after-return")
    eventually(lambda: 'verb="filter"' in _extender_metrics(extender), what="the scheduler to call it again")


def _healthz(cluster: E2ECluster) -> int | None:
    try:
        with urllib.request.urlopen(f"{cluster.extender_url}/healthz", timeout=2) as response:
            return int(response.status)
    except OSError:
        return None
