"""``Auto``: per policy, the model that has recently been least wrong, under-prediction weighing
three times as much as over-prediction (see :mod:`.loss`).

How the errors are known, cheaply enough for hundreds of policies at 15-second intervals:

* every call, each candidate forecasts (a refitted model is reused between refits, see
  :mod:`.holt_winters`, so this costs well under a millisecond per candidate), and the forecasts
  wait in the memo until their target time has been observed; then each is scored. Scores are
  sums that halve every half season (6 hours for a daily one), so recent errors count most;
* when there are no scores yet (the first call, a restart: the memo is lost), the candidates are
  replayed over the last season of history (24 cut-offs) to start the scores from evidence;
* the choice itself is revisited only every ``reevaluate_every`` seconds (15 minutes), so the
  model in use does not flap between near-equal candidates.

Candidates are Linear, HoltWinters and SeasonalNaive; without a season only Linear. Ties go to
the first, Linear, the model that assumes least.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.holt_winters import HoltWinters
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.forecasting.replay import replay
from ebbtide.scaling.forecasting.scores import PendingForecast, Scores, score_due
from ebbtide.scaling.forecasting.seasonal_naive import SeasonalNaive
from ebbtide.scaling.series import LoadSeries

REEVALUATE_EVERY = 900.0
REPLAY_ORIGINS = 24
# The window errors are judged over when there is no season to take it from.
SPAN_WITHOUT_SEASON = 6 * 3600.0


@dataclass(frozen=True)
class AutoMemo:
    """Auto's state between calls: the candidates it belongs to, the current choice and when it
    was made, the scores, the forecasts awaiting their truth and each candidate's own memo."""

    names: tuple[ModelName, ...]
    choice: int
    chosen_at: float
    scores: Scores
    pending: tuple[PendingForecast, ...]
    memos: tuple[object | None, ...]


@dataclass(frozen=True)
class Auto:
    """Forecasts with whichever candidate has the lowest recent asymmetric loss."""

    season: float | None
    reevaluate_every: float = REEVALUATE_EVERY

    @property
    def name(self) -> ModelName:
        return ModelName.AUTO

    def candidates(self) -> tuple[Forecaster, ...]:
        if self.season is None:
            return (Linear(),)
        return (Linear(), HoltWinters(season=self.season), SeasonalNaive(season=self.season))

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        candidates = self.candidates()
        names = tuple(candidate.name for candidate in candidates)
        last = history.last_time
        # A memo of other candidates, or from later than this history (a replay), is no use.
        if isinstance(memo, AutoMemo) and memo.names == names and memo.chosen_at <= last:
            scores, pending = score_due(
                memo.scores, memo.pending, history=history, half_life=self._span() / 2
            )
            state, rechoose = replace(memo, scores=scores, pending=pending), False
        else:
            state, rechoose = self._bootstrap(candidates, history, horizon=horizon, step=step), True
        forecasts = [
            candidate.forecast(history, horizon=horizon, step=step, memo=candidate_memo)
            for candidate, candidate_memo in zip(candidates, state.memos, strict=True)
        ]
        choice, chosen_at = state.choice, state.chosen_at
        if rechoose or last - chosen_at >= self.reevaluate_every:
            relative = state.scores.relative()
            choice, chosen_at = relative.index(min(relative)), last
        pending = (
            *state.pending,
            PendingForecast(target=last + horizon, values=tuple(f.value for f in forecasts)),
        )
        chosen = forecasts[choice]
        losses = ", ".join(
            f"{name} {loss:.3f}" for name, loss in zip(names, state.scores.relative(), strict=True)
        )
        note = f"Auto chose {names[choice]} (relative loss: {losses})"
        return Forecast(
            value=chosen.value,
            model=chosen.model,
            note=f"{note}; {chosen.note}" if chosen.note else note,
            warnings=tuple(w for f in forecasts for w in f.warnings),
            memo=AutoMemo(
                names=names,
                choice=choice,
                chosen_at=chosen_at,
                scores=state.scores,
                pending=pending,
                memos=tuple(f.memo for f in forecasts),
            ),
        )

    def _span(self) -> float:
        return self.season if self.season is not None else SPAN_WITHOUT_SEASON

    def _bootstrap(
        self,
        candidates: tuple[Forecaster, ...],
        history: LoadSeries,
        *,
        horizon: float,
        step: float,
    ) -> AutoMemo:
        """Scores from replaying every candidate over the last span of history."""
        span = min(self._span(), max(0.0, history.last_time - history.first_time - horizon))
        results = [
            replay(c, history, horizon=horizon, step=step, span=span, origins=REPLAY_ORIGINS)
            for c in candidates
        ]
        # Every candidate is scored at the same cut-offs against the same samples, so the counts
        # and the mean actual load agree; the sums are kept as if scored one by one.
        scored = results[0]
        scores = Scores(
            losses=tuple(result.loss * result.count for result in results),
            actual=scored.scale * scored.count,
            weight=float(scored.count),
            at=history.last_time,
        )
        return AutoMemo(
            names=tuple(c.name for c in candidates),
            choice=0,
            chosen_at=history.last_time,
            scores=scores,
            pending=(),
            memos=tuple(result.memo for result in results),
        )
