"""The planner's decision explained in one line for people (status message, events)."""

from __future__ import annotations

from ebbtide.scaling.forecasting import Forecast
from ebbtide.scaling.hpa import Recommendation
from ebbtide.scaling.settings import PlannerSettings


def describe(
    *,
    load: float,
    current: int,
    ready: int,
    desired: Recommendation,
    settings: PlannerSettings,
    forecast: Forecast | None,
    forecast_problem: str,
) -> str:
    """``load 420 is 84% of capacity of 5 replicas (5 ready); Linear forecasts 610 in 180s;
    ScaleUpOnForecast: 7 replicas``, with the forecast's note and any forecasting problem."""
    capacity = current * settings.target_per_replica
    usage = f"{load / capacity:.0%} of" if capacity > 0 else "no"
    parts = [f"load {load:.4g} is {usage} capacity of {current} replicas ({ready} ready)"]
    if forecast is not None:
        horizon = settings.prediction.horizon
        parts.append(f"{forecast.model} forecasts {forecast.value:.4g} in {horizon:g}s")
        if forecast.at_horizon is not None:
            quantile = settings.prediction.quantile
            parts.append(f"{forecast.at_horizon.quantile(quantile):.4g} at quantile {quantile:g}")
        if forecast.provisioned is not None:
            parts.append(f"provisions for {forecast.provisioned:.4g}")
        if forecast.note:
            parts.append(forecast.note)
    if forecast_problem:
        parts.append(forecast_problem)
    parts.append(f"{desired.reason}: {desired.replicas} replicas")
    return "; ".join(parts)
