"""Auto picks, per policy, the model with the lowest recent asymmetric loss, and revisits the
choice only every few minutes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scaling_builders import DAY, HOUR, T0

from ebbtide.scaling.forecasting import Auto, ModelName
from ebbtide.scaling.forecasting.auto import REEVALUATE_EVERY, AutoMemo
from ebbtide.scaling.forecasting.loss import UNDER_PREDICTION_FACTOR, asymmetric_loss
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

STEP = 300.0
HORIZON = 1800.0


def office_hours(days: int, seed: int = 1) -> LoadSeries:
    """100 at night, 800 from 9:00 to 17:00 with half-hour ramps: a shape only a seasonal model
    sees coming."""
    times = T0 - T0 % DAY + STEP * np.arange(int(days * DAY / STEP))
    hour = (times % DAY) / HOUR
    rise = np.clip((hour - 9) * 2, 0, 1)
    fall = np.clip((17 - hour) * 2, 0, 1)
    noise = np.random.default_rng(seed).normal(0, 10, times.size)
    return LoadSeries(times=times, values=100 + 700 * np.minimum(rise, fall) + noise)


def drifting_trend(days: int, seed: int = 2) -> LoadSeries:
    """Straight lines whose slope changes every three hours, at random: no daily pattern, so
    yesterday says nothing about today and the local trend says everything."""
    rng = np.random.default_rng(seed)
    count = int(days * DAY / STEP)
    per_segment = int(3 * HOUR / STEP)
    slopes = np.repeat(rng.uniform(-0.05, 0.05, count // per_segment + 1), per_segment)[:count]
    values = 1000 + np.cumsum(slopes * STEP) + rng.normal(0, 2, count)
    return LoadSeries(times=T0 + STEP * np.arange(count), values=values)


def chosen(forecast_memo: object | None) -> ModelName:
    assert isinstance(forecast_memo, AutoMemo)
    return forecast_memo.names[forecast_memo.choice]


def test_auto_picks_a_seasonal_model_for_a_daily_pattern() -> None:
    forecast = Auto(season=DAY).forecast(office_hours(3), horizon=HORIZON, step=STEP)
    assert chosen(forecast.memo) in (ModelName.HOLT_WINTERS, ModelName.SEASONAL_NAIVE)
    assert forecast.model is chosen(forecast.memo)
    assert forecast.note.startswith(f"Auto chose {chosen(forecast.memo)}")


def test_auto_picks_linear_for_a_drifting_trend() -> None:
    forecast = Auto(season=DAY).forecast(drifting_trend(3), horizon=HORIZON, step=STEP)
    assert chosen(forecast.memo) is ModelName.LINEAR


def test_without_a_season_auto_is_linear() -> None:
    forecast = Auto(season=None).forecast(office_hours(1), horizon=HORIZON, step=STEP)
    assert forecast.model is ModelName.LINEAR


def test_the_choice_is_revisited_only_every_few_minutes() -> None:
    history = office_hours(4)
    model = Auto(season=DAY)
    memo: object | None = None
    choice_times = []
    for end in range(int(3 * DAY / STEP), int(3 * DAY / STEP) + 40):
        visible = LoadSeries(times=history.times[:end], values=history.values[:end])
        forecast = model.forecast(visible, horizon=HORIZON, step=STEP, memo=memo)
        memo = forecast.memo
        assert isinstance(memo, AutoMemo)
        choice_times.append(memo.chosen_at)
    distinct = sorted(set(choice_times))
    assert len(distinct) > 1
    assert all(b - a >= REEVALUATE_EVERY for a, b in itertools.pairwise(distinct))


def test_forecasts_are_scored_once_their_target_time_has_been_seen() -> None:
    history = office_hours(4)
    model = Auto(season=DAY)
    start = int(3 * DAY / STEP)
    first = model.forecast(
        LoadSeries(times=history.times[:start], values=history.values[:start]),
        horizon=HORIZON,
        step=STEP,
    )
    assert isinstance(first.memo, AutoMemo)
    assert [p.target for p in first.memo.pending] == [history.times[start - 1] + HORIZON]
    later = start + int(HORIZON / STEP)
    second = model.forecast(
        LoadSeries(times=history.times[:later], values=history.values[:later]),
        horizon=HORIZON,
        step=STEP,
        memo=first.memo,
    )
    assert isinstance(second.memo, AutoMemo)
    # Scores halve every half season: the earlier ones have aged by the horizon.
    aged = first.memo.scores.weight * 0.5 ** (HORIZON / (DAY / 2))
    assert second.memo.scores.weight == pytest.approx(aged + 1)
    assert [p.target for p in second.memo.pending] == [history.times[later - 1] + HORIZON]


@pytest.mark.parametrize(
    ("actual", "predicted", "loss"),
    [(100, 90, 10 * UNDER_PREDICTION_FACTOR), (90, 100, 10), (50, 50, 0)],
    ids=["under-prediction costs the factor", "over-prediction costs its size", "exact is free"],
)
def test_asymmetric_loss(actual: float, predicted: float, loss: float) -> None:
    assert asymmetric_loss(actual=actual, predicted=predicted) == loss
