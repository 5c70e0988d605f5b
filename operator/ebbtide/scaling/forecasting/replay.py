"""Replaying a forecaster over the recent past: what it would have predicted, and how it fared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.forecasting.base import Forecaster
from ebbtide.scaling.forecasting.loss import asymmetric_loss
from ebbtide.scaling.series import LoadSeries


@dataclass(frozen=True)
class ReplayScore:
    """The outcome of a replay: mean asymmetric loss, mean actual load (to put the loss on a
    relative scale), the number of forecasts scored, and the forecaster's memo afterwards."""

    loss: float
    scale: float
    count: int
    memo: object | None


def replay(
    forecaster: Forecaster,
    history: LoadSeries,
    *,
    horizon: float,
    step: float,
    span: float,
    origins: int,
    memo: object | None = None,
) -> ReplayScore:
    """Forecast from ``origins`` evenly spaced cut-off times within the last ``span`` seconds
    (the latest one ``horizon`` before the history's end, so every forecast can be checked), each
    time from the history up to the cut-off only, and score each forecast against the sample
    held at its target time.

    The forecaster's memo is threaded from one cut-off to the next, in time order, so a fitted
    model is reused rather than refitted per cut-off. Cut-offs with fewer than two samples before
    them are skipped; ``count`` says how many were scored (0: the loss means nothing).
    """
    latest = history.last_time - horizon
    total_loss = total_actual = 0.0
    count = 0
    for cut in np.linspace(latest - span, latest, num=origins).tolist():
        past = history.until(cut)
        if len(past) < 2:
            continue
        forecast = forecaster.forecast(past, horizon=horizon, step=step, memo=memo)
        memo = forecast.memo
        actual = history.value_at(past.last_time + horizon)
        if actual is None:
            continue
        total_loss += asymmetric_loss(actual=actual, predicted=forecast.value)
        total_actual += abs(actual)
        count += 1
    if count == 0:
        return ReplayScore(loss=0.0, scale=0.0, count=0, memo=memo)
    return ReplayScore(loss=total_loss / count, scale=total_actual / count, count=count, memo=memo)
