"""The test bed is a real cluster: real controllers, scheduler, RBAC, admission, CEL and Prometheus."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from tests.support.cluster import E2ECluster

T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, timeout: float = 60, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_deployment_gets_replicaset_and_running_pods_on_kwok_nodes(
    cluster: E2ECluster, namespace: str
) -> None:
    labels = {"app": "web"}
    cluster.apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "registry.k8s.io/pause:3.10",
                                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                            }
                        ]
                    },
                },
            },
        },
    )

    replica_sets = eventually(
        lambda: cluster.apps.list_namespaced_replica_set(namespace).items,
        what="the controller-manager to create a ReplicaSet",
    )
    assert replica_sets[0].metadata.owner_references[0].kind == "Deployment"

    def running_pods() -> list[client.V1Pod] | None:
        pods = cluster.core.list_namespaced_pod(namespace, label_selector="app=web").items
        ready = [p for p in pods if p.status.phase == "Running" and p.spec.node_name]
        return ready if len(ready) == 3 else None

    pods = eventually(running_pods, what="3 pods bound and Running")
    nodes = {n.metadata.name: n for n in cluster.core.list_node().items}
    for pod in pods:
        node = nodes[pod.spec.node_name]
        assert node.metadata.annotations.get("kwok.x-k8s.io/node") == "fake"
        assert pod.status.pod_ip
    events = cluster.core.list_namespaced_event(namespace, field_selector="reason=Scheduled").items
    assert {e.reporting_component or e.source.component for e in events} == {"default-scheduler"}
    deployment = eventually(
        lambda: (
            (d := cluster.apps.read_namespaced_deployment("web", namespace)).status.ready_replicas == 3 and d
        ),
        what="the Deployment to report 3 ready replicas",
    )
    assert deployment.status.available_replicas == 3


def test_job_pods_run_to_completion(cluster: E2ECluster, namespace: str) -> None:
    cluster.batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "batch"},
            "spec": {
                "completions": 2,
                "parallelism": 2,
                "template": {
                    "metadata": {"annotations": {"ebbtide.io/simulated-duration": "2s"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "work", "image": "registry.k8s.io/pause:3.10"}],
                    },
                },
            },
        },
    )
    job = eventually(
        lambda: (j := cluster.batch.read_namespaced_job("batch", namespace)).status.succeeded == 2 and j,
        what="the Job's two pods to succeed",
    )
    conditions = {c.type: c.status for c in job.status.conditions or []}
    assert conditions.get("Complete") == "True"


def test_crd_cel_rule_rejects_a_bad_object_with_its_message(cluster: E2ECluster, namespace: str) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.testbed.ebbtide.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"ranges.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "ranges", "singular": "range", "kind": "Range"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "low": {"type": "integer"},
                                        "high": {"type": "integer"},
                                    },
                                    "x-kubernetes-validations": [
                                        {
                                            "rule": "self.low <= self.high",
                                            "message": "low must not exceed high",
                                        }
                                    ],
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    cluster.apiext.create_custom_resource_definition(crd)
    try:
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/ranges.{group}")

        def create(low: int, high: int) -> dict[str, Any]:
            body = {
                "apiVersion": f"{group}/v1",
                "kind": "Range",
                "metadata": {"name": f"r-{low}-{high}"},
                "spec": {"low": low, "high": high},
            }
            return dict(
                cluster.custom.create_namespaced_custom_object(group, "v1", namespace, "ranges", body)
            )

        eventually(lambda: _created(lambda: create(1, 2)), what="the new CRD to serve objects")
        with pytest.raises(ApiException) as rejected:
            create(5, 2)
        assert rejected.value.status == 422
        assert "low must not exceed high" in rejected.value.body
    finally:
        cluster.apiext.delete_custom_resource_definition(f"ranges.{group}")


def _created(create: Callable[[], Any]) -> bool:
    try:
        create()
        return True
    except ApiException as error:
        if error.status == 404:  # the new resource is not served yet
            return False
        raise


def test_rbac_denies_an_unprivileged_service_account(cluster: E2ECluster, namespace: str) -> None:
    cluster.core.create_namespaced_service_account(namespace, {"metadata": {"name": "nobody"}})
    as_nobody = cluster.client_as(namespace=namespace, service_account="nobody")
    core = client.CoreV1Api(as_nobody)
    for attempt in (
        lambda: core.list_namespaced_pod(namespace),
        core.list_secret_for_all_namespaces,
        lambda: core.delete_namespace(namespace),
    ):
        with pytest.raises(ApiException) as denied:
            attempt()
        assert denied.value.status == 403
        assert f"system:serviceaccount:{namespace}:nobody" in denied.value.body

    # Granting a Role through RBAC is what lets it in: the token is genuine, only the rights were missing.
    cluster.rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
    )
    cluster.rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "nobody-reads-pods"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "nobody", "namespace": namespace}],
        },
    )

    def allowed() -> bool:
        try:
            core.list_namespaced_pod(namespace)
        except ApiException as error:
            if error.status == 403:  # the authoriser's RBAC cache has not seen the binding yet
                return False
            raise
        return True

    eventually(allowed, what="the RoleBinding to apply")


def test_service_account_tokens_are_signed_and_verifiable(cluster: E2ECluster, namespace: str) -> None:
    cluster.core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})
    token = cluster.token_for(namespace=namespace, service_account="robot")
    review = client.AuthenticationV1Api(cluster.api_client).create_token_review({"spec": {"token": token}})
    assert review.status.authenticated
    assert review.status.user.username == f"system:serviceaccount:{namespace}:robot"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    review = client.AuthenticationV1Api(cluster.api_client).create_token_review({"spec": {"token": forged}})
    assert not review.status.authenticated


def test_admission_chain_enforces_a_validating_admission_policy(cluster: E2ECluster, namespace: str) -> None:
    name = f"no-latest-{uuid.uuid4().hex[:6]}"
    admission = client.AdmissionregistrationV1Api(cluster.api_client)
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["deployments"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.replicas <= 5",
                        "message": "at most 5 replicas in this test",
                    }
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        }
    )
    try:

        def rejected() -> str | None:
            try:
                cluster.apps.create_namespaced_deployment(
                    namespace,
                    {
                        "metadata": {"name": f"big-{uuid.uuid4().hex[:6]}"},
                        "spec": {
                            "replicas": 9,
                            "selector": {"matchLabels": {"a": "b"}},
                            "template": {
                                "metadata": {"labels": {"a": "b"}},
                                "spec": {"containers": [{"name": "c", "image": "pause"}]},
                            },
                        },
                    },
                )
            except ApiException as error:
                return str(error.body) if error.status in (403, 422) else None
            return None

        assert "at most 5 replicas in this test" in eventually(rejected, what="the policy to take effect")
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


def test_prometheus_scrapes_a_target_the_test_starts(cluster: E2ECluster, prometheus: str) -> None:
    registry = CollectorRegistry()
    marker = uuid.uuid4().hex[:8]
    gauge = Gauge("ebbtide_testbed_value", "A value the test sets", ["marker"], registry=registry)
    gauge.labels(marker=marker).set(42.5)
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    job = f"testbed-{marker}"
    cluster.add_scrape_target(job=job, targets=[f"127.0.0.1:{port}"])
    try:
        query = f'ebbtide_testbed_value{{job="{job}",marker="{marker}"}}'

        def value() -> float | None:
            url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.load(response)["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        assert eventually(value, what="Prometheus to scrape the test's target") == 42.5
        gauge.labels(marker=marker).set(7)
        eventually(lambda: value() == 7, what="Prometheus to see the new value")
    finally:
        cluster.add_scrape_target(job=job, targets=[])
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
