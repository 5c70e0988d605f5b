"""Consistent-hash key affinity among the candidates of one request."""

import numpy as np
import pytest

from ebbtide.scoring.factors import key_affinity
from ebbtide.sharding.ring import HashRing

pytestmark = pytest.mark.unit

NAMES = [f"node-{index}" for index in range(8)]
RING = HashRing.over(NAMES)


def owner_of(key: str) -> int:
    owner = RING.owner(key)
    assert owner is not None
    return owner


def test_the_owner_among_the_candidates_scores_1_and_the_others_0() -> None:
    owner = owner_of("tenant-7")
    scores = key_affinity(ring=RING, key="tenant-7", candidate_ids=np.arange(len(NAMES)))
    assert scores is not None
    assert scores.tolist() == [1.0 if row == owner else 0.0 for row in range(len(NAMES))]


def test_when_the_owner_is_not_a_candidate_the_next_candidate_on_the_ring_wins() -> None:
    owner = owner_of("tenant-7")
    others = np.array([row for row in range(len(NAMES)) if row != owner])
    scores = key_affinity(ring=RING, key="tenant-7", candidate_ids=others)
    assert scores is not None
    eligible = np.zeros(len(NAMES), dtype=np.bool_)
    eligible[others] = True
    successor = RING.owner_among("tenant-7", eligible)
    assert successor is not None and successor != owner
    assert scores.tolist() == [1.0 if row == successor else 0.0 for row in others.tolist()]


def test_the_choice_is_the_same_for_every_pod_with_the_key() -> None:
    candidates = np.array([1, 3, 5, 6])
    first = key_affinity(ring=RING, key="shard-2", candidate_ids=candidates)
    second = key_affinity(ring=RING, key="shard-2", candidate_ids=candidates[::-1])
    assert first is not None and second is not None
    assert first.tolist() == second.tolist()[::-1]


def test_a_pod_without_a_key_gets_no_factor() -> None:
    assert key_affinity(ring=RING, key=None, candidate_ids=np.arange(3)) is None


def test_candidates_off_the_ring_score_0() -> None:
    scores = key_affinity(ring=RING, key="tenant-7", candidate_ids=np.array([-1, -1]))
    assert scores is not None
    assert scores.tolist() == [0.0, 0.0]
