"""How wrong the forecasts turned out: each forecast is kept until the load at its target time
has been observed, then scored.

The score is the absolute percentage error ``|forecast - observed| / observed``. It is undefined
for an observed load of zero, so such a forecast is scored only when it was zero too (error 0)
and dropped otherwise. Pending forecasts are in memory only; a restart forgets them, which loses
a few scores and nothing else.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ebbtide.scaling.series import LoadSeries

#: At most this many forecasts wait per policy (a horizon of 1h at a 1s interval is 3600).
MAX_PENDING = 4096


@dataclass(frozen=True)
class ForecastScore:
    """A scored forecast: the ``model`` that made it and its absolute percentage ``error``
    (a fraction: 0.1 is 10 %)."""

    model: str
    error: float


@dataclass(frozen=True)
class _Pending:
    target_time: float
    value: float
    model: str


class ForecastErrors:
    """The forecasts of one policy that wait for their target time."""

    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self._pending: deque[_Pending] = deque(maxlen=max_pending)

    def __len__(self) -> int:
        return len(self._pending)

    def expect(self, *, target_time: float, value: float, model: str) -> None:
        """Remember that ``model`` forecast ``value`` for Unix time ``target_time``."""
        if math.isfinite(value):
            self._pending.append(_Pending(target_time=target_time, value=value, model=model))

    def score(self, observed: LoadSeries) -> list[ForecastScore]:
        """Score every pending forecast whose target time ``observed`` has reached, against the
        sample at (or last before) that time, and forget them. Oldest first."""
        scores: list[ForecastScore] = []
        if len(observed) == 0:
            return scores
        latest = observed.last_time
        while self._pending and self._pending[0].target_time <= latest:
            pending = self._pending.popleft()
            actual = observed.value_at(pending.target_time)
            error = absolute_percentage_error(forecast=pending.value, actual=actual)
            if error is not None:
                scores.append(ForecastScore(model=pending.model, error=error))
        return scores


def absolute_percentage_error(*, forecast: float, actual: float | None) -> float | None:
    """``|forecast - actual| / |actual|``; None when undefined (no or non-finite actual, or an
    actual of zero with a non-zero forecast)."""
    if actual is None or not math.isfinite(actual):
        return None
    if actual == 0:
        return 0.0 if forecast == 0 else None
    return abs(forecast - actual) / abs(actual)
