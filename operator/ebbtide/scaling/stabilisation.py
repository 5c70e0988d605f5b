"""Scale-down stabilisation, the HPA way: never below the highest recent recommendation.

A scale-down goes only to the highest recommendation made within the last ``window`` seconds
(the current one included), so a brief dip in load does not shed replicas that the next minute
needs again. Scale-ups are not delayed here (see the cooldown in :mod:`.limits`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimedRecommendation:
    """A recommendation and the time (Unix seconds) it was made."""

    at: float
    replicas: int


def stabilise(
    *,
    recommendation: int,
    current: int,
    now: float,
    window: float,
    seen: tuple[TimedRecommendation, ...],
) -> tuple[int, tuple[TimedRecommendation, ...]]:
    """The count to go to, and the recommendations to remember for next time.

    Returns ``recommendation`` when it is not a scale-down; otherwise ``min(current, highest
    recommendation after now - window)``. Recommendations older than the window are dropped.
    """
    kept = (*(r for r in seen if r.at > now - window), TimedRecommendation(now, recommendation))
    if recommendation >= current:
        return recommendation, kept
    return min(current, max(r.replicas for r in kept)), kept
