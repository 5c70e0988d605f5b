"""ScalingLimited on the test bed: the real operator reports when maxReplicas caps the count the
load asks for, as `kubectl wait --for=condition=ScalingLimited` sees it, and clears it when the
bound is raised."""

from __future__ import annotations

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
from tests.support.load_exporter import load_exporter
from tests.support.operator import namespaced_scaling_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy

pytestmark = pytest.mark.e2e


def test_max_replicas_that_binds_shows_as_scaling_limited_until_raised(
    cluster: E2ECluster, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> None:
    with (
        load_exporter(cluster, job=f"load-{namespace}") as exporter,
        namespaced_scaling_operator(cluster, chart_identities, namespace, log=tmp_path / "operator.log"),
    ):
        create_deployment(cluster, namespace, replicas=1)
        exporter.set(45)  # 10 per replica: 5 replicas wanted
        create_policy(cluster, namespace, query=exporter.query, maxReplicas=3)
        cluster.kubectl(
            "wait", f"scalingpolicy/{POLICY}", "-n", namespace,
            "--for=condition=ScalingLimited", "--timeout=90s",
        )  # fmt: skip
        limited = condition(status(cluster, namespace), "ScalingLimited")
        assert limited["reason"] == "TooManyReplicas"
        assert limited["message"] == "the load asks for 5 replicas; maxReplicas is 3"
        assert replicas(cluster, namespace) == 3

        cluster.custom.patch_namespaced_custom_object(
            API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, POLICY, {"spec": {"maxReplicas": 10}}
        )
        eventually(
            lambda: (
                condition(status(cluster, namespace), "ScalingLimited").get("reason") == "DesiredWithinRange"
            ),
            timeout=90,
            what="ScalingLimited to clear once maxReplicas no longer binds",
        )
        assert condition(status(cluster, namespace), "ScalingLimited")["status"] == "False"
        eventually(lambda: replicas(cluster, namespace) == 5, what="5 replicas once the bound is raised")
        cluster.kubectl("delete", "scalingpolicies", "--all", "-n", namespace, "--wait=true")
