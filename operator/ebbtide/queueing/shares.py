"""A queue's share: how much of its entitlement it uses, on its dominant resource.

``share = max over resources r of usage_r / entitlement_r`` (Dominant Resource Fairness,
Ghodsi et al., NSDI 2011, with each queue's weighted entitlement as the denominator, in the
spirit of Kueue's KEP-1714 share value). Edge cases: a resource the queue neither uses nor is
entitled to contributes 0; using a resource with a zero entitlement makes the share infinite.
A share of at most 1 means the queue is within its fair entitlement.

The planner compares a queue's share *before* admitting its next workload (how well served the
queue is now) and *after* (how well served it would be); the two are distinct types so they
cannot be swapped by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NewType

from ebbtide.api.resources import Resources
from ebbtide.errors import QueueingError
from ebbtide.queueing.entitlement import Entitlement


@dataclass(frozen=True, slots=True, eq=False)
class Share:
    """An exact, non-negative share ``numerator / denominator``; ``denominator == 0`` is infinite.

    The fraction is kept unreduced and compared by cross-multiplying integers: the planner
    compares shares for every candidate, and reducing or comparing ``Fraction`` objects
    there costs more than the rest of the walk. With a positive numerator for infinity,
    cross-multiplication also orders infinite shares correctly: equal to each other and
    greater than every finite share.
    """

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.numerator < 0 or self.denominator < 0 or (self.denominator == 0 and self.numerator == 0):
            raise QueueingError(f"not a share: {self.numerator}/{self.denominator}")

    @classmethod
    def of(cls, ratio: Fraction) -> Share:
        return cls(ratio.numerator, ratio.denominator)

    @property
    def infinite(self) -> bool:
        return self.denominator == 0

    @property
    def ratio(self) -> Fraction | None:
        """The exact value, or ``None`` when infinite."""
        return None if self.infinite else Fraction(self.numerator, self.denominator)

    def as_float(self) -> float:
        return float("inf") if self.infinite else self.numerator / self.denominator

    def within_entitlement(self) -> bool:
        """At most 1: the usage fits the entitlement on every resource."""
        return not self.infinite and self.numerator <= self.denominator

    def below_one(self) -> bool:
        """Strictly below 1: some of the entitlement is still unused on the dominant resource."""
        return not self.infinite and self.numerator < self.denominator

    def __str__(self) -> str:
        return "inf" if self.infinite else f"{self.as_float():.3f}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Share):
            return NotImplemented
        return self.numerator * other.denominator == other.numerator * self.denominator

    def __hash__(self) -> int:
        return hash(self.ratio)

    def __lt__(self, other: Share) -> bool:
        return self.numerator * other.denominator < other.numerator * self.denominator

    def __le__(self, other: Share) -> bool:
        return self == other or self < other

    def __gt__(self, other: Share) -> bool:
        return other < self

    def __ge__(self, other: Share) -> bool:
        return other <= self


ShareBeforeAdmission = NewType("ShareBeforeAdmission", Share)
ShareAfterAdmission = NewType("ShareAfterAdmission", Share)

ZERO_SHARE = Share(0, 1)
INFINITE_SHARE = Share(1, 0)


def dominant_share(usage: Resources, entitlement: Entitlement) -> Share:
    """``max(usage_r / entitlement_r)`` with the zero-entitlement rules above."""
    cpu = _resource_share(usage.cpu_millis, entitlement.cpu_millis)
    memory = _resource_share(usage.memory_bytes, entitlement.memory_bytes)
    return memory if cpu < memory else cpu


def _resource_share(used: int, entitled: Fraction) -> Share:
    if used == 0:
        return ZERO_SHARE
    if entitled.numerator == 0:
        return INFINITE_SHARE
    # used / (p / q) == used * q / p, left unreduced (see Share).
    return Share(used * entitled.denominator, entitled.numerator)
