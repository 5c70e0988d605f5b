"""``ebbtide operator`` finds its cluster as other Kubernetes tools do, takes every option from
``EBBTIDE_*`` variables, and logs in the format asked for.

The operator runs with no ``--kubeconfig`` and no ``--prometheus-url``: only ``$KUBECONFIG``
(the chart's operator identity) and ``EBBTIDE_*`` variables, in a home without ~/.kube. It
proves it reached the cluster by reconciling a ScalingPolicy whose target does not exist.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy

pytestmark = pytest.mark.e2e


def policy_body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": ScalingPolicy.KIND,
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metric": {"query": "vector(1)", "targetPerReplica": 1},
            "interval": "2s",
        },
    }


def operator_from_environment(
    cluster: E2ECluster, *, tmp_path: Path, namespace: str, env: dict[str, str], args: tuple[str, ...] = ()
) -> OperatorProcess:
    health, metrics = free_port(), free_port()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("EBBTIDE_") and k != "KUBECONFIG"}
    return OperatorProcess(
        argv=[sys.executable, "-m", "ebbtide", "operator", *args],
        env={
            **base,
            "HOME": str(home),
            "EBBTIDE_PROMETHEUS_URL": cluster.prometheus_url,
            "EBBTIDE_CONTROLLERS": "scaling",
            "EBBTIDE_NAMESPACE": namespace,
            "EBBTIDE_METRICS_HOST": "127.0.0.1",
            "EBBTIDE_METRICS_PORT": str(metrics),
            "EBBTIDE_HEALTH_PORT": str(health),
            **env,
        },
        log=tmp_path / "operator.log",
        health_port=health,
        metrics_port=metrics,
    )


@pytest.fixture
def stopped_at_end() -> Iterator[list[OperatorProcess]]:
    started: list[OperatorProcess] = []
    yield started
    for process in started:
        process.stop()


def reconciled(cluster: E2ECluster, namespace: str, name: str) -> dict[str, Any] | None:
    found = cluster.custom.get_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, name
    )
    ready = next(
        (c for c in (found.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None
    )
    return ready if ready is not None and ready["reason"] == "TargetNotFound" else None


def delete_policy(cluster: E2ECluster, namespace: str, name: str) -> None:
    cluster.custom.delete_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, name
    )
    eventually(
        lambda: (
            not cluster.custom.list_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL
            )["items"]
        ),
        timeout=60,
        what="the operator to release the policy",
    )


def test_operator_with_only_kubeconfig_set_reconciles_and_logs_json(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    tmp_path: Path,
    stopped_at_end: list[OperatorProcess],
) -> None:
    operator = operator_from_environment(
        cluster,
        tmp_path=tmp_path,
        namespace=namespace,
        env={"KUBECONFIG": str(chart_identities.operator), "EBBTIDE_LOG_FORMAT": "json"},
    )
    operator.start()
    stopped_at_end.append(operator)
    cluster.custom.create_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, policy_body("env-only")
    )
    ready = eventually(
        lambda: reconciled(cluster, namespace, "env-only"), timeout=60, what="Ready=TargetNotFound"
    )
    assert ready["status"] == "False"
    delete_policy(cluster, namespace, "env-only")
    records = [json.loads(line) for line in operator.log_text().splitlines() if line.startswith("{")]
    assert records, operator.log_text()[-2000:]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any(
        record["logger"].startswith("ebbtide.") and f"{namespace}/env-only" in record["message"]
        for record in records
    ), records[-5:]


def test_context_picks_the_working_context_of_a_kubeconfig(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    tmp_path: Path,
    stopped_at_end: list[OperatorProcess],
) -> None:
    config = yaml.safe_load(chart_identities.operator.read_text())
    good = config["contexts"][0]
    config["clusters"].append({"name": "nowhere", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}})
    config["contexts"].append(
        {"name": "nowhere", "context": {"cluster": "nowhere", "user": good["context"]["user"]}}
    )
    config["current-context"] = "nowhere"
    kubeconfig = tmp_path / "two-contexts"
    kubeconfig.write_text(yaml.safe_dump(config))

    failing = operator_from_environment(
        cluster,
        tmp_path=tmp_path,
        namespace=namespace,
        env={"KUBECONFIG": str(kubeconfig), "EBBTIDE_STARTUP_TIMEOUT": "2"},
    )
    with pytest.raises(RuntimeError, match=r"exited with 1") as failure:
        failing.start()
    errors = [line for line in failing.log_text().splitlines() if line.startswith("Error:")]
    assert errors == [errors[0]] and "cannot reach the Kubernetes API at https://127.0.0.1:" in errors[0], (
        failure
    )
    assert "Traceback" not in failing.log_text()

    operator = operator_from_environment(
        cluster,
        tmp_path=tmp_path,
        namespace=namespace,
        env={"KUBECONFIG": str(kubeconfig), "EBBTIDE_CONTEXT": good["name"]},
    )
    operator.start()
    stopped_at_end.append(operator)
    cluster.custom.create_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, policy_body("by-context")
    )
    eventually(lambda: reconciled(cluster, namespace, "by-context"), timeout=60, what="Ready=TargetNotFound")
    delete_policy(cluster, namespace, "by-context")
