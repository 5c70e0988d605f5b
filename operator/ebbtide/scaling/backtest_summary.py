"""The backtest's figures: how often the load outran the ready capacity, and at what cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# A step is overloaded when load > ready x targetPerReplica / 0.7 (OVERLOAD_UTILISATION, which
# the planner's sizing shares): the ready replicas would each carry more than 1 / 0.7 (about
# 143 %) of the load they are sized for.
from ebbtide.scaling.forecasting.sizing import OVERLOAD_UTILISATION
from ebbtide.scaling.series import FloatArray

__all__ = ["OVERLOAD_UTILISATION", "Summary", "summarise"]


@dataclass(frozen=True)
class Summary:
    """``overload_share``: the share of steps (with a known load) where the load exceeded
    ``ready x targetPerReplica / 0.7``; ``replica_hours``: replicas asked for (ready or
    starting: both cost) integrated over time; ``changes``: how many steps changed the count."""

    steps: int
    overload_share: float
    replica_hours: float
    changes: int
    ready_replica_hours: float = 0.0
    """Ready replicas integrated over time: the cost as the autoscaling yardstick counts it."""


def summarise(
    load: FloatArray,
    *,
    desired: NDArray[np.int64],
    ready: NDArray[np.int64],
    initial: int,
    step: float,
    target_per_replica: float,
) -> Summary:
    """The figures of one timeline (arrays of equal length, one entry per step)."""
    known = np.isfinite(load)
    capacity = ready * (target_per_replica / OVERLOAD_UTILISATION)
    overloaded = known & (load > capacity)
    steps = int(known.sum())
    previous = np.concatenate(([initial], desired[:-1]))
    return Summary(
        steps=int(load.size),
        overload_share=float(overloaded.sum() / steps) if steps else 0.0,
        replica_hours=float(desired.sum() * step / 3600.0),
        changes=int(np.count_nonzero(desired != previous)),
        ready_replica_hours=float(ready.sum() * step / 3600.0),
    )
