"""Weighted water-filling of one resource, in exact rational arithmetic.

This is the max-min fair allocation with weights, floors and caps (the "progressive filling"
behind Dominant Resource Fairness: Ghodsi et al., NSDI 2011, and Kueue's KEP-1714 weights).
Picture each claim as a vessel of width ``weight`` with its floor already filled; water rises
in all of them at once to a common level ``lambda``, so claim ``i`` holds
``clamp(weight_i * lambda, floor_i, cap_i)``, and the level stops where the total equals the
capacity. The rules, in order:

1. Demand fits: when the caps add up to at most the capacity, every claim gets its cap.
2. Guarantees oversubscribed: when the floors add up to at least the capacity, every claim
   gets ``floor * capacity / sum(floors)``: guarantees shrink proportionally, nobody gets more.
3. Otherwise the claims with a positive weight share ``capacity - sum(zero-weight floors)``
   by the rising level above. Zero-weight claims keep their floor and, only if every
   positive-weight claim is capped with capacity left over, split that remainder among
   themselves by the same rule with equal weights: weight 0 means "only what no one else
   with a positive weight asks for".

In cases 2 and 3 the results add up to the capacity exactly; in case 1 to the caps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Claim:
    """One queue's claim on one resource: weight >= 0 and ``0 <= floor <= cap``."""

    weight: Fraction
    floor: int
    cap: int


def water_fill(*, capacity: int, claims: Sequence[Claim]) -> list[Fraction]:
    """Each claim's entitlement, in the order given (rules in the module docstring).

    An empty ``claims`` gives an empty list; a zero ``capacity`` gives all zeros unless the
    caps are zero too.
    """
    if sum(claim.cap for claim in claims) <= capacity:
        return [Fraction(claim.cap) for claim in claims]
    floors_total = sum(claim.floor for claim in claims)
    if floors_total >= capacity:
        return [Fraction(claim.floor * capacity, floors_total or 1) for claim in claims]
    weighted = [i for i, claim in enumerate(claims) if claim.weight > 0]
    unweighted = [i for i, claim in enumerate(claims) if claim.weight == 0]
    shares = [Fraction(claim.floor) for claim in claims]
    unweighted_floors = sum(claims[i].floor for i in unweighted)
    weighted_caps = sum(claims[i].cap for i in weighted)
    if weighted_caps + unweighted_floors >= capacity:
        target = capacity - unweighted_floors
        level = _level(target=target, claims=[claims[i] for i in weighted])
        for i in weighted:
            shares[i] = _clamp(claims[i].weight * level, claims[i])
        return shares
    # Every positive-weight claim is capped; the remainder goes to the zero-weight ones.
    for i in weighted:
        shares[i] = Fraction(claims[i].cap)
    equalised = [Claim(weight=Fraction(1), floor=claims[i].floor, cap=claims[i].cap) for i in unweighted]
    for i, share in zip(
        unweighted, water_fill(capacity=capacity - weighted_caps, claims=equalised), strict=True
    ):
        shares[i] = share
    return shares


def _clamp(value: Fraction, claim: Claim) -> Fraction:
    return min(max(value, Fraction(claim.floor)), Fraction(claim.cap))


def _level(*, target: int, claims: Sequence[Claim]) -> Fraction:
    """The level at which ``sum(clamp(w * level, floor, cap)) == target``.

    Requires positive weights and ``sum(floors) < target <= sum(caps)``. The total is
    piecewise linear and non-decreasing in the level; a claim joins the slope when the level
    reaches ``floor / weight`` and leaves it at ``cap / weight``, so one sweep over those
    breakpoints finds the segment holding ``target`` and solves it exactly.
    """
    events: list[tuple[Fraction, Fraction]] = []
    for claim in claims:
        if claim.floor < claim.cap:
            events.append((claim.floor / claim.weight, claim.weight))
            events.append((claim.cap / claim.weight, -claim.weight))
    events.sort()
    level, total, slope = Fraction(0), Fraction(sum(claim.floor for claim in claims)), Fraction(0)
    for breakpoint, slope_change in events:
        reached = total + slope * (breakpoint - level)
        if slope > 0 and reached >= target:
            return level + (target - total) / slope
        level, total = breakpoint, reached
        slope += slope_change
    return level
