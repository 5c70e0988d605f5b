"""A consistent-hash ring with virtual nodes: which member owns a key.

Two users share it: the extender places pods that share an affinity key on one node
(:mod:`ebbtide.scoring.snapshot`), and operator replicas split the ScalingPolicies between them
(:mod:`ebbtide.sharding.ownership`).

Each member gets ``virtual_nodes`` points on a 64-bit ring; a key belongs to the member of the
first point at or after the key's own hash (wrapping around). Adding or removing one of N members
moves only the keys on that member's arcs, about 1/N of them, and every moved key moves to or from
that member. Virtual nodes even out the arcs: with V points per member, a member's share of the
ring deviates from 1/N by roughly 1/sqrt(V).

Hashes are stable across processes and platforms: BLAKE2b of the member name (and of the key, in a
separate domain), never Python's salted ``hash()``. The virtual points of a member are derived
from its name hash with the SplitMix64 finaliser, so building a ring of 5,000 members with 100
points each costs 5,000 hash calls and a sort rather than 500,000 hash calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

DEFAULT_VIRTUAL_NODES = 100

U64 = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
_ArrayT = TypeVar("_ArrayT", bound=npt.NDArray[np.generic])

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
# The owner search looks at this many ring points per vectorised step.
_SCAN_CHUNK = 64


def hash_member(name: str) -> int:
    """Stable 64-bit hash of a member name."""
    return _blake2b64(name, person=b"ebbtide-member")


def hash_key(key: str) -> int:
    """Stable 64-bit hash of an affinity key (a domain apart from member names)."""
    return _blake2b64(key, person=b"ebbtide-key")


class HashRing:
    """Immutable ring over members identified by integer ids (e.g. the caller's node-table rows)."""

    def __init__(self, *, names: Sequence[str], ids: IntArray, virtual_nodes: int) -> None:
        if virtual_nodes < 1:
            raise ValueError("a ring needs at least one virtual node per member")
        if len(names) != len(ids):
            raise ValueError("names and ids must be parallel")
        self.virtual_nodes = virtual_nodes
        self.member_ids: IntArray = _frozen(np.array(ids, dtype=np.intp))
        bases = np.fromiter((hash_member(name) for name in names), dtype=np.uint64, count=len(names))
        steps = np.arange(virtual_nodes, dtype=np.uint64) * _GOLDEN_GAMMA
        points = _splitmix64(bases[:, None] + steps[None, :]).ravel()
        owners = np.repeat(self.member_ids, virtual_nodes)
        order = np.argsort(points, kind="stable")
        self.points: U64 = _frozen(points[order])
        self.owners: IntArray = _frozen(owners[order])

    @classmethod
    def over(cls, names: Sequence[str], *, virtual_nodes: int = DEFAULT_VIRTUAL_NODES) -> HashRing:
        """A ring whose member ids are the positions of ``names``."""
        return cls(names=names, ids=np.arange(len(names), dtype=np.intp), virtual_nodes=virtual_nodes)

    def __len__(self) -> int:
        return len(self.member_ids)

    def owner(self, key: str) -> int | None:
        """Id of the member that owns the key; ``None`` on an empty ring."""
        if not len(self.points):
            return None
        return int(self.owners[self._start(key)])

    def owner_among(self, key: str, eligible: BoolArray) -> int | None:
        """The first member clockwise from the key for which ``eligible[id]`` is true.

        This is the owner when the owner is eligible, else the member that would own the key if
        every ineligible member left the ring. ``None`` when no member is eligible.
        """
        total = len(self.points)
        if not total:
            return None
        start = self._start(key)
        for offset in range(0, total, _SCAN_CHUNK):
            positions = np.arange(start + offset, start + min(offset + _SCAN_CHUNK, total))
            owners = self.owners.take(positions, mode="wrap")
            hits = eligible[owners]
            if hits.any():
                return int(owners[int(np.argmax(hits))])
        return None

    def shares(self) -> dict[int, float]:
        """Fraction of the key space each member owns (its arcs' total length)."""
        if not len(self.points):
            return {}
        points = self.points.astype(np.float64) / 2.0**64
        arcs: FloatArray = np.diff(points, prepend=points[-1] - 1.0)
        totals = np.bincount(self.owners, weights=arcs)
        return {int(member): float(totals[member]) for member in self.member_ids}

    def _start(self, key: str) -> int:
        position = int(np.searchsorted(self.points, np.uint64(hash_key(key)), side="left"))
        return position % len(self.points)


def _blake2b64(text: str, *, person: bytes) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8, person=person).digest()
    return int.from_bytes(digest, "little")


def _splitmix64(values: U64) -> U64:
    """The SplitMix64 output function: a bijective, well-mixing map of 64-bit integers."""
    with np.errstate(over="ignore"):
        mixed = values + _GOLDEN_GAMMA
        mixed = (mixed ^ (mixed >> np.uint64(30))) * _MIX_1
        mixed = (mixed ^ (mixed >> np.uint64(27))) * _MIX_2
        return mixed ^ (mixed >> np.uint64(31))


def _frozen(array: _ArrayT) -> _ArrayT:
    """Mark an array read-only: a ring is shared between threads and never changes."""
    array.flags.writeable = False
    return array
