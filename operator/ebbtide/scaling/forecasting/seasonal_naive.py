"""``SeasonalNaive``: the load one season ago, moved by how much the level has shifted since."""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.series import LoadSeries

# The averaging window, unless given, as a share of the season: samples are averaged over a
# 48th of a season (30 minutes of a daily one) so one noisy sample does not become the forecast.
WINDOW_SEASON_SHARE = 1 / 48


@dataclass(frozen=True)
class SeasonalNaive:
    """Predicts the load at ``T = last + horizon`` as the load at ``T - season`` plus the level
    shift: ``mean(last W) - mean(the same W one season earlier)``.

    Why the shift: a plain seasonal naive forecast repeats yesterday, so a service that has grown
    since is under-predicted all day, which is the costly direction for an autoscaler; adding the
    change measured over the most recent window carries today's level into the forecast. Values
    are means over a window ``W`` (``window``, default ``max(horizon, season / 48)``) so a single
    noisy sample does not become the forecast.

    Needs one season plus ``W`` of history (and a season); without it, answers as :class:`Linear`
    and says so in the note. A negative result is cut to zero.
    """

    season: float | None
    window: float | None = None

    @property
    def name(self) -> ModelName:
        return ModelName.SEASONAL_NAIVE

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        season = self.season
        if season is None or season <= horizon:
            return _fall_back(history, horizon=horizon, step=step, why="no season longer than the horizon")
        window = self.window if self.window is not None else max(horizon, season * WINDOW_SEASON_SHARE)
        last = history.last_time
        if history.first_time > last - season - window:
            return _fall_back(history, horizon=horizon, step=step, why="less than one season of history")
        target = last + horizon
        then = history.mean_between(target - season - window / 2, target - season + window / 2)
        recent = history.mean_between(last - window, last)
        recent_then = history.mean_between(last - window - season, last - season)
        if then is None or recent is None or recent_then is None:
            return _fall_back(history, horizon=horizon, step=step, why="a gap in the history")
        return Forecast(value=max(0.0, then + recent - recent_then), model=ModelName.SEASONAL_NAIVE)


def _fall_back(history: LoadSeries, *, horizon: float, step: float, why: str) -> Forecast:
    linear = Linear().forecast(history, horizon=horizon, step=step)
    return Forecast(value=linear.value, model=linear.model, note=f"SeasonalNaive: {why}; used Linear")
