"""Prequential scores: forecasts wait until their target time is observed, then count.

Each candidate's losses are summed with exponential decay (a sum halves every ``half_life``
seconds), so the scores describe recent behaviour without keeping every error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.scaling.forecasting.loss import asymmetric_loss
from ebbtide.scaling.series import LoadSeries


@dataclass(frozen=True)
class Scores:
    """Exponentially decayed sums of each candidate's losses, of the actual load (for a relative
    loss) and of the number of forecasts scored, as of time ``at``."""

    losses: tuple[float, ...]
    actual: float
    weight: float
    at: float

    def relative(self) -> tuple[float, ...]:
        """Each candidate's mean loss as a share of the mean load (0 while nothing is scored)."""
        if self.actual <= 0:
            return tuple(0.0 for _ in self.losses)
        return tuple(loss / self.actual for loss in self.losses)


@dataclass(frozen=True)
class PendingForecast:
    """The candidates' forecasts for ``target``, in candidate order, waiting to be scored."""

    target: float
    values: tuple[float, ...]


def score_due(
    scores: Scores,
    pending: tuple[PendingForecast, ...],
    *,
    history: LoadSeries,
    half_life: float,
) -> tuple[Scores, tuple[PendingForecast, ...]]:
    """``scores`` with every pending forecast whose target time the history has reached scored
    against the sample held at that time, and the forecasts still waiting."""
    last = history.last_time
    for forecast in pending:
        if forecast.target > last:
            continue
        actual = history.value_at(forecast.target)
        if actual is None:
            continue
        decay = 0.5 ** (max(0.0, forecast.target - scores.at) / half_life)
        scores = Scores(
            losses=tuple(
                loss * decay + asymmetric_loss(actual=actual, predicted=value)
                for loss, value in zip(scores.losses, forecast.values, strict=True)
            ),
            actual=scores.actual * decay + abs(actual),
            weight=scores.weight * decay + 1.0,
            at=max(scores.at, forecast.target),
        )
    return scores, tuple(p for p in pending if p.target > last)
