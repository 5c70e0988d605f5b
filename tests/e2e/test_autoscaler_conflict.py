"""Two ScalingPolicies on one Deployment, on the test bed with the real operator: each reports
the other in its AutoscalerConflict condition, and the survivor's condition clears when the
other is deleted."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.test_scaling_policy import PLURAL, POLICY, condition, create_deployment, create_policy
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.operator import namespaced_scaling_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION

pytestmark = pytest.mark.e2e

SECOND = "web-second"


def conflict_of(cluster: E2ECluster, namespace: str, name: str) -> dict[str, Any]:
    found = cluster.custom.get_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, name)
    return condition(found.get("status") or {}, "AutoscalerConflict")


def test_two_policies_on_one_target_each_name_the_other_until_one_is_deleted(
    cluster: E2ECluster, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> None:
    with namespaced_scaling_operator(cluster, chart_identities, namespace, log=tmp_path / "operator.log"):
        create_deployment(cluster, namespace, replicas=1)
        first = create_policy(cluster, namespace, query="vector(10)")
        second = copy.deepcopy({k: first[k] for k in ("apiVersion", "kind", "spec")})
        second["metadata"] = {"name": SECOND}
        cluster.custom.create_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, second)
        for name, other in ((POLICY, SECOND), (SECOND, POLICY)):
            found = eventually(
                lambda name=name: (c := conflict_of(cluster, namespace, name)).get("status") == "True" and c,
                timeout=90,
                what=f"{name} to report its conflict",
            )
            assert found["reason"] == "ScalingPolicyFound"
            assert found["message"].startswith(f"ScalingPolicy {other} also scales Deployment web")
        cluster.kubectl("delete", "scalingpolicy", SECOND, "-n", namespace, "--wait=true")
        eventually(
            lambda: not conflict_of(cluster, namespace, POLICY),
            timeout=90,
            what="the conflict to clear once the second policy is gone",
        )
        cluster.kubectl("delete", "scalingpolicies", "--all", "-n", namespace, "--wait=true")
