"""``kubectl ebbtide queues|queue|why|policies`` on the test bed, in table, JSON and YAML.

The commands run as a kubectl plugin (the ``kubectl-ebbtide`` executable on PATH, found by the
pinned kubectl) against work the real operator holds back and scales: a FairQueue of one CPU
with four pods and a Job waiting behind one admitted pod, and a ScalingPolicy following a load
Prometheus scrapes.
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
import yaml
from tests.e2e.test_fair_queue import Queues, job_manifest, pod_manifest, wait_for_webhook
from tests.e2e.test_scaling_policy import create_deployment, create_policy, replicas
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import OperatorProcess, free_port, namespaced_scaling_operator, running_operator
from tests.support.waiting import eventually

from ebbtide.api.fairqueue_vocabulary import QUEUE_POSITION, WAITING_REASON

pytestmark = pytest.mark.e2e


def kubectl_ebbtide(cluster: E2ECluster, *args: str, kubeconfig: Path | None = None) -> str:
    """``kubectl ebbtide ARGS``: kubectl finds the plugin beside this Python on PATH."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EBBTIDE_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(kubeconfig or cluster.kubeconfig),
    }
    result = subprocess.run(
        [str(cluster.kubectl_path), "ebbtide", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl ebbtide {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def cell(header: str, row: str, column: str) -> str:
    """The value under ``column`` in a line of ``kubectl get`` (columns are aligned; an empty
    cell is blanks, so splitting on whitespace would shift the ones after it)."""
    names = header.split()
    start = header.index(column)
    following = names.index(column) + 1
    end = header.index(names[following], start) if following < len(names) else None
    return row[start:end].strip()


def as_json(cluster: E2ECluster, *args: str) -> Any:
    return json.loads(kubectl_ebbtide(cluster, *args, "-o", "json"))


def as_yaml(cluster: E2ECluster, *args: str) -> Any:
    return yaml.safe_load(kubectl_ebbtide(cluster, *args, "-o", "yaml"))


# -- fair queues ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def queue_operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    directory = tmp_path_factory.mktemp("inspect-queues")
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
def backlog(cluster: E2ECluster, namespace: str, queue_operator: OperatorProcess) -> Iterator[str]:
    """A one-CPU queue running p0, with p1, p2, p3 and Job j waiting in that order; its name."""
    queues = Queues(cluster)
    queue = queues.create("why", capacity={"cpu": "1", "memory": "8Gi"})
    try:
        cluster.core.create_namespaced_pod(namespace, pod_manifest("p0", queue=queue, cpu="1"))
        eventually(
            lambda: cluster.core.read_namespaced_pod("p0", namespace).status.phase == "Running",
            what="p0 admitted and running",
        )
        for name in ("p1", "p2", "p3"):
            cluster.core.create_namespaced_pod(namespace, pod_manifest(name, queue=queue, cpu="1"))
        cluster.batch.create_namespaced_job(namespace, job_manifest("j", queue=queue, duration="1h"))
        eventually(
            lambda: (
                WAITING_REASON
                in (cluster.batch.read_namespaced_job("j", namespace).metadata.annotations or {})
            ),
            what="the operator to note why Job j waits",
        )
        yield queue
    finally:
        queues.delete_all()


def test_queues_lists_weight_share_entitlement_pending_and_admitted(
    cluster: E2ECluster, backlog: str
) -> None:
    def reported() -> dict[str, Any] | None:
        rows = {row["name"]: row for row in as_json(cluster, "queues")}
        row = rows.get(backlog)
        return row if row and row["pending"] == 4 and row["admitted"] == 1 else None

    row = eventually(reported, what="the queue's status to count 4 pending and 1 admitted")
    assert row["weight"] == 1
    assert row["entitlement"]["cpu"] == "1"
    assert row["active"] == "True"
    assert backlog in [row["name"] for row in as_yaml(cluster, "queues")]
    table = kubectl_ebbtide(cluster, "queues").splitlines()
    assert table[0].split() == [
        "NAME",
        "COHORT",
        "WEIGHT",
        "ORDER",
        "SHARE",
        "ENTITLEMENT",
        "PENDING",
        "ADMITTED",
        "ACTIVE",
    ]
    assert any(line.startswith(backlog) for line in table[1:])
    # kubectl itself shows readiness at a glance, and with -o wide why the head waits.
    header, row = cluster.kubectl("get", "fairqueue", backlog).stdout.splitlines()
    assert header.split()[-3:] == ["READY", "AGE", "MESSAGE"]
    assert cell(header, row, "READY") == "True"
    wide = cluster.kubectl("get", "fairqueue", backlog, "-o", "wide").stdout
    assert "WAITING" in wide and "WaitingForCapacity" not in wide.splitlines()[0]


def operator_positions(cluster: E2ECluster, namespace: str) -> dict[str, str]:
    """name -> the ebbtide.io/queue-position the operator wrote on each waiting workload."""
    pods = cluster.core.list_namespaced_pod(namespace).items
    jobs = cluster.batch.list_namespaced_job(namespace).items
    return {
        obj.metadata.name: (obj.metadata.annotations or {}).get(QUEUE_POSITION)
        for obj in (*pods, *jobs)
        if (obj.metadata.annotations or {}).get(QUEUE_POSITION)
    }


def waiting_in_order(cluster: E2ECluster, namespace: str, queue: str) -> list[dict[str, Any]]:
    """The queue's waiting work as ``kubectl ebbtide queue -o json`` lists it, once the
    operator's notes agree with it (the two compute the same order)."""

    def agreed() -> list[dict[str, Any]] | None:
        rows = as_json(cluster, "queue", queue)
        noted = operator_positions(cluster, namespace)
        return rows if noted == {row["name"]: str(row["position"]) for row in rows} else None

    return eventually(agreed, what="the CLI's positions to match the operator's notes")


def test_queue_lists_the_waiting_work_in_order(cluster: E2ECluster, namespace: str, backlog: str) -> None:
    rows = waiting_in_order(cluster, namespace, backlog)
    assert [row["position"] for row in rows] == [1, 2, 3, 4]
    assert sorted((row["kind"], row["name"]) for row in rows) == [
        ("Job", "j"),
        ("Pod", "p1"),
        ("Pod", "p2"),
        ("Pod", "p3"),
    ]
    # FIFO: oldest first (creation times tie within a second; the planner breaks ties itself).
    assert [row["createdAt"] for row in rows] == sorted(row["createdAt"] for row in rows)
    assert {row["reason"] for row in rows} == {"WaitingForCapacity"}
    in_namespace = as_yaml(cluster, "queue", backlog, "-n", namespace)
    assert [(row["name"], row["position"]) for row in in_namespace] == [
        (r["name"], r["position"]) for r in rows
    ]
    assert as_json(cluster, "queue", backlog, "-n", "elsewhere") == []
    table = kubectl_ebbtide(cluster, "queue", backlog).splitlines()
    assert table[0].split() == ["POSITION", "COHORT-POSITION", "KIND", "NAMESPACE", "NAME", "REASON", "AGE"]
    first = rows[0]
    assert table[1].split()[:6] == ["1", "1", first["kind"], namespace, first["name"], "WaitingForCapacity"]


def test_why_a_pod_waits(cluster: E2ECluster, namespace: str, backlog: str) -> None:
    rows = waiting_in_order(cluster, namespace, backlog)
    pod = next(row for row in reversed(rows) if row["kind"] == "Pod")
    position, ahead = pod["position"], [row["name"] for row in rows if row["position"] < pod["position"]]
    text = kubectl_ebbtide(cluster, "why", "pod", pod["name"], "-n", namespace)
    assert (
        f"Pod {namespace}/{pod['name']} waits in queue '{backlog}' (held by its scheduling gate) "
        f"at position {position}"
    ) in text
    assert "Why: WaitingForCapacity:" in text
    assert f"1. {rows[0]['kind']} {namespace}/{rows[0]['name']} (WaitingForCapacity)" in text
    assert "The operator's last note on it: WaitingForCapacity" in text
    facts = as_yaml(cluster, "why", "pod", pod["name"], "-n", namespace)
    assert (facts["state"], facts["position"], facts["queue"]) == ("Pending", position, backlog)
    assert [item["name"] for item in facts["ahead"]] == ahead


def test_why_a_job_waits_and_why_a_pod_runs(cluster: E2ECluster, namespace: str, backlog: str) -> None:
    rows = waiting_in_order(cluster, namespace, backlog)
    position = next(row["position"] for row in rows if row["name"] == "j")
    facts = as_json(cluster, "why", "job", "j", "-n", namespace)
    assert (facts["kind"], facts["state"], facts["position"]) == ("Job", "Pending", position)
    assert f"Job {namespace}/j waits in queue '{backlog}' (suspended) at position {position}" in facts["text"]
    assert "waits in queue" in kubectl_ebbtide(cluster, "why", "job", "j", "-n", namespace)
    admitted = as_json(cluster, "why", "pod", "p0", "-n", namespace)
    assert admitted["state"] == "Admitted"
    assert admitted["admission"]["queue"] == backlog
    text = kubectl_ebbtide(cluster, "why", "pod", "p0", "-n", namespace)
    assert f"Pod {namespace}/p0 was admitted from queue '{backlog}'" in text
    assert "Pod phase: Running, on node" in text


def test_a_missing_object_is_one_line_and_a_failure(cluster: E2ECluster, namespace: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ebbtide", "why", "pod", "absent", "-n", namespace],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: Pod {namespace}/absent not found"


# -- scaling policies ----------------------------------------------------------------------------


@pytest.fixture
def scaled(
    cluster: E2ECluster, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> Iterator[LoadExporter]:
    """Policy ``web`` in this namespace, scaled to 3 replicas for a load of 25."""
    with (
        load_exporter(cluster, job=f"load-{namespace}") as exporter,
        namespaced_scaling_operator(cluster, chart_identities, namespace, log=tmp_path / "operator.log"),
    ):
        create_deployment(cluster, namespace, replicas=1)
        exporter.set(25)
        create_policy(cluster, namespace, query=exporter.query)
        eventually(lambda: replicas(cluster, namespace) == 3, what="3 replicas for a load of 25")
        try:
            yield exporter
        finally:
            cluster.kubectl("delete", "scalingpolicies", "--all", "-n", namespace, "--wait=true")


def test_policies_lists_each_policy_and_its_decision(
    cluster: E2ECluster, namespace: str, scaled: LoadExporter
) -> None:
    def decided() -> dict[str, Any] | None:
        rows = as_json(cluster, "policies", "-n", namespace)
        return (
            rows[0] if rows and rows[0]["desiredReplicas"] == 3 and rows[0]["currentReplicas"] == 3 else None
        )

    row = eventually(decided, what="the policy's status to show 3 replicas")
    assert (row["name"], row["target"], row["ready"]) == ("web", "Deployment/web", "True")
    assert [r["name"] for r in as_yaml(cluster, "policies", "-A") if r["namespace"] == namespace] == ["web"]
    table = kubectl_ebbtide(cluster, "policies", "-A").splitlines()
    assert table[0].split()[:4] == ["NAMESPACE", "NAME", "TARGET", "MIN"]
    assert any(line.split()[:3] == [namespace, "web", "Deployment/web"] for line in table[1:])
    header, row = cluster.kubectl("get", "scalingpolicy", "web", "-n", namespace).stdout.splitlines()
    assert header.split()[-3:] == ["READY", "AGE", "MESSAGE"]
    assert cell(header, row, "READY") == "True"


def test_why_a_policy_has_its_replicas(
    cluster: E2ECluster, namespace: str, scaled: LoadExporter, tmp_path: Path
) -> None:
    eventually(
        lambda: as_json(cluster, "policies", "-n", namespace)[0]["currentReplicas"] == 3,
        what="the status to show 3 current replicas",
    )
    text = kubectl_ebbtide(cluster, "why", "scalingpolicy", "web", "-n", namespace)
    assert (
        f"ScalingPolicy {namespace}/web scales Deployment/web between 1 and 10 replicas (mode Active)."
        in text
    )
    assert "It wants 3 replicas; the target has 3." in text
    assert "Load now: 25; at 10 per replica that alone needs 3 replicas." in text
    assert "Ready=True" in text
    facts = as_yaml(cluster, "why", "sp", "web", "-n", namespace)
    assert (facts["desiredReplicas"], facts["load"]) == (3, 25)
    assert any(event["reason"] == "ScaleUpOnLoad" for event in facts["events"])
    # Without -n, the namespace of the kubeconfig's context, as kubectl does.
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = namespace
    scoped = tmp_path / "scoped-kubeconfig"
    scoped.write_text(yaml.safe_dump(config))
    facts = json.loads(
        kubectl_ebbtide(cluster, "why", "scalingpolicy", "web", "-o", "json", kubeconfig=scoped)
    )
    assert facts["namespace"] == namespace
