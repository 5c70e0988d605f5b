"""How fast the replica count may move: the scale-up cooldown and the rate limits.

The rate limits follow the HPA's scaling policies: within any ``period``, the count may rise (or
fall) by at most ``max(maxPods, maxPercent% of the count at the start of the period)``, where the
count at the start of the period is the current count minus the increases (plus the decreases)
made within the period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.hpa import Recommendation
from ebbtide.scaling.settings import PlannerSettings, RateLimit

if TYPE_CHECKING:
    from ebbtide.scaling.decision import PlannerState

_PERCENT_SLACK = 1e-9


@dataclass(frozen=True)
class ScaleEvent:
    """A change the planner made: ``change`` replicas (negative: fewer) at Unix time ``at``."""

    at: float
    change: int


def allowed_change(limit: RateLimit, *, start: int) -> int:
    """The most replicas one period may add or remove, from ``start`` replicas."""
    by_percent = math.ceil(start * limit.max_percent / 100 - _PERCENT_SLACK)
    return max(limit.max_pods or 0, by_percent)


def bounds(
    *,
    current: int,
    now: float,
    events: tuple[ScaleEvent, ...],
    up: RateLimit | None,
    down: RateLimit | None,
) -> tuple[int, int | None]:
    """The lowest and highest count the rate limits allow now (None: no upper bound).

    A limit never forces a change: the bounds always include ``current``.
    """
    highest = None
    if up is not None:
        added = sum(e.change for e in events if e.change > 0 and e.at > now - up.period)
        start = current - added
        highest = max(current, start + allowed_change(up, start=start))
    lowest = 0
    if down is not None:
        removed = sum(-e.change for e in events if e.change < 0 and e.at > now - down.period)
        start = current + removed
        lowest = min(current, max(0, start - allowed_change(down, start=start)))
    return lowest, highest


def recent_events(
    events: tuple[ScaleEvent, ...], *, now: float, up: RateLimit | None, down: RateLimit | None
) -> tuple[ScaleEvent, ...]:
    """The events any rate limit can still see; older ones are forgotten."""
    horizon = max((limit.period for limit in (up, down) if limit is not None), default=0.0)
    return tuple(e for e in events if e.at > now - horizon)


def cooling_down(*, now: float, last_scale_up: float | None, cooldown: float) -> bool:
    """True while the previous scale-up was less than ``cooldown`` seconds ago."""
    return last_scale_up is not None and now - last_scale_up < cooldown


def limited(
    wanted: Recommendation,
    *,
    current: int,
    now: float,
    state: PlannerState,
    settings: PlannerSettings,
) -> Recommendation:
    """``wanted`` after the scale-up cooldown, the rate limits and the min/max clamp.

    Waking from zero replicas skips cooldown and rate limits: a percentage of nothing is
    nothing, and a service with load but no replicas must get them at once.
    """
    replicas, reason = wanted.replicas, wanted.reason
    if current > 0:
        if replicas > current and cooling_down(
            now=now, last_scale_up=state.last_scale_up, cooldown=settings.scale_up_cooldown
        ):
            replicas, reason = current, reasons.COOLDOWN
        lowest, highest = bounds(
            current=current,
            now=now,
            events=state.events,
            up=settings.scale_up_limit,
            down=settings.scale_down_limit,
        )
        if highest is not None and replicas > highest:
            replicas, reason = highest, reasons.RATE_LIMITED
        if replicas < lowest:
            replicas, reason = lowest, reasons.RATE_LIMITED
    if replicas < settings.min_replicas:
        replicas, reason = settings.min_replicas, reasons.CLAMPED_TO_MIN
    if replicas > settings.max_replicas:
        replicas, reason = settings.max_replicas, reasons.CLAMPED_TO_MAX
    return Recommendation(replicas, reason)
