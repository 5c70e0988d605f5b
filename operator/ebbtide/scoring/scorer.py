"""Combine the factors into the extender's integer node scores 0..10.

``score = round(10 * sum(w_f * s_f) / sum(w_f))`` over the factors that apply to the pod and weigh
more than 0; a factor that does not apply (no affinity key, no preferred terms) drops out of both
sums, so a pod without preferences still uses the whole 0..10 range. With no applicable weight
every candidate scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ebbtide.scoring import factors
from ebbtide.scoring.node_affinity import preference_scores
from ebbtide.scoring.node_table import FloatArray, IntArray, NodeTable
from ebbtide.scoring.profiles import Factor, ScoringProfile
from ebbtide.scoring.values import PodFacts
from ebbtide.sharding.ring import HashRing

MAX_SCORE = 10
_FACTORS = tuple(Factor)  # iterating an Enum class is slow enough to show per request

ScoreArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LoadSettings:
    """The load-aware factor's target CPU utilisation (0 < t < 1) and score for unknown load."""

    target: float = 0.6
    unknown_score: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.target < 1.0:
            raise ValueError("the target utilisation must lie strictly between 0 and 1")
        if not 0.0 <= self.unknown_score <= 1.0:
            raise ValueError("the score for unknown load must lie in 0..1")


@dataclass(frozen=True, eq=False)
class Candidates:
    """The nodes a request asks about, as arrays parallel to ``rows``.

    ``rows`` index ``table`` (allocatable, labels); ``ring_ids`` are the candidates' ids on the
    hash ring (-1 for a node not on it); ``cpu_utilisation`` is NaN where unknown.
    """

    table: NodeTable
    rows: IntArray
    requested_cpu: FloatArray
    requested_memory: FloatArray
    cpu_utilisation: FloatArray
    ring_ids: IntArray

    def __len__(self) -> int:
        return len(self.rows)


def factor_scores(
    *,
    pod: PodFacts,
    candidates: Candidates,
    ring: HashRing,
    profile: ScoringProfile,
    load: LoadSettings,
) -> dict[Factor, FloatArray | None]:
    """Each weighted factor's 0..1 scores for the candidates (``None``: not applicable)."""
    table, rows = candidates.table, candidates.rows
    allocation = factors.Allocation(
        allocatable_cpu=table.allocatable_cpu[rows],
        allocatable_memory=table.allocatable_memory[rows],
        requested_cpu=candidates.requested_cpu,
        requested_memory=candidates.requested_memory,
        pod_cpu=float(pod.requests.cpu_millis),
        pod_memory=float(pod.requests.memory_bytes),
    )
    scores: dict[Factor, FloatArray | None] = {}
    for factor in _FACTORS:
        if profile.weight(factor) <= 0:
            continue
        if factor is Factor.RESOURCE_MATCH:
            scores[factor] = factors.least_allocated(allocation)
        elif factor is Factor.BALANCED_ALLOCATION:
            scores[factor] = factors.balanced_allocation(allocation)
        elif factor is Factor.NODE_AFFINITY:
            scores[factor] = preference_scores(terms=pod.preferred_terms, table=table, rows=rows)
        elif factor is Factor.LOAD_AWARE:
            scores[factor] = factors.load_aware(
                cpu_utilisation=candidates.cpu_utilisation,
                allocatable_cpu=allocation.allocatable_cpu,
                pod_cpu=allocation.pod_cpu,
                target=load.target,
                unknown_score=load.unknown_score,
            )
        else:
            scores[factor] = factors.key_affinity(
                ring=ring, key=pod.affinity_key, candidate_ids=candidates.ring_ids
            )
    return scores


def combine(scores: dict[Factor, FloatArray | None], *, profile: ScoringProfile, count: int) -> ScoreArray:
    """Weighted mean of the applicable factors, scaled to integers 0..10 (halves round up)."""
    total: FloatArray | None = None
    weight_sum = 0.0
    for factor, values in scores.items():
        weight = profile.weight(factor)
        if values is None or weight <= 0:
            continue
        weighted = values * weight  # a new array, so adding to it in place leaves ``scores`` intact
        total = weighted if total is None else np.add(total, weighted, out=total)
        weight_sum += weight
    if total is None or weight_sum == 0:
        return np.zeros(count, dtype=np.int64)
    # In place: this runs for every request, and each temporary array costs as much as the sum.
    # Dividing first keeps a tiny weight sum from overflowing: the mean itself lies in 0..1.
    total /= weight_sum
    total *= MAX_SCORE
    total += 0.5
    np.floor(total, out=total)
    np.clip(total, 0, MAX_SCORE, out=total)
    return total.astype(np.int64)


def score(
    *,
    pod: PodFacts,
    candidates: Candidates,
    ring: HashRing,
    profile: ScoringProfile,
    load: LoadSettings,
) -> ScoreArray:
    """Integer scores 0..10 for the candidates, in candidate order."""
    scores = factor_scores(pod=pod, candidates=candidates, ring=ring, profile=profile, load=load)
    return combine(scores, profile=profile, count=len(candidates))
