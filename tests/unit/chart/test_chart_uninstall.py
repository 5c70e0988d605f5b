"""``helm uninstall`` runs ``ebbtide release-all`` first, as a pre-delete hook that runs as the
operator (the only identity the admission policies let release queued work), with the few extra
rights it needs bound only while the hook runs."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.chart.chart_rendering import Manifest, render

from ebbtide.commands.release_all import release_all as release_all_command

pytestmark = pytest.mark.unit

HOOK = "rel-ebbtide-uninstall"


def hook_objects(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["metadata"]["name"] == HOOK]


def parsed(args: list[str]) -> dict[str, Any]:
    with release_all_command.make_context("release-all", args[1:], resilient_parsing=False) as ctx:
        return dict(ctx.params)


def test_the_hook_releases_everything_before_helm_deletes_anything() -> None:
    objects = hook_objects(render())
    assert sorted(m["kind"] for m in objects) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Job",
        "Role",
        "RoleBinding",
    ]
    for obj in objects:
        annotations = obj["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-delete"
        assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    weights = {m["kind"]: int(m["metadata"]["annotations"]["helm.sh/hook-weight"]) for m in objects}
    assert max(w for kind, w in weights.items() if kind != "Job") < weights["Job"]
    [job] = [m for m in objects if m["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "rel-ebbtide-operator"
    for binding in (m for m in objects if m["kind"].endswith("Binding")):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "rel-ebbtide-operator", "namespace": "ebbtide-system"}
        ]
    params = parsed(pod["containers"][0]["args"])
    assert params["operator_deployment"] == ("ebbtide-system", "rel-ebbtide-operator")
    assert params["webhook_configurations"] == ("rel-ebbtide-fairqueue",)


def test_the_hook_may_delete_only_the_charts_webhook_configuration_and_scale_only_its_operator() -> None:
    objects = {m["kind"]: m for m in hook_objects(render())}
    cluster_rules = objects["ClusterRole"]["rules"]
    [webhook] = [r for r in cluster_rules if "mutatingwebhookconfigurations" in r["resources"]]
    assert (webhook["resourceNames"], webhook["verbs"]) == (["rel-ebbtide-fairqueue"], ["delete"])
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in cluster_rules)
    for rule in objects["Role"]["rules"]:
        if rule["apiGroups"] == ["apps"]:
            assert rule["resourceNames"] == ["rel-ebbtide-operator"]


def test_without_the_queueing_controller_the_hook_leaves_webhooks_pods_and_jobs_alone() -> None:
    objects = {m["kind"]: m for m in hook_objects(render({"operator.controllers": "{scaling}"}))}
    resources = {res for rule in objects["ClusterRole"]["rules"] for res in rule["resources"]}
    assert resources == {"scalingpolicies"}
    args = objects["Job"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not any(arg.startswith("--webhook-configuration") for arg in args)


def test_the_hook_can_be_left_out() -> None:
    assert hook_objects(render({"uninstall.releaseAll": "false"})) == []
