"""``Auto``: per policy, the candidate that would have cost least for the same protection.

Every candidate is calibrated (:mod:`.calibration`), so each offers the same promise, "the load
at the horizon exceeds my ``quantile`` only so often"; what differs is how much capacity each
needs to keep it. Auto scores them the way the user pays, on the policy's own recent past (a
rolling, prequential backtest: each forecast is scored once its period is history):

* cost: the capacity a candidate asked for, by the planner's sizing rule (:mod:`.sizing`: at most
  ``quantile`` of its distribution of the load at the horizon), summed;
* overload: how often the peak load then exceeded that capacity at the overload line
  (``OVERLOAD_UTILISATION``, the share of a replica's capacity the target stands for).

Sums halve every ``half_life`` seconds (three hours), so recent behaviour counts most. The choice
is the cheapest candidate whose overload is within ``OVERLOAD_SLACK`` of the best one's; it is
revisited every ``reevaluate_every`` seconds (15 minutes), so the model in use does not flap.
Until a candidate has ``MIN_SCORED`` scored forecasts, Naive is used. When the season changes
(it is searched for again every hour, and a short history can make it come and go), the
candidates that stay keep their calibration and their scores: only SeasonalNaive starts afresh,
so the others do not lose hours of residuals to a season they do not use.

Candidates: Naive, Linear and, when a season is known (declared, or found in the history by
:mod:`.seasonality`), SeasonalNaive. HoltWinters stays out of Auto: refitting it for every
policy costs more operator CPU than its forecasts earned on recorded traces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.calibration import Calibrated, peak_between
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.forecasting.naive import Naive
from ebbtide.scaling.forecasting.seasonal_naive import SeasonalNaive
from ebbtide.scaling.forecasting.sizing import OVERLOAD_UTILISATION, Sizing
from ebbtide.scaling.series import LoadSeries

REEVALUATE_EVERY = 900.0
HALF_LIFE = 3 * 3600.0
MIN_SCORED = 20.0
OVERLOAD_SLACK = 1.25
OVERLOAD_FLOOR = 0.002


@dataclass(frozen=True)
class CandidateScore:
    """Decayed sums: capacity asked for, overloaded periods and periods scored."""

    cost: float = 0.0
    overloads: float = 0.0
    weight: float = 0.0

    def decayed(self, factor: float) -> CandidateScore:
        return CandidateScore(self.cost * factor, self.overloads * factor, self.weight * factor)

    @property
    def overload_share(self) -> float:
        return self.overloads / self.weight if self.weight > 0 else 0.0


@dataclass(frozen=True)
class PendingChoice:
    """The capacity each candidate asked for, for the period ``(start, end]``."""

    start: float
    end: float
    asked: tuple[float, ...]


@dataclass(frozen=True)
class AutoMemo:
    """Auto's state between calls."""

    names: tuple[ModelName, ...]
    choice: int
    chosen_at: float
    scored_at: float
    scores: tuple[CandidateScore, ...]
    pending: tuple[PendingChoice, ...]
    memos: tuple[object | None, ...]
    season: float | None = None


