"""The priority factors: each maps every candidate node to a preference in 0..1 (1 is best).

Every function works on arrays parallel to the candidates, so a request costs a handful of
vectorised operations however many nodes it names. A factor returns ``None`` when it has nothing to
say about the pod (no affinity key), which the combination treats as "not applicable" rather than
as a zero score. Node affinity lives in :mod:`ebbtide.scoring.node_affinity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scoring.node_table import BoolArray, FloatArray, IntArray
from ebbtide.sharding.ring import HashRing


@dataclass(frozen=True, eq=False)
class Allocation:
    """What is allocated on each candidate (arrays) and what the pod asks for (scalars)."""

    allocatable_cpu: FloatArray
    allocatable_memory: FloatArray
    requested_cpu: FloatArray
    requested_memory: FloatArray
    pod_cpu: float
    pod_memory: float


def least_allocated(allocation: Allocation) -> FloatArray:
    """Resource match: the mean free fraction of CPU and memory once the pod is placed.

    The scheduler's LeastAllocated rule. A resource the pod would overcommit, or a node that
    reports no allocatable amount of it, contributes 0.
    """
    a = allocation
    return (
        _free_fraction(a.allocatable_cpu, a.requested_cpu + a.pod_cpu)
        + _free_fraction(a.allocatable_memory, a.requested_memory + a.pod_memory)
    ) / 2.0


def balanced_allocation(allocation: Allocation) -> FloatArray:
    """Balanced allocation: ``1 - |cpu fraction - memory fraction|`` once the pod is placed.

    The scheduler's BalancedAllocation rule (fractions capped at 1, a node without allocatable
    counted as full), stretched to span the whole 0..1 range: the scheduler's ``1 - std`` of two
    fractions never falls below 0.5.
    """
    a = allocation
    cpu = _used_fraction(a.allocatable_cpu, a.requested_cpu + a.pod_cpu)
    memory = _used_fraction(a.allocatable_memory, a.requested_memory + a.pod_memory)
    result: FloatArray = 1.0 - np.abs(cpu - memory)
    return result


def target_load(*, predicted: FloatArray, target: float) -> FloatArray:
    """Load-aware preference for a predicted CPU utilisation, after Trimaran's TargetLoadPacking.

    Nodes are packed towards the target utilisation ``t`` (0 < t < 1): up to the target the score
    rises linearly from ``t`` (an idle node) to 1 (a node exactly at target); past the target it
    falls linearly from ``t`` to 0 at full utilisation, and stays 0 beyond. So a node below the
    target (score >= t) never loses to a node above it (score < t). NaN (unknown) stays NaN.
    """
    below = (1.0 - target) * predicted / target + target
    above = target * (1.0 - predicted) / (1.0 - target)
    score = np.where(predicted <= target, below, np.where(predicted > 1.0, 0.0, above))
    # (1 - t) * t / t + t can round to just above 1 at the target; NaN passes through np.clip.
    result: FloatArray = np.clip(score, 0.0, 1.0)
    return result


def load_aware(
    *,
    cpu_utilisation: FloatArray,
    allocatable_cpu: FloatArray,
    pod_cpu: float,
    target: float,
    unknown_score: float,
) -> FloatArray:
    """Load-aware factor from measured CPU utilisation (NaN where unknown).

    The pod's own CPU request is added to the measured utilisation as the prediction, as in
    TargetLoadPacking. A node whose utilisation is unknown (no sample, or too old) gets the
    neutral ``unknown_score`` instead of being avoided or favoured.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pod_share = np.where(allocatable_cpu > 0, pod_cpu / allocatable_cpu, 1.0)
    scores = target_load(predicted=np.maximum(cpu_utilisation, 0.0) + pod_share, target=target)
    result: FloatArray = np.where(np.isnan(scores), unknown_score, scores)
    return result


def key_affinity(*, ring: HashRing, key: str | None, candidate_ids: IntArray) -> FloatArray | None:
    """Consistent-hash key affinity: 1 for the candidate that owns the key, 0 for the others.

    ``candidate_ids`` are the candidates' member ids on the ring (-1 for a node not on it). The
    ring spans all known schedulable nodes, so a key's owner does not change with each pod's
    feasible set; when the owner is not a candidate, the next member clockwise that is a candidate
    takes its place, which is exactly where the key would live if the non-candidates left the ring.
    ``None`` when the pod has no affinity key; all zeros when no candidate is on the ring.
    """
    if key is None:
        return None
    scores = np.zeros(len(candidate_ids), dtype=np.float64)
    on_ring = candidate_ids[candidate_ids >= 0]
    if not len(on_ring) or not len(ring):
        return scores
    size = int(max(int(on_ring.max()), int(ring.member_ids.max()))) + 1
    eligible: BoolArray = np.zeros(size, dtype=np.bool_)
    eligible[on_ring] = True
    owner = ring.owner_among(key, eligible)
    if owner is not None:
        scores[candidate_ids == owner] = 1.0
    return scores


def _free_fraction(allocatable: FloatArray, requested: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        free = np.where(allocatable > 0, (allocatable - requested) / allocatable, 0.0)
    result: FloatArray = np.clip(free, 0.0, 1.0)
    return result


def _used_fraction(allocatable: FloatArray, requested: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        used = np.where(allocatable > 0, requested / allocatable, 1.0)
    result: FloatArray = np.clip(used, 0.0, 1.0)
    return result
