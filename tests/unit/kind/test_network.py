"""The offline cluster's pod network: each node's CNI configuration and routes, from its Node."""

from __future__ import annotations

from typing import Any

import pytest

from ebbtide.kind.network import NodeNetwork, cni_config, node_networks


def _node(name: str, *, pod_range: str | None, address: str | None) -> dict[str, Any]:
    addresses = [{"type": "Hostname", "address": name}]
    if address:
        addresses.append({"type": "InternalIP", "address": address})
    return {"metadata": {"name": name}, "spec": {"podCIDR": pod_range}, "status": {"addresses": addresses}}


def test_each_node_has_its_pod_range_and_ipv4_address() -> None:
    nodes = {
        "items": [
            _node("c-control-plane", pod_range="10.244.0.0/24", address="172.18.0.2"),
            _node("c-worker", pod_range="10.244.1.0/24", address="172.18.0.3"),
        ]
    }
    assert node_networks(nodes) == [
        NodeNetwork("c-control-plane", "172.18.0.2", "10.244.0.0/24"),
        NodeNetwork("c-worker", "172.18.0.3", "10.244.1.0/24"),
    ]


@pytest.mark.parametrize(("pod_range", "address"), [(None, "172.18.0.3"), ("10.244.1.0/24", None)])
def test_a_node_without_pod_range_or_address_is_not_ready_to_wire(
    pod_range: str | None, address: str | None
) -> None:
    with pytest.raises(ValueError, match="c-worker"):
        node_networks({"items": [_node("c-worker", pod_range=pod_range, address=address)]})


def test_pods_take_addresses_from_the_nodes_range_and_leave_masqueraded() -> None:
    config = cni_config("10.244.1.0/24")
    ptp = config["plugins"][0]
    assert ptp["type"] == "ptp" and ptp["ipMasq"] is True
    assert ptp["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24"}]]
    assert [p["type"] for p in config["plugins"]] == ["ptp", "portmap"]
