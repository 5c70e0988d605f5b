"""Pausing a ScalingPolicy and resuming it, on the test bed with the real operator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.test_scaling_policy import (
    POLICY,
    condition,
    create_deployment,
    create_policy,
    replicas,
    status,
)
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import namespaced_scaling_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy

pytestmark = pytest.mark.e2e


@pytest.fixture
def scaled_to_three(
    cluster: E2ECluster, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> Iterator[LoadExporter]:
    with (
        load_exporter(cluster, job=f"load-{namespace}") as exporter,
        namespaced_scaling_operator(cluster, chart_identities, namespace, log=tmp_path / "operator.log"),
    ):
        create_deployment(cluster, namespace, replicas=1)
        exporter.set(25)
        create_policy(
            cluster, namespace, query=exporter.query, cooldown={"scaleUp": "0s", "scaleDown": "10s"}
        )
        eventually(lambda: replicas(cluster, namespace) == 3, what="3 replicas for a load of 25")
        try:
            yield exporter
        finally:
            cluster.kubectl("delete", "scalingpolicies", "--all", "-n", namespace, "--wait=true")


def set_paused(cluster: E2ECluster, namespace: str, paused: str) -> None:
    cluster.custom.patch_namespaced_custom_object(
        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, POLICY, {"spec": {"paused": paused}}
    )


def test_a_paused_policy_holds_its_replicas_and_resumes_when_unpaused(
    cluster: E2ECluster, namespace: str, scaled_to_three: LoadExporter
) -> None:
    set_paused(cluster, namespace, "Both")
    eventually(
        lambda: condition(status(cluster, namespace), "ScalingActive").get("reason") == "Paused",
        what="ScalingActive=False, reason Paused",
    )
    scaled_to_three.set(55)
    held = eventually(
        lambda: (s := status(cluster, namespace)).get("desiredReplicas") == 6 and s,
        what="the paused policy to decide on 6 replicas",
    )
    assert held["currentReplicas"] == 3
    assert replicas(cluster, namespace) == 3
    assert condition(held, "ScalingActive")["message"] == "spec.paused is Both: scaling is paused"

    # One direction only: scale-downs paused, so the scale-up to 6 goes ahead.
    set_paused(cluster, namespace, "ScaleDown")
    eventually(
        lambda: replicas(cluster, namespace) == 6, what="the scale-up to 6 once only scale-downs pause"
    )
    scaled_to_three.set(25)
    eventually(
        lambda: status(cluster, namespace).get("desiredReplicas") == 3,
        timeout=90,
        what="a decision to scale down to 3",
    )
    assert replicas(cluster, namespace) == 6

    set_paused(cluster, namespace, "None")
    eventually(lambda: replicas(cluster, namespace) == 3, timeout=90, what="the scale-down once resumed")
    # The round patches /scale before it writes its status: the status may come a moment later.
    eventually(
        lambda: condition(status(cluster, namespace), "ScalingActive").get("reason") == "Active",
        what="ScalingActive, reason Active, once resumed",
    )
