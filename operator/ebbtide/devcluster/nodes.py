"""The fake nodes KWOK plays: what they offer and how they are created and removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ebbtide.devcluster.components import KWOK_NODE_ANNOTATION

DEV_NODE_LABEL = "ebbtide.io/dev-node"


@dataclass(frozen=True)
class NodeSpec:
    """One fake node: its name, allocatable resources (Kubernetes quantities) and labels."""

    name: str
    cpu: str = "8"
    memory: str = "32Gi"
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        resources = {"cpu": self.cpu, "memory": self.memory, "pods": str(self.pods)}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                # What a kubelet sets, the deprecated beta labels included: without them the
                # node lifecycle controller adds them to every node, a label update per node
                # trickling in over minutes after the cluster starts.
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64",
                    "type": "kwok",
                    DEV_NODE_LABEL: "true",
                    **self.labels,
                },
            },
            "status": {"capacity": resources, "allocatable": resources},
        }


def uniform_nodes(
    *,
    count: int,
    cpu: str = "8",
    memory: str = "32Gi",
    pods: int = 110,
    labels: dict[str, str] | None = None,
    prefix: str = "kwok-node-",
) -> list[NodeSpec]:
    """``count`` identical nodes named ``<prefix>0`` ... ``<prefix><count-1>``."""
    return [
        NodeSpec(name=f"{prefix}{i}", cpu=cpu, memory=memory, pods=pods, labels=dict(labels or {}))
        for i in range(count)
    ]


def default_nodes() -> list[NodeSpec]:
    """The nodes a cluster gets when none are asked for: three of 8 CPUs and 32Gi, ``kwok-node-0..2``."""
    return uniform_nodes(count=3)


def parse_labels(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("zone=a", "tier=gold")`` -> ``{"zone": "a", "tier": "gold"}``; raises ValueError on a bad pair."""
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"node label {pair!r} is not of the form key=value")
        labels[key] = value
    return labels
