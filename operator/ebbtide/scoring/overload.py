"""The filter rule: leave out nodes whose measured utilisation is above a ceiling."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ebbtide.scoring import reasons
from ebbtide.scoring.node_table import FloatArray
from ebbtide.scoring.values import LoadResource


def overloaded(
    *, utilisation: Mapping[LoadResource, FloatArray], ceilings: Mapping[LoadResource, float]
) -> dict[int, str]:
    """Candidate positions above a ceiling, each with the reason users will read.

    ``utilisation`` holds arrays parallel to the candidates, NaN where unknown. A node whose
    utilisation is unknown always passes: no data is never a reason to exclude a node. When a
    node is above several ceilings the first resource in ``ceilings`` order is reported.
    """
    found: dict[int, str] = {}
    for resource, ceiling in ceilings.items():
        values = utilisation.get(resource)
        if values is None:
            continue
        with np.errstate(invalid="ignore"):
            above = np.flatnonzero(values > ceiling)
        for position in above.tolist():
            found.setdefault(
                position,
                reasons.node_overloaded(
                    resource=resource, utilisation=float(values[position]), ceiling=ceiling
                ),
            )
    return found
