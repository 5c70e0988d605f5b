"""What the planner needs to know about a policy, as plain values (durations in seconds).

:func:`settings_from_spec` converts the API model (``ebbtide.api.ScalingPolicySpec``) into
:class:`PlannerSettings`, so the pure planner never depends on pydantic or on how a manifest is
spelled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ebbtide.scaling.forecasting.base import ModelName

if TYPE_CHECKING:
    from ebbtide.api import ScalingPolicySpec
    from ebbtide.api.scalingpolicy import PredictionSpec, ScaleDownRateLimit, ScaleUpRateLimit


@dataclass(frozen=True)
class RateLimit:
    """Within any ``period`` seconds, replicas change by at most
    ``max(max_pods, max_percent% of the count at the start of the period)``; ``max_pods`` None
    means the percentage alone."""

    max_pods: int | None
    max_percent: float
    period: float


@dataclass(frozen=True)
class UtilisationBand:
    """Utilisation (load / (replicas x targetPerReplica)) must exceed ``scale_up`` before a
    scale-up and be below ``scale_down`` before a scale-down."""

    scale_up: float
    scale_down: float


DEFAULT_QUANTILE = 0.95
"""Provision for at most the 95th percentile of the load at the horizon (see :mod:`.planner`)."""
DEFAULT_OVERLOAD_WEIGHT = 1.0
"""Below that quantile, buy what pays at this weight of overload against replica-hours (see
:mod:`~ebbtide.scaling.forecasting.sizing`)."""
SHORT_HISTORY = 6 * 3600.0
"""History a model without a season reads: enough to calibrate its uncertainty."""
SEASON_SEARCH_HISTORY = 3 * 86400.0
"""History a seasonal model reads when no season is declared: a daily season shows twice."""


@dataclass(frozen=True)
class PredictionSettings:
    """Which model forecasts, how far ahead (``horizon``), from how much past (``history``),
    with which ``seasonality`` (None: found in the history, if there is one), for at most which
    ``quantile`` of the load at the horizon, and weighing overload against replica-hours by
    ``overload_weight`` below it (0: the quantile alone)."""

    model: ModelName = ModelName.NONE
    horizon: float = 180.0
    history: float = SHORT_HISTORY
    seasonality: float | None = None
    quantile: float = DEFAULT_QUANTILE
    overload_weight: float = DEFAULT_OVERLOAD_WEIGHT

    @property
    def scale_down_quantile(self) -> float:
        """The quantile a forecast-confirmed scale-down must clear: a quarter of the tail
        ``quantile`` leaves, so removing a replica is four times surer than adding one."""
        return 1.0 - (1.0 - self.quantile) / 4.0


def derived_history(*, model: ModelName, horizon: float, seasonality: float | None) -> float:
    """The history a model needs when the policy does not say: two seasons and an hour for a
    seasonal model (Holt-Winters' initialisation needs two), three days to find a season in when
    none is declared, six hours otherwise; never less than ten horizons."""
    seasonal = model in (ModelName.HOLT_WINTERS, ModelName.SEASONAL_NAIVE, ModelName.AUTO)
    if not seasonal:
        wanted = SHORT_HISTORY
    elif seasonality is None:
        wanted = SEASON_SEARCH_HISTORY
    else:
        wanted = max(SHORT_HISTORY, 2 * seasonality + 3600.0)
    return max(wanted, 10 * horizon)


class FallbackAction(enum.StrEnum):
    """What to do once the load has been unreadable ``failure_threshold`` times in a row."""

    HOLD = "Hold"
    REPLICAS = "Replicas"


@dataclass(frozen=True)
class FallbackSettings:
    """``replicas`` is required with :attr:`FallbackAction.REPLICAS` and ignored otherwise."""

    failure_threshold: int = 3
    action: FallbackAction = FallbackAction.HOLD
    replicas: int | None = None


@dataclass(frozen=True)
class PlannerSettings:
    """One policy's rules for the planner. ``scale_up_cooldown`` is the minimum time between two
    scale-ups; ``scale_down_window`` is the scale-down stabilisation window; a rate limit of None
    means unlimited in that direction; ``interval`` is how often the planner runs."""

    min_replicas: int
    max_replicas: int
    target_per_replica: float
    tolerance: float = 0.1
    band: UtilisationBand | None = None
    scale_up_cooldown: float = 0.0
    scale_down_window: float = 300.0
    scale_up_limit: RateLimit | None = None
    scale_down_limit: RateLimit | None = None
    prediction: PredictionSettings = field(default_factory=PredictionSettings)
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
    interval: float = 15.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ValueError("need 0 <= min_replicas <= max_replicas")
        if not self.target_per_replica > 0:
            raise ValueError("target_per_replica must be positive")
        fallback = self.fallback
        if fallback.action is FallbackAction.REPLICAS and fallback.replicas is None:
            raise ValueError("fallback action Replicas needs a replica count")


def settings_from_spec(spec: ScalingPolicySpec) -> PlannerSettings:
    """The planner's view of a ``ScalingPolicy``'s spec (the pydantic model in ``ebbtide.api``):
    the same rules, durations as seconds, names as enums."""
    cooldown, limits = spec.cooldown, spec.rate_limits
    prediction, fallback = spec.prediction, spec.fallback
    thresholds = spec.thresholds
    return PlannerSettings(
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        target_per_replica=spec.metric.target_per_replica,
        tolerance=spec.tolerance,
        band=(
            None
            if thresholds is None
            else UtilisationBand(scale_up=thresholds.scale_up, scale_down=thresholds.scale_down)
        ),
        scale_up_cooldown=cooldown.scale_up.total_seconds(),
        scale_down_window=cooldown.scale_down.total_seconds(),
        scale_up_limit=None if limits.scale_up is None else _rate_limit(limits.scale_up),
        scale_down_limit=_rate_limit(limits.scale_down),
        prediction=_prediction(prediction),
        fallback=FallbackSettings(
            failure_threshold=fallback.failure_threshold,
            action=FallbackAction(fallback.action),
            replicas=fallback.replicas,
        ),
        interval=spec.interval.total_seconds(),
    )


def _prediction(prediction: PredictionSpec) -> PredictionSettings:
    model = ModelName(prediction.model)
    horizon = prediction.horizon.total_seconds()
    season = None if prediction.seasonality is None else prediction.seasonality.total_seconds()
    history = (
        derived_history(model=model, horizon=horizon, seasonality=season)
        if prediction.history is None
        else prediction.history.total_seconds()
    )
    return PredictionSettings(
        model=model,
        horizon=horizon,
        history=history,
        seasonality=season,
        quantile=prediction.quantile,
        overload_weight=prediction.overload_weight,
    )


def _rate_limit(limit: ScaleUpRateLimit | ScaleDownRateLimit) -> RateLimit:
    return RateLimit(
        max_pods=limit.max_pods,
        max_percent=float(limit.max_percent),
        period=limit.period.total_seconds(),
    )
