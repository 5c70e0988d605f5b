"""The plain values node scoring works on.

Kubernetes objects are read into these (see :mod:`ebbtide.scoring.kube_objects`) so the decisions
never depend on the shape of the wire format; nodes and amounts are
:mod:`ebbtide.api.resources`' (:class:`~ebbtide.api.resources.NodeFacts`,
:class:`~ebbtide.api.resources.Resources`). Quantities that must not be confused have distinct
types: a measured utilisation (what Prometheus saw) is not an allocated fraction (what the pods
requested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NewType

from ebbtide.api.resources import NodeName, Resources
from ebbtide.scoring.affinity_terms import PreferredTerm

# Fraction of a node's capacity in use as measured (0.93 is 93 %); may exceed 1 on a bad exporter.
Utilisation = NewType("Utilisation", float)

LoadResource = Literal["cpu", "memory"]

AFFINITY_KEY = "ebbtide.io/affinity-key"
SCORING_PROFILE_ANNOTATION = "ebbtide.io/scoring-profile"


@dataclass(frozen=True, slots=True)
class BoundPod:
    """A pod that occupies a node: bound by the API (``spec.nodeName``) or assumed by ebbtide."""

    uid: str
    node: NodeName
    requests: Resources


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
    requests: Resources
    preferred_terms: tuple[PreferredTerm, ...] = ()
    affinity_key: str | None = None
    profile_name: str | None = None
