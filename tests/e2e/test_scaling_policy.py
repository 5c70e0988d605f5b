"""ScalingPolicy end to end: the real operator process, the real API server and controllers,
KWOK nodes and a real Prometheus scraping a load the test drives.

Each test runs its own operator, limited to the test's namespace, with 2-second rounds and short
windows. Every wait polls for a state with a timeout; nothing sleeps and asserts on timing.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import (
    OperatorProcess,
    namespaced_scaling_operator,
)
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.kube.finalizers import KOPF_FINALIZER

pytestmark = pytest.mark.e2e

PLURAL = ScalingPolicy.PLURAL
TARGET = "web"
POLICY = "web"


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def operator(
    cluster: E2ECluster, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """The operator with the chart's service account, watching only this test's namespace (its
    policies go with the namespace: nothing holds them, whether or not an operator runs)."""
    with namespaced_scaling_operator(
        cluster, chart_identities, namespace, log=tmp_path / "operator.log"
    ) as process:
        yield process


@pytest.fixture
def exporter(cluster: E2ECluster, namespace: str) -> Iterator[LoadExporter]:
    with load_exporter(cluster, job=f"load-{namespace}") as running:
        yield running


def create_deployment(cluster: E2ECluster, namespace: str, *, replicas: int, name: str = TARGET) -> None:
    labels = {"app": name}
    cluster.apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
                },
            },
        },
    )


def create_policy_body(*, query: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": ScalingPolicy.KIND,
        "metadata": {"name": POLICY},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": TARGET},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metric": {"query": query, "targetPerReplica": 10},
            "interval": "2s",
            "prediction": {"model": "None", "horizon": "10s", "history": "2m", "seasonality": None},
            "rateLimits": {"scaleUp": {"maxPods": 10, "period": "1s"}, "scaleDown": {"period": "1s"}},
            **spec,
        },
    }


def create_policy(cluster: E2ECluster, namespace: str, *, query: str, **spec: Any) -> dict[str, Any]:
    body = create_policy_body(query=query, **spec)
    return dict(
        cluster.custom.create_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, body)
    )


def policy(cluster: E2ECluster, namespace: str) -> dict[str, Any]:
    return dict(
        cluster.custom.get_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, POLICY)
    )


def status(cluster: E2ECluster, namespace: str) -> dict[str, Any]:
    return dict(policy(cluster, namespace).get("status") or {})


def condition(found: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in found.get("conditions") or [] if c["type"] == type_), {})


def replicas(cluster: E2ECluster, namespace: str) -> int:
    return int(cluster.apps.read_namespaced_deployment(TARGET, namespace).spec.replicas)


def reason(found: dict[str, Any]) -> str | None:
    return (found.get("lastDecision") or {}).get("reason")


def events(
    cluster: E2ECluster, namespace: str, *, kind: str = "ScalingPolicy", name: str = POLICY
) -> list[Any]:
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    return list(cluster.core.list_namespaced_event(namespace, field_selector=selector).items)


def event_reasons(cluster: E2ECluster, namespace: str, **which: str) -> list[str]:
    return [e.reason for e in events(cluster, namespace, **which)]


def wait_for_event(cluster: E2ECluster, namespace: str, reason: str, **which: str) -> list[str]:
    """Wait for an event with ``reason`` (events are posted just after the status is written)."""
    return eventually(
        lambda: (reasons := event_reasons(cluster, namespace, **which)) and reason in reasons and reasons,
        what=f"a {reason} event",
    )


def wait_for_status(
    cluster: E2ECluster, namespace: str, check: Any, *, what: str, timeout: float = 60
) -> dict[str, Any]:
    def matching() -> dict[str, Any] | None:
        found = status(cluster, namespace)
        return found if found and check(found) else None

    return eventually(matching, timeout=timeout, what=what)


def decisions(operator: OperatorProcess) -> float:
    """How many decisions the operator has made (it watches only the test's namespace)."""
    with urllib.request.urlopen(operator.metrics_url, timeout=5) as response:
        exposition = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("ebbtide_scaling_decisions_total{")
    )


