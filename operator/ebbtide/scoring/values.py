"""The plain values node scoring works on.

Kubernetes objects are read into these (see :mod:`ebbtide.scoring.kube_objects`) so the decisions
never depend on the shape of the wire format. Quantities that must not be confused have distinct
types: a CPU amount in millicores is not a memory amount in bytes, and a measured utilisation
(what Prometheus saw) is not an allocated fraction (what the pods requested).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NewType

from ebbtide.scoring.affinity_terms import PreferredTerm

NodeName = NewType("NodeName", str)
Millicores = NewType("Millicores", int)
Bytes = NewType("Bytes", int)
# Fraction of a node's capacity in use as measured (0.93 is 93 %); may exceed 1 on a bad exporter.
Utilisation = NewType("Utilisation", float)

LoadResource = Literal["cpu", "memory"]

AFFINITY_KEY = "ebbtide.io/affinity-key"
SCORING_PROFILE_ANNOTATION = "ebbtide.io/scoring-profile"


@dataclass(frozen=True, slots=True)
class ResourceAmounts:
    """An amount of CPU and memory, e.g. a pod's requests or a node's allocatable."""

    cpu: Millicores
    memory: Bytes

    def __add__(self, other: ResourceAmounts) -> ResourceAmounts:
        return ResourceAmounts(cpu=Millicores(self.cpu + other.cpu), memory=Bytes(self.memory + other.memory))


NO_RESOURCES = ResourceAmounts(cpu=Millicores(0), memory=Bytes(0))


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What scoring needs to know about one node.

    ``schedulable`` is false for a cordoned node (``spec.unschedulable``); taints do not count,
    because pods may tolerate them.
    """

    name: NodeName
    allocatable: ResourceAmounts
    labels: Mapping[str, str] = field(default_factory=dict)
    schedulable: bool = True


@dataclass(frozen=True, slots=True)
class BoundPod:
    """A pod that occupies a node: bound by the API (``spec.nodeName``) or assumed by ebbtide."""

    uid: str
    node: NodeName
    requests: ResourceAmounts


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What scoring needs to know about the pod being scheduled.

    ``requests`` are the scoring requests: a container without a CPU or memory request counts
    as the scheduler's defaults (100m, 200 MiB), as the scheduler's own scoring does, so that
    best-effort pods still spread.
    """

    uid: str
    namespace: str
    name: str
    requests: ResourceAmounts
    preferred_terms: tuple[PreferredTerm, ...] = ()
    affinity_key: str | None = None
    profile_name: str | None = None
