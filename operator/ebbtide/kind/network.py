"""The pod network of a kind cluster made from the offline node image.

kind's own network daemon (kindnetd) cannot be built from the Go module proxy, so the cluster
is created without it (``networking.disableDefaultCNI``) and wired here once its nodes exist: each
node gets a CNI configuration of the standard ``ptp`` and ``host-local`` plugins for the pod range
the controller-manager assigned it, and a route to every other node's pod range through that
node's address. kind's nodes share one Docker network, so these routes are all the cluster
needs. They live as long as the node containers do; a cluster whose nodes restart is made anew.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ebbtide.kind import docker

CNI_CONFIG = "/etc/cni/net.d/10-ebbtide.conflist"


@dataclass(frozen=True)
class NodeNetwork:
    """A node's name (its container's), address and pod range."""

    name: str
    address: str
    pod_range: str


def node_networks(nodes: dict[str, Any]) -> list[NodeNetwork]:
    """The networks of ``kubectl get nodes -o json``'s items; raises ValueError for a node that
    has no pod range or internal address yet."""
    found = []
    for node in nodes["items"]:
        name = node["metadata"]["name"]
        pod_range = (node.get("spec") or {}).get("podCIDR")
        addresses = (node.get("status") or {}).get("addresses") or []
        internal = [
            a["address"] for a in addresses if a.get("type") == "InternalIP" and ":" not in a["address"]
        ]
        if not pod_range or not internal:
            raise ValueError(f"node {name} has no pod range or IPv4 address yet")
        found.append(NodeNetwork(name=name, address=internal[0], pod_range=pod_range))
    return found


def cni_config(pod_range: str) -> dict[str, Any]:
    """The CNI configuration of a node whose pods take addresses from ``pod_range``: a veth pair
    per pod, traffic leaving the pod range masqueraded, and host ports."""
    ptp = {
        "type": "ptp",
        "ipMasq": True,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_range}]], "routes": [{"dst": "0.0.0.0/0"}]},
    }
    return {
        "cniVersion": "1.0.0",
        "name": "ebbtide",
        "plugins": [ptp, {"type": "portmap", "capabilities": {"portMappings": True}}],
    }


def wire(networks: list[NodeNetwork]) -> None:
    """Write every node's CNI configuration and its routes to the other nodes' pod ranges."""
    for node in networks:
        script = [f"cat > {CNI_CONFIG}.tmp && mv {CNI_CONFIG}.tmp {CNI_CONFIG}"]
        script += [
            f"ip route replace {other.pod_range} via {other.address}" for other in networks if other != node
        ]
        config = json.dumps(cni_config(node.pod_range), indent=2).encode()
        docker.docker("exec", "-i", node.name, "sh", "-ec", " && ".join(script), input=config, timeout=60)
