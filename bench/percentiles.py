"""Order statistics of measured samples, the one definition the benchmarks share."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """The sample at ``fraction`` (0..1) of the sorted values: the nearest rank at or below it,
    the largest sample for 1.0. Raises ``ValueError`` for no samples."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
