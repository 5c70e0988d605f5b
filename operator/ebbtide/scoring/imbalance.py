"""The cluster imbalance figure LB = (max load - min load) / max load."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def imbalance(loads: Iterable[float]) -> float:
    """LB over the nodes whose load is known (NaN values are skipped).

    0 for a perfectly even cluster, approaching 1 when one node is busy and another idle. 0 when
    no load is known or the busiest node's load is 0 (nothing to balance).
    """
    values = np.fromiter(loads, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return 0.0
    highest = float(values.max())
    if highest <= 0:
        return 0.0
    return (highest - float(values.min())) / highest