def wait_for_rounds(operator: OperatorProcess, count: int) -> None:
    """Wait until the operator has decided ``count`` more times (the status is not rewritten
    every round when only the load moves, so /metrics counts the rounds)."""
    start = decisions(operator)
    eventually(lambda: decisions(operator) >= start + count, timeout=60, what=f"{count} more rounds")


# -- the tests -----------------------------------------------------------------------------------


def test_scales_up_ahead_of_a_rising_load_and_down_after_the_stabilisation_window(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.ramp(start=5, per_second=1.5)
    create_policy(
        cluster,
        namespace,
        query=exporter.query,
        maxReplicas=20,
        prediction={"model": "Linear", "horizon": "10s", "history": "2m", "seasonality": None},
        cooldown={"scaleUp": "0s", "scaleDown": "20s"},
    )

    ahead = wait_for_status(
        cluster,
        namespace,
        lambda s: (
            reason(s) == "ScaleUpOnForecast"
            and s["desiredReplicas"] > math.ceil(s["load"] / 10)
            and s["desiredReplicas"] > 1
        ),
        what="a scale-up on the forecast, beyond what the observed load asks",
    )
    assert ahead["predictedLoad"] > ahead["load"]
    assert ahead["model"] == "Linear"
    assert "forecasts" in ahead["lastDecision"]["message"]
    eventually(lambda: replicas(cluster, namespace) >= ahead["desiredReplicas"], what="the Deployment scaled")
    wait_for_event(cluster, namespace, "ScaleUpOnForecast")
    wait_for_event(cluster, namespace, "ScaleUpOnForecast", kind="Deployment", name=TARGET)
    with urllib.request.urlopen(operator.metrics_url, timeout=5) as response:
        exposition = response.read().decode()
    labels = f'name="{POLICY}",namespace="{namespace}",reason="ScaleUpOnForecast"'
    assert f"ebbtide_scaling_decisions_total{{{labels}}}" in exposition
    assert "ebbtide_prometheus_query_seconds_bucket" in exposition

    peak = eventually(lambda: (r := replicas(cluster, namespace)) >= 4 and r, what="at least 4 replicas")
    exporter.set(5)
    seen: set[str] = set()

    def scaled_down() -> bool:
        found = status(cluster, namespace)
        seen.add(reason(found) or "")
        return replicas(cluster, namespace) == 1

    eventually(scaled_down, timeout=120, what="the scale-down to 1 replica")
    # Down after the stabilisation window, or earlier when the forecast confirms the drop.
    assert seen & {"ScaleDownStabilising", "ScaleDownOnForecast"}, f"scale-down from {peak}: {seen}"
    assert condition(status(cluster, namespace), "Ready")["status"] == "True"


def test_scales_down_on_the_forecast_before_the_window_and_meets_a_returning_load(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(60)
    create_policy(
        cluster,
        namespace,
        query=exporter.query,
        maxReplicas=20,
        prediction={"model": "Naive", "horizon": "10s", "history": "2m", "quantile": 0.9},
        # A window far longer than the test: a scale-down within it can only be on the forecast.
        cooldown={"scaleUp": "0s", "scaleDown": "30m"},
    )
    eventually(lambda: replicas(cluster, namespace) >= 6, what="6 replicas for a load of 60")
    # Let the forecast's calibration see the load steady for a while.
    wait_for_rounds(operator, 15)
    before = replicas(cluster, namespace)

    exporter.set(15)
    down = wait_for_status(
        cluster,
        namespace,
        lambda s: reason(s) == "ScaleDownOnForecast",
        what="a scale-down on the forecast, long before the 30m window",
        timeout=120,
    )
    assert down["desiredReplicas"] < before
    assert down["desiredReplicas"] >= math.ceil(15 / 10)
    assert down["predictedPeak"] is not None
    wait_for_event(cluster, namespace, "ScaleDownOnForecast")
    wait_for_event(cluster, namespace, "ScaleDownOnForecast", kind="Deployment", name=TARGET)
    eventually(lambda: replicas(cluster, namespace) < before, what="the Deployment scaled down")

    # The load comes back: the reactive rule on the observed load still scales up at once.
    exporter.set(70)
    back = wait_for_status(
        cluster,
        namespace,
        lambda s: s.get("load", 0) >= 70 and s["desiredReplicas"] >= 7,
        what="7 replicas again for a load of 70",
    )
    # Met at once, by the reactive rule or the forecast on top of it; what follows (a scale-down
    # on the forecast from an overshoot, say) never goes below what the load needs.
    assert reason(back) not in {"LoadUnavailable", "FallbackHold", "FallbackReplicas"}
    eventually(lambda: replicas(cluster, namespace) >= 7, what="the Deployment scaled back up")


def test_holds_replicas_while_prometheus_is_down_and_resumes_after(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(25)
    create_policy(
        cluster, namespace, query=exporter.query, fallback={"failureThreshold": 2, "action": "Hold"}
    )
    eventually(lambda: replicas(cluster, namespace) == 3, what="3 replicas for a load of 25")

    cluster.stop_prometheus()
    try:
        exporter.set(55)
        down = wait_for_status(
            cluster,
            namespace,
            lambda s: (
                condition(s, "MetricsAvailable").get("status") == "False" and reason(s) == "FallbackHold"
            ),
            what="MetricsAvailable=False and the fallback holding",
        )
        assert "cannot reach Prometheus" in condition(down, "MetricsAvailable")["message"]
        assert condition(down, "ScalingActive")["status"] == "False"
        assert down["desiredReplicas"] == 3
        assert replicas(cluster, namespace) == 3
        wait_for_event(cluster, namespace, "MetricsUnavailable")
        # One warning for the outage however many rounds it lasts (an earlier one may tell that
        # the policy started before Prometheus first scraped the exporter).
        warnings = [
            e
            for e in events(cluster, namespace)
            if e.reason == "MetricsUnavailable" and "cannot reach Prometheus" in e.message
        ]
        assert len(warnings) == 1, [(e.message, e.first_timestamp, e.count) for e in warnings]
        assert (warnings[0].type, warnings[0].count) == ("Warning", 1)
    finally:
        cluster.start_prometheus()

    eventually(lambda: replicas(cluster, namespace) == 6, timeout=90, what="scaling to resume (6 replicas)")
    wait_for_status(
        cluster,
        namespace,
        lambda s: condition(s, "MetricsAvailable").get("status") == "True",
        what="MetricsAvailable=True",
    )
    wait_for_event(cluster, namespace, "MetricsAvailable")


def test_starts_while_prometheus_is_down_and_scales_once_it_answers(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    exporter: LoadExporter,
    tmp_path: Path,
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(25)
    cluster.stop_prometheus()
    try:
        with namespaced_scaling_operator(
            cluster, chart_identities, namespace, log=tmp_path / "operator.log"
        ) as operator:
            # Healthy, having said once why it starts without Prometheus.
            said = [line for line in operator.log_text().splitlines() if "does not answer yet" in line]
            assert len(said) == 1, operator.log_text()[-3000:]
            assert f"cannot reach Prometheus at {cluster.prometheus_url}" in said[0]

            create_policy(
                cluster,
                namespace,
                query=exporter.query,
                fallback={"failureThreshold": 2, "action": "Hold"},
            )
            waiting = wait_for_status(
                cluster,
                namespace,
                lambda s: condition(s, "MetricsAvailable").get("status") == "False",
                what="MetricsAvailable=False while Prometheus is down",
            )
            assert "cannot reach Prometheus" in condition(waiting, "MetricsAvailable")["message"]
            assert replicas(cluster, namespace) == 1
            assert operator.process is not None and operator.process.poll() is None

            cluster.start_prometheus()
            eventually(
                lambda: replicas(cluster, namespace) == 3,
                timeout=90,
                what="3 replicas for a load of 25 once Prometheus answers",
            )
            wait_for_status(
                cluster,
                namespace,
                lambda s: condition(s, "MetricsAvailable").get("status") == "True",
                what="MetricsAvailable=True",
            )
    finally:
        cluster.start_prometheus()


def test_dry_run_reports_decisions_and_never_patches(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(45)
    create_policy(cluster, namespace, query=exporter.query, mode="DryRun")

    decided = wait_for_status(
        cluster, namespace, lambda s: s.get("desiredReplicas") == 5, what="desiredReplicas 5 in DryRun"
    )
    assert reason(decided) == "ScaleUpOnLoad"
    assert condition(decided, "ScalingActive")["reason"] == "DryRun"
    wait_for_rounds(operator, 3)
    later = status(cluster, namespace)
    assert later["desiredReplicas"] == 5
    assert later["currentReplicas"] == 1
    deployment = cluster.apps.read_namespaced_deployment(TARGET, namespace)
    assert deployment.spec.replicas == 1
    assert all(entry.manager != "ebbtide" for entry in deployment.metadata.managed_fields or [])
    assert event_reasons(cluster, namespace).count("DryRunScaleUpOnLoad") == 1


def test_misconfiguration_is_reported_in_conditions_and_events(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=2)
    create_policy(cluster, namespace, query='sum(ebbtide_test_load{job="x"')

    refused = wait_for_status(
        cluster,
        namespace,
        lambda s: condition(s, "MetricsAvailable").get("status") == "False",
        what="MetricsAvailable=False for an invalid query",
    )
    message = condition(refused, "MetricsAvailable")["message"]
    assert "parse error" in message, message
    assert replicas(cluster, namespace) == 2

    # A HorizontalPodAutoscaler on the same Deployment is a conflict the policy warns about.
    autoscaling = client.AutoscalingV2Api(cluster.api_client)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "metadata": {"name": "web-hpa"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": TARGET},
                "minReplicas": 1,
                "maxReplicas": 3,
            },
        },
    )
    conflict = wait_for_status(
        cluster,
        namespace,
        lambda s: condition(s, "AutoscalerConflict").get("status") == "True",
        what="the AutoscalerConflict condition",
    )
    assert "web-hpa" in condition(conflict, "AutoscalerConflict")["message"]
    wait_for_event(cluster, namespace, "AutoscalerConflict")
    autoscaling.delete_namespaced_horizontal_pod_autoscaler("web-hpa", namespace)
    wait_for_status(
        cluster, namespace, lambda s: not condition(s, "AutoscalerConflict"), what="the conflict to clear"
    )

    # A deleted target: Ready=False and an event, then the policy carries on once it is back.
    exporter.set(35)
    patch = {"spec": {"metric": {"query": exporter.query, "targetPerReplica": 10}}}
    cluster.custom.patch_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, POLICY, patch)
    cluster.apps.delete_namespaced_deployment(TARGET, namespace)
    missing = wait_for_status(
        cluster,
        namespace,
        lambda s: condition(s, "Ready").get("reason") == "TargetNotFound",
        what="TargetNotFound",
    )
    assert condition(missing, "Ready")["status"] == "False"
    wait_for_event(cluster, namespace, "TargetNotFound")
    create_deployment(cluster, namespace, replicas=1)
    eventually(lambda: replicas(cluster, namespace) == 4, what="the re-created Deployment scaled to 4")
    wait_for_status(cluster, namespace, lambda s: condition(s, "Ready").get("status") == "True", what="Ready")


def test_a_killed_operator_resumes_without_a_scale_down_burst_or_a_lost_decision(
    cluster: E2ECluster, namespace: str, exporter: LoadExporter, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    exporter.set(55)
    create_policy(cluster, namespace, query=exporter.query, cooldown={"scaleUp": "0s", "scaleDown": "15s"})
    eventually(lambda: replicas(cluster, namespace) == 6, what="6 replicas for a load of 55")

    exporter.set(5)
    wait_for_status(
        cluster,
        namespace,
        lambda s: reason(s) == "ScaleDownStabilising",
        what="a scale-down waiting out its stabilisation window",
    )
    operator.kill()
    killed_at = datetime.now(UTC)
    # A spec change while no operator runs must not be lost either.
    changed = cluster.custom.patch_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, PLURAL, POLICY, {"spec": {"maxReplicas": 9}}
    )
    generation = changed["metadata"]["generation"]
    operator.start()

    first = wait_for_status(
        cluster,
        namespace,
        lambda s: (
            s.get("observedGeneration") == generation
            and _parse_time(s["lastDecision"]["time"]) >= killed_at.replace(microsecond=0)
        ),
        what="the restarted operator's first decision",
    )
    assert reason(first) == "ScaleDownStabilising", first["lastDecision"]
    assert first["desiredReplicas"] == 6
    assert replicas(cluster, namespace) == 6

    eventually(lambda: replicas(cluster, namespace) == 1, timeout=90, what="the scale-down after the window")
    reasons = wait_for_event(cluster, namespace, "ScaleDownOnLoad")
    assert reasons.count("ScaleUpOnLoad") == 1, reasons
    assert reasons.count("ScaleDownOnLoad") == 1, reasons


def test_an_earlier_versions_finalizer_comes_off_and_policies_are_deleted_with_or_without_an_operator(
    cluster: E2ECluster, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(cluster, namespace, replicas=1)
    # Policies as an earlier ebbtide left them, with kopf's finalizer, while no operator runs:
    # one in use, one deleted meanwhile (which the finalizer holds).
    operator.stop()
    create_policy(cluster, namespace, query="vector(5)")
    add_finalizer = {"metadata": {"finalizers": [KOPF_FINALIZER]}}
    cluster.custom.patch_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, PLURAL, POLICY, add_finalizer
    )
    held = {
        **create_policy_body(query="vector(5)"),
        "metadata": {"name": "held", **add_finalizer["metadata"]},
    }
    cluster.custom.create_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, held)
    cluster.custom.delete_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, "held")
    assert finalizers(cluster, namespace) == [KOPF_FINALIZER]
    assert policy_names(cluster, namespace) == {POLICY, "held"}

    # The upgraded operator takes the finalizer off both: the deleted one goes, the other decides.
    operator.start()
    eventually(lambda: policy_names(cluster, namespace) == {POLICY}, what="the held policy to go")
    eventually(lambda: finalizers(cluster, namespace) == [], what="kopf's finalizer taken off")
    wait_for_status(cluster, namespace, lambda s: reason(s) is not None, what="a decision")
    eventually(lambda: policy_series(operator), what="the policy's series in /metrics")
    assert policy_loops(operator) == 1

    # Deleted while the operator runs: gone at once, and its loop ends (its series go with it).
    delete_policy(cluster, namespace)
    eventually(lambda: not policy_names(cluster, namespace), what="the policy deleted")
    eventually(lambda: policy_loops(operator) == 0, what="the policy's loop to end")
    assert not policy_series(operator)

    # Created again under the same name: a fresh loop decides it; no finalizer is ever put on it.
    created = create_policy(cluster, namespace, query="vector(5)")
    wait_for_status(cluster, namespace, lambda s: reason(s) is not None, what="a new decision")
    assert policy(cluster, namespace)["metadata"]["uid"] == created["metadata"]["uid"]
    assert finalizers(cluster, namespace) == []

    # With no operator at all, deleting a policy completes at once.
    operator.stop()
    delete_policy(cluster, namespace)
    eventually(lambda: not policy_names(cluster, namespace), what="the policy deleted with no operator")


def finalizers(cluster: E2ECluster, namespace: str) -> list[str]:
    return list(policy(cluster, namespace)["metadata"].get("finalizers") or [])


def policy_names(cluster: E2ECluster, namespace: str) -> set[str]:
    found = cluster.custom.list_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL)
    return {item["metadata"]["name"] for item in found["items"]}


def delete_policy(cluster: E2ECluster, namespace: str) -> None:
    cluster.custom.delete_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, POLICY)


def exposition(operator: OperatorProcess) -> list[str]:
    with urllib.request.urlopen(operator.metrics_url, timeout=5) as response:
        return list(response.read().decode().splitlines())


def policy_series(operator: OperatorProcess) -> list[str]:
    """The operator's per-policy gauge lines of the test's policy (its loop removes them as it
    ends)."""
    return [
        line
        for line in exposition(operator)
        if line.startswith("ebbtide_scaling_desired_replicas{") and f'name="{POLICY}"' in line
    ]


def policy_loops(operator: OperatorProcess) -> float:
    [line] = [line for line in exposition(operator) if line.startswith("ebbtide_scaling_policy_loops ")]
    return float(line.split()[1])


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
