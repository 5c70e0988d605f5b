"""The priority factors: each maps every candidate node to a preference in 0..1 (1 is best).

Every function works on arrays parallel to the candidates, so a request costs a handful of
vectorised operations however many nodes it names. A factor returns ``None`` when it has nothing to
say about the pod (no affinity key), which the combination treats as "not applicable" rather than
as a zero score. Node affinity lives in :mod:`ebbtide.scoring.node_affinity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ebbtide.scoring.node_table import BoolArray, FloatArray, IntArray
from ebbtide.sharding.ring import HashRing


@dataclass(frozen=True, eq=False)
class Allocation:
    """What is allocated on each candidate (arrays) and what the pod asks for (scalars).

    Amounts are never negative (the node cache clamps requested amounts, and pod requests are
    read as non-negative quantities).
    """

    allocatable_cpu: FloatArray
    allocatable_memory: FloatArray
    requested_cpu: FloatArray
    requested_memory: FloatArray
    pod_cpu: float
    pod_memory: float

    @cached_property
    def used_fractions(self) -> tuple[FloatArray, FloatArray]:
        """The CPU and memory fractions of each candidate in use once the pod is placed, in 0..1.

        A node that reports no allocatable amount of a resource (less than one unit) counts as
        full of it. Both resource factors read these, so they are computed once per request.
        """
        return (
            _used_fraction(self.allocatable_cpu, self.requested_cpu, self.pod_cpu),
            _used_fraction(self.allocatable_memory, self.requested_memory, self.pod_memory),
        )


def least_allocated(allocation: Allocation) -> FloatArray:
    """Resource match: the mean free fraction of CPU and memory once the pod is placed.

    The scheduler's LeastAllocated rule. A resource the pod would overcommit, or a node that
    reports no allocatable amount of it, contributes 0.
    """
    cpu, memory = allocation.used_fractions
    result: FloatArray = 1.0 - (cpu + memory) * 0.5
    return result


def balanced_allocation(allocation: Allocation) -> FloatArray:
    """Balanced allocation: ``1 - |cpu fraction - memory fraction|`` once the pod is placed.

    The scheduler's BalancedAllocation rule (fractions capped at 1, a node without allocatable
    counted as full), stretched to span the whole 0..1 range: the scheduler's ``1 - std`` of two
    fractions never falls below 0.5.
    """
    cpu, memory = allocation.used_fractions
    result: FloatArray = 1.0 - np.abs(cpu - memory)
    return result


def target_load(*, predicted: FloatArray, target: float) -> FloatArray:
    """Load-aware preference for a predicted CPU utilisation, after Trimaran's TargetLoadPacking.

    Nodes are packed towards the target utilisation ``t`` (0 < t < 1): up to the target the score
    rises linearly from ``t`` (an idle node) to 1 (a node exactly at target); past the target it
    falls linearly from ``t`` to 0 at full utilisation, and stays 0 beyond. So a node below the
    target (score >= t) never loses to a node above it (score < t). NaN (unknown) stays NaN.
    """
    # Divided last: (1 - t) / t alone overflows for a tiny target, and 0 times that is NaN.
    below = predicted * (1.0 - target) / target + target
    # Past full utilisation "above" turns negative; np.maximum (not fmax) keeps NaN as NaN.
    above = np.maximum((1.0 - predicted) * (target / (1.0 - target)), 0.0)
    # At the target t * (1 - t) / t + t can round to just above 1; NaN compares False: "above".
    result: FloatArray = np.minimum(np.where(predicted <= target, below, above), 1.0)
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
    neutral ``unknown_score`` instead of being avoided or favoured. A node without allocatable
    CPU (less than a millicore) is taken as full once the pod is placed.
    """
    pod_share = np.divide(
        pod_cpu, allocatable_cpu, out=np.ones(len(allocatable_cpu)), where=allocatable_cpu >= 1.0
    )
    scores = target_load(predicted=np.maximum(cpu_utilisation, 0.0) + pod_share, target=target)
    np.copyto(scores, unknown_score, where=np.isnan(scores))
    return scores


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


def _used_fraction(allocatable: FloatArray, requested: FloatArray, pod: float) -> FloatArray:
    # Less than one unit (a millicore, a byte) counts as none: the API server rounds amounts up
    # to whole units, and dividing by a tinier amount would overflow. ``where`` rather than an
    # error-state context, which would cost more per request than the division itself.
    used = np.divide(requested + pod, allocatable, out=np.ones(len(allocatable)), where=allocatable >= 1.0)
    result: FloatArray = np.minimum(used, 1.0, out=used)
    return result
