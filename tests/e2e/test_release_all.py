"""Uninstalling leaves nothing stuck: ``ebbtide release-all``, run with the identity of the
chart's pre-delete hook (the operator's, with the hook's extra rights), against queued work the
real operator holds and a policy carrying the finalizer an earlier ebbtide kept on every policy,
under the chart's admission policies.

On this test bed the chart's hook Job would only be played by KWOK, so the command runs here as
the hook runs it: the webhook configuration and the operator are the chart's, and a stand-in for
the operator's Deployment (pods KWOK plays) shows it is scaled to zero and waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tests.e2e.test_fair_queue import Queues, job_manifest, pod_manifest, wait_for_webhook
from tests.support.chart_identities import NAMESPACE as RELEASE_NAMESPACE
from tests.support.chart_identities import ChartIdentities, chart_admission_policy, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import free_port, running_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.api.fairqueue_vocabulary import ADMISSION_DECISION, ADMITTED_AT, SCHEDULING_GATE
from ebbtide.kube.finalizers import KOPF_FINALIZER

pytestmark = pytest.mark.e2e

#: The chart's name for the operator's Deployment in the identities' release (ebbtide-e2e).
OPERATOR_DEPLOYMENT = "ebbtide-e2e-operator"


@pytest.fixture
def operator_deployment(cluster: E2ECluster) -> Iterator[str]:
    """A stand-in for the operator's Deployment: two pods KWOK runs, under the chart's name."""
    labels = {"app.kubernetes.io/component": "operator-stand-in"}
    cluster.apps.create_namespaced_deployment(
        RELEASE_NAMESPACE,
        {
            "metadata": {"name": OPERATOR_DEPLOYMENT},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "op", "image": "registry.k8s.io/pause:3.10"}]},
                },
            },
        },
    )
    try:
        eventually(
            lambda: (
                cluster.apps.read_namespaced_deployment(
                    OPERATOR_DEPLOYMENT, RELEASE_NAMESPACE
                ).status.ready_replicas
                == 2
            ),
            what="the stand-in's two pods",
        )
        yield OPERATOR_DEPLOYMENT
    finally:
        cluster.apps.delete_namespaced_deployment(OPERATOR_DEPLOYMENT, RELEASE_NAMESPACE)


def policy_body() -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": ScalingPolicy.KIND,
        "metadata": {"name": "held", "finalizers": [KOPF_FINALIZER]},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metric": {"query": "vector(1)", "targetPerReplica": 1},
            "interval": "2s",
        },
    }


def read_policy(cluster: E2ECluster, namespace: str) -> dict[str, Any] | None:
    try:
        return dict(
            cluster.custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, "held"
            )
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def run_release_all(
    cluster: E2ECluster, identities: ChartIdentities, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBBTIDE_")}
    return subprocess.run(
        [sys.executable, "-m", "ebbtide", "release-all", *args],
        env={**env, "KUBECONFIG": str(identities.uninstall)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_release_all_leaves_no_queued_work_policy_or_webhook_stuck(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    operator_deployment: str,
    tmp_path: Path,
) -> None:
    queues = Queues(cluster)
    # The chart's admission policies are enforced: only the operator's identity, which the hook
    # runs as, may let queued work go.
    with (
        chart_admission_policy(cluster, chart_identities, tmp_path),
        chart_webhook(cluster, chart_identities, tmp_path, port=free_port()) as webhook,
        running_operator(
            cluster,
            log=tmp_path / "operator.log",
            kubeconfig=chart_identities.operator,
            extra_args=webhook.operator_args(),
        ) as operator,
    ):
        try:
            wait_for_webhook(cluster)
            queue = queues.create("uninstall", capacity={"cpu": "1", "memory": "8Gi"})
            cluster.core.create_namespaced_pod(namespace, pod_manifest("running", queue=queue, cpu="1"))
            eventually(
                lambda: (
                    ADMITTED_AT
                    in (cluster.core.read_namespaced_pod("running", namespace).metadata.annotations or {})
                ),
                what="the first pod admitted",
            )
            for name in ("waiting-1", "waiting-2"):
                cluster.core.create_namespaced_pod(namespace, pod_manifest(name, queue=queue, cpu="1"))
            cluster.batch.create_namespaced_job(
                namespace, job_manifest("waiting-job", queue=queue, duration="1h")
            )
            # The chart's hook runs while the operator still does: it stops it itself (here, the
            # stand-in Deployment), so stop this one as the Deployment's pods would be stopped.
            operator.stop()
            # A policy as an earlier ebbtide left it (kopf's finalizer on), which no operator
            # running now has seen to take it off (it would: see test_scaling_policy.py).
            cluster.custom.create_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, policy_body()
            )
            configuration = chart_webhook_configuration(chart_identities)
            result = run_release_all(
                cluster,
                chart_identities,
                f"--webhook-configuration={configuration}",
                f"--operator-deployment={RELEASE_NAMESPACE}/{operator_deployment}",
            )
            assert result.returncode == 0, result.stdout + result.stderr
            lines = result.stdout.splitlines()
            assert f"deleted MutatingWebhookConfiguration {configuration}" in lines
            assert f"stopped Deployment {RELEASE_NAMESPACE}/{operator_deployment}" in lines
            assert f"removed kopf's finalizer from ScalingPolicy {namespace}/held" in lines
            assert {
                f"released Pod {namespace}/waiting-1",
                f"released Pod {namespace}/waiting-2",
                f"released Job {namespace}/waiting-job",
            } <= set(lines)

            # The stand-in operator is scaled to zero, its pods gone.
            assert (
                cluster.apps.read_namespaced_deployment(operator_deployment, RELEASE_NAMESPACE).spec.replicas
                == 0
            )
            # Nothing waits for an admission that would never come.
            for name in ("waiting-1", "waiting-2"):
                pod = cluster.core.read_namespaced_pod(name, namespace)
                assert SCHEDULING_GATE not in [gate.name for gate in pod.spec.scheduling_gates or []]
                assert "released" in json.loads(pod.metadata.annotations[ADMISSION_DECISION])
            assert cluster.batch.read_namespaced_job("waiting-job", namespace).spec.suspend is False
            # No webhook fails closed: a labelled pod is created, and not gated.
            created = cluster.core.create_namespaced_pod(namespace, pod_manifest("after", queue=queue))
            assert not created.spec.scheduling_gates
            # The policy is deleted at once, with no operator running.
            cluster.custom.delete_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, "held"
            )
            eventually(
                lambda: read_policy(cluster, namespace) is None, timeout=30, what="the policy to be deleted"
            )
        finally:
            queues.delete_all()


def chart_webhook_configuration(identities: ChartIdentities) -> str:
    [name] = [
        m["metadata"]["name"] for m in identities.manifests if m["kind"] == "MutatingWebhookConfiguration"
    ]
    return str(name)


def test_release_all_with_nothing_to_delete_or_stop_succeeds(
    cluster: E2ECluster, chart_identities: ChartIdentities
) -> None:
    result = run_release_all(
        cluster,
        chart_identities,
        f"--webhook-configuration={chart_webhook_configuration(chart_identities)}",
        f"--operator-deployment={RELEASE_NAMESPACE}/{OPERATOR_DEPLOYMENT}",
    )
    assert result.returncode == 0, result.stderr
    assert "deleted" not in result.stdout
    assert "stopped" not in result.stdout


def test_release_all_refused_by_rbac_says_so_in_one_line(
    cluster: E2ECluster, chart_identities: ChartIdentities
) -> None:
    # The hook may delete the chart's webhook configuration and no other.
    result = run_release_all(cluster, chart_identities, "--webhook-configuration=someone-elses")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: not allowed:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
