"""When the load cannot be read: hold, then after enough failures apply ``fallback.action``.

An empty result, NaN, Inf or an error is never "zero load": scaling down on it would take a
service down exactly when its monitoring is broken.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.decision import Decision, PlannerState
from ebbtide.scaling.series import LoadSeries, ReadFailure
from ebbtide.scaling.settings import FallbackAction, PlannerSettings


def unusable(reading: LoadSeries | ReadFailure) -> str | None:
    """Why the latest load in ``reading`` cannot be used, or None when it can."""
    if isinstance(reading, ReadFailure):
        return f"load read failed: {reading.message}"
    if len(reading) == 0:
        return "load query returned no samples"
    latest = reading.last_value
    if not math.isfinite(latest):
        return f"latest load sample is {latest}"
    if latest < 0:
        return f"latest load sample is negative ({latest})"
    return None


def on_failure(
    *, problem: str, settings: PlannerSettings, current: int, state: PlannerState
) -> tuple[Decision, PlannerState, int]:
    """The decision after one more consecutive failure, the new state and the replica change it
    makes (for the caller's rate-limit bookkeeping).

    Below ``failure_threshold`` failures the count is held. From the threshold on, Hold keeps
    holding and Replicas sets the fixed count, never below ``min_replicas`` nor above
    ``max_replicas``, at once (rate limits do not delay an emergency setting).
    """
    fallback = settings.fallback
    failures = state.failures + 1
    state = replace(state, failures=failures)
    progress = f"{failures} failure(s) in a row, threshold {fallback.failure_threshold}"
    if failures < fallback.failure_threshold:
        message = f"{problem}; holding at {current} ({progress})"
        return Decision(current, reasons.LOAD_UNAVAILABLE, message), state, 0
    if fallback.action is FallbackAction.HOLD or fallback.replicas is None:
        message = f"{problem}; fallback Hold at {current} ({progress})"
        return Decision(current, reasons.FALLBACK_HOLD, message), state, 0
    desired = min(max(fallback.replicas, settings.min_replicas), settings.max_replicas)
    message = f"{problem}; fallback to {desired} replicas ({progress})"
    return Decision(desired, reasons.FALLBACK_REPLICAS, message), state, desired - current
