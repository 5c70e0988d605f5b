"""The operator's per-object metrics, scraped by the test bed's Prometheus as the chart's
ServiceMonitor would scrape them, and the chart's own alert expressions evaluated there: each
names the ScalingPolicy or FairQueue that fired, and a fixed object drops out."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.test_fair_queue import Queues, pod_manifest, wait_for_webhook
from tests.e2e.test_scaling_policy import POLICY, create_deployment, create_policy
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually
from tests.unit.chart.chart_rendering import EVERY_TOGGLE, one, render

import ebbtide

pytestmark = pytest.mark.e2e

RELEASE_NAMESPACE = "ebbtide-system"
JOB = "rel-ebbtide-operator-metrics"  # the metrics Service of release "rel", as the alerts select it


def alert_expression(name: str) -> str:
    """The expression of the chart's alert ``name``, as rendered for release "rel"."""
    rule = one(render(EVERY_TOGGLE), "PrometheusRule", "rel-ebbtide")
    return next(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == name)


def query(prometheus: str, expression: str) -> list[dict[str, str]]:
    """The label sets an instant query returns."""
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer: dict[str, Any] = json.load(response)
    assert answer["status"] == "success", answer
    return [dict(item["metric"]) for item in answer["data"]["result"]]


@pytest.fixture
def scraped_operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """The operator (both controllers, the chart's identity), scraped as the chart's job."""
    with (
        chart_webhook(cluster, chart_identities, tmp_path, port=free_port()) as webhook,
        running_operator(
            cluster,
            log=tmp_path / "operator.log",
            controllers="scaling,queueing",
            kubeconfig=chart_identities.operator,
            extra_args=webhook.operator_args(),
        ) as operator,
    ):
        wait_for_webhook(cluster)
        target = [f"127.0.0.1:{operator.metrics_port}"]
        cluster.add_scrape_target(job=JOB, targets=target, labels={"namespace": RELEASE_NAMESPACE})
        try:
            yield operator
        finally:
            cluster.add_scrape_target(job=JOB, targets=[])


def test_policy_alert_names_the_policy_that_is_not_ready_and_drops_it_when_fixed(
    cluster: E2ECluster, prometheus: str, namespace: str, scraped_operator: OperatorProcess
) -> None:
    create_policy(cluster, namespace, query="vector(20)")  # its Deployment does not exist yet
    not_ready = alert_expression("EbbtideScalingPolicyNotReady")
    firing = eventually(
        lambda: [m for m in query(prometheus, not_ready) if m.get("namespace") == namespace],
        timeout=90,
        what="the not-ready alert's expression to return the policy",
    )
    assert firing == [{"namespace": namespace, "name": POLICY}]
    policy = f'job="{JOB}", namespace="{namespace}", name="{POLICY}"'
    errors = query(prometheus, f"ebbtide_scaling_policy_errors_total{{{policy}}}")
    assert [m["reason"] for m in errors] == ["TargetNotFound"]
    build = query(prometheus, f'ebbtide_build_info{{job="{JOB}"}}')
    assert [(m["component"], m["version"]) for m in build] == [("operator", ebbtide.__version__)]

    create_deployment(cluster, namespace, replicas=1)
    eventually(
        lambda: not [m for m in query(prometheus, not_ready) if m.get("namespace") == namespace],
        timeout=90,
        what="the alert's expression to drop the policy once its target exists",
    )
    decided = query(prometheus, f"ebbtide_scaling_decisions_total{{{policy}}}")
    assert decided, "the policy's decisions are labelled with its namespace and name"


def test_queue_alert_names_the_queue_and_why_its_workload_can_never_be_admitted(
    cluster: E2ECluster, prometheus: str, namespace: str, scraped_operator: OperatorProcess
) -> None:
    queues = Queues(cluster)
    try:
        queue = queues.create("limited", limit={"cpu": "1", "memory": "8Gi"})
        cluster.core.create_namespaced_pod(namespace, pod_manifest("too-big", queue=queue, cpu="2"))
        inadmissible = alert_expression("EbbtideFairQueueInadmissibleWorkloads")
        firing = eventually(
            lambda: [m for m in query(prometheus, inadmissible) if m.get("queue") == queue],
            timeout=90,
            what="the inadmissible-workloads alert's expression to return the queue",
        )
        assert firing == [{"queue": queue, "reason": "ExceedsQueueLimit"}]
        active = query(
            prometheus,
            f'ebbtide_fairqueue_status_condition{{job="{JOB}", queue="{queue}", condition="Active"}} == 1',
        )
        assert [m["status"] for m in active] == ["True"]
    finally:
        queues.delete_all()