@dataclass(frozen=True)
class Auto:
    """Forecasts with the candidate that has recently needed least capacity for the protection
    ``sizing`` buys."""

    season: float | None
    sizing: Sizing = field(default_factory=lambda: Sizing(quantile=0.9))
    reevaluate_every: float = REEVALUATE_EVERY

    @property
    def name(self) -> ModelName:
        return ModelName.AUTO

    def candidates(self) -> tuple[Forecaster, ...]:
        models: list[Forecaster] = [Naive(), Linear()]
        if self.season is not None:
            models.append(SeasonalNaive(season=self.season))
        return tuple(Calibrated(model, season=self.season) for model in models)

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        candidates = self.candidates()
        names = tuple(candidate.name for candidate in candidates)
        last = history.last_time
        fresh = not (isinstance(memo, AutoMemo) and memo.scored_at <= last)
        if fresh or not isinstance(memo, AutoMemo):
            memo = AutoMemo(
                names,
                0,
                last,
                last,
                tuple(CandidateScore() for _ in names),
                (),
                (None,) * len(names),
                self.season,
            )
        elif memo.names != names or memo.season != self.season:
            memo = _carried(memo, names=names, season=self.season)
        scores, pending = self._scored(memo, history=history)
        forecasts = [
            candidate.forecast(history, horizon=horizon, step=step, memo=candidate_memo)
            for candidate, candidate_memo in zip(candidates, memo.memos, strict=True)
        ]
        choice, chosen_at = memo.choice, memo.chosen_at
        if fresh or last - chosen_at >= self.reevaluate_every:
            choice, chosen_at = _choose(scores), last
        asked = tuple(self.sizing.provisioned(f) for f in forecasts)
        pending = (*pending, PendingChoice(start=last, end=last + horizon, asked=asked))
        chosen = forecasts[choice]
        note = f"Auto chose {names[choice]} ({_describe(names, scores)})"
        return Forecast(
            value=chosen.value,
            model=chosen.model,
            note=f"{note}; {chosen.note}" if chosen.note else note,
            warnings=tuple(w for f in forecasts for w in f.warnings),
            memo=AutoMemo(
                names, choice, chosen_at, last, scores, pending, tuple(f.memo for f in forecasts), self.season
            ),
            peak=chosen.peak,
            at_horizon=chosen.at_horizon,
            scores=tuple(
                (str(name), score.cost / max(score.weight, 1e-9), score.overload_share)
                for name, score in zip(names, scores, strict=True)
            ),
        )

    def _scored(
        self, memo: AutoMemo, *, history: LoadSeries
    ) -> tuple[tuple[CandidateScore, ...], tuple[PendingChoice, ...]]:
        last = history.last_time
        factor = 0.5 ** (max(0.0, last - memo.scored_at) / HALF_LIFE)
        scores = [score.decayed(factor) for score in memo.scores]
        waiting: list[PendingChoice] = []
        for item in memo.pending:
            if item.end > last:
                waiting.append(item)
                continue
            peak = peak_between(history, start=item.start, end=item.end)
            if peak is None:
                continue
            for index, asked in enumerate(item.asked):
                over = 1.0 if peak > asked / OVERLOAD_UTILISATION else 0.0
                old = scores[index]
                scores[index] = CandidateScore(old.cost + asked, old.overloads + over, old.weight + 1.0)
        return tuple(scores), tuple(waiting)


def _carried(memo: AutoMemo, *, names: tuple[ModelName, ...], season: float | None) -> AutoMemo:
    """``memo`` for a new set of candidates: each that stays keeps its calibration and score,
    except SeasonalNaive when the season changed; periods still being scored are dropped (their
    capacities were asked by the old set)."""
    kept = {
        name: (score, inner)
        for name, score, inner in zip(memo.names, memo.scores, memo.memos, strict=True)
        if name is not ModelName.SEASONAL_NAIVE or memo.season == season
    }
    fresh = (CandidateScore(), None)
    scores = tuple(kept.get(name, fresh)[0] for name in names)
    memos = tuple(kept.get(name, fresh)[1] for name in names)
    chosen = memo.names[memo.choice]
    choice = names.index(chosen) if chosen in names and chosen in kept else 0
    return AutoMemo(names, choice, memo.chosen_at, memo.scored_at, scores, (), memos, season)


def _choose(scores: tuple[CandidateScore, ...]) -> int:
    """The cheapest candidate whose overload is within the slack of the best; Naive (0) until
    every candidate has been scored enough."""
    if any(score.weight < MIN_SCORED for score in scores):
        return 0
    best = min(score.overload_share for score in scores)
    bound = best * OVERLOAD_SLACK + OVERLOAD_FLOOR
    eligible = [i for i, score in enumerate(scores) if score.overload_share <= bound]
    return min(eligible, key=lambda i: scores[i].cost / scores[i].weight)


def _describe(names: tuple[ModelName, ...], scores: tuple[CandidateScore, ...]) -> str:
    return ", ".join(
        f"{name} capacity {score.cost / score.weight:.4g} overload {score.overload_share:.1%}"
        if score.weight > 0
        else f"{name} unscored"
        for name, score in zip(names, scores, strict=True)
    )
