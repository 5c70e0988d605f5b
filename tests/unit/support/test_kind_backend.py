"""The kind backend's pure pieces: where the API server reaches this machine, which nodes are
tainted, how kind's DaemonSets are kept off the fake nodes, and the version checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support.chart_identities import NAMESPACE, RELEASE, granted_lease
from tests.support.kind import (
    OFF_FAKE_NODES,
    REAL_NODE,
    REAL_NODE_TAINT,
    gateway_address,
    kind_download_url,
    off_fake_nodes_patch,
    real_node_patch,
    real_node_placement,
    skew_problem,
)
from tests.unit.chart.chart_rendering import render

from ebbtide.devcluster.nodes import default_nodes

pytestmark = pytest.mark.unit

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def _network(*config: dict[str, str]) -> str:
    return json.dumps([{"Name": "kind", "IPAM": {"Driver": "default", "Config": list(config)}}])


# -- this machine's address -------------------------------------------------------------------


def test_the_host_address_is_the_kind_networks_ipv4_gateway_whatever_the_order() -> None:
    inspected = _network(
        {"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"},
        {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"},
    )
    assert gateway_address(inspected) == "172.18.0.1"


def test_without_a_named_gateway_the_host_address_is_the_subnets_first_address() -> None:
    assert gateway_address(_network({"Subnet": "172.19.0.0/16"})) == "172.19.0.1"


def test_a_network_without_ipv4_is_refused_with_its_name() -> None:
    with pytest.raises(RuntimeError, match="'kind' has no IPv4"):
        gateway_address(_network({"Subnet": "fc00::/64", "Gateway": "fc00::1"}))


# -- real nodes -------------------------------------------------------------------------------


def _node(
    *, fake: bool = False, labels: dict[str, str] | None = None, taints: list[Any] | None = None
) -> Any:
    annotations = {"kwok.x-k8s.io/node": "fake"} if fake else {}
    return {
        "metadata": {"name": "n", "annotations": annotations, "labels": labels or {}},
        "spec": {"taints": taints} if taints is not None else {},
    }


def test_a_real_node_is_labelled_and_tainted_and_keeps_its_other_taints() -> None:
    patch = real_node_patch(_node(taints=[CONTROL_PLANE_TAINT]))
    assert patch == {
        "metadata": {"labels": {REAL_NODE: "true"}},
        "spec": {"taints": [CONTROL_PLANE_TAINT, REAL_NODE_TAINT]},
    }


def test_a_node_kwok_plays_is_left_alone() -> None:
    assert real_node_patch(default_nodes()[0].manifest()) is None
    assert real_node_patch(_node(fake=True)) is None


def test_a_real_node_already_labelled_and_tainted_needs_no_patch() -> None:
    done = _node(labels={REAL_NODE: "true"}, taints=[CONTROL_PLANE_TAINT, REAL_NODE_TAINT])
    assert real_node_patch(done) is None
    tainted_only = _node(taints=[REAL_NODE_TAINT])
    assert real_node_patch(tainted_only) == {"metadata": {"labels": {REAL_NODE: "true"}}}


def test_the_charts_placement_selects_and_tolerates_exactly_the_real_node_taint() -> None:
    placement = real_node_placement()
    assert set(placement) == {"operator", "scheduler"}
    for values in placement.values():
        assert values["nodeSelector"] == {REAL_NODE: "true"}
        [toleration] = values["tolerations"]
        assert toleration == {"key": REAL_NODE, "operator": "Equal", "value": "true", "effect": "NoSchedule"}


# -- kind's DaemonSets ------------------------------------------------------------------------


def _daemon_set(affinity: dict[str, Any] | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [{"name": "c"}]}
    if affinity is not None:
        pod["affinity"] = affinity
    return {"spec": {"template": {"spec": pod}}}


def _terms(patch: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert patch is not None
    affinity = patch["spec"]["template"]["spec"]["affinity"]
    return list(
        affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    )


def test_a_daemon_set_without_affinity_gets_one_that_excludes_the_fake_nodes() -> None:
    assert _terms(off_fake_nodes_patch(_daemon_set())) == [{"matchExpressions": [OFF_FAKE_NODES]}]


def test_every_existing_node_selector_term_also_excludes_the_fake_nodes() -> None:
    linux = {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}
    named = {"key": "metadata.name", "operator": "In", "values": ["a"]}
    required = {"nodeSelectorTerms": [{"matchExpressions": [linux]}, {"matchFields": [named]}]}
    daemon_set = _daemon_set({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}})
    assert _terms(off_fake_nodes_patch(daemon_set)) == [
        {"matchExpressions": [linux, OFF_FAKE_NODES]},
        {"matchFields": [named], "matchExpressions": [OFF_FAKE_NODES]},
    ]


def test_a_daemon_set_already_kept_off_the_fake_nodes_needs_no_patch() -> None:
    patched = _daemon_set(
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [OFF_FAKE_NODES]}]
                }
            }
        }
    )
    assert off_fake_nodes_patch(patched) is None


# -- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["v1.36.1", "v1.36.3", "v1.37.0", "v1.36.1+k3s1"])
def test_host_binaries_serve_an_api_server_of_their_minor_or_the_next(server: str) -> None:
    assert skew_problem(server=server, host="v1.36.3") is None


@pytest.mark.parametrize("server", ["v1.25.3", "v1.35.4", "v1.38.0", "v2.36.0"])
def test_an_api_server_older_or_too_new_for_the_host_binaries_is_explained(server: str) -> None:
    problem = skew_problem(server=server, host="v1.36.3")
    assert problem is not None
    assert server in problem and "v1.36 or v1.37" in problem


def test_kind_is_downloaded_for_this_system_and_processor() -> None:
    base = "https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0"
    assert kind_download_url("v0.32.0", system="Linux", machine="x86_64") == f"{base}/kind-linux-amd64"
    assert kind_download_url("v0.32.0", system="Darwin", machine="arm64") == f"{base}/kind-darwin-arm64"


# -- the chart's scheduler lease --------------------------------------------------------------


def test_the_chart_lets_its_scheduler_renew_only_the_lease_named_after_it() -> None:
    manifests = render({"scheduler.enabled": "true"}, release=RELEASE, namespace=NAMESPACE)
    [account] = [
        m["metadata"]["name"]
        for m in manifests
        if m["kind"] == "ServiceAccount" and m["metadata"]["name"].endswith("-scheduler")
    ]
    assert granted_lease(manifests, service_account=account) == (NAMESPACE, "ebbtide-scheduler")


def test_an_account_without_a_named_lease_is_refused() -> None:
    with pytest.raises(ValueError, match="nobody may update 0 named leases"):
        granted_lease([], service_account="nobody")
