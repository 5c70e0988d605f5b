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
    from ebbtide.api.scalingpolicy import ScaleDownRateLimit, ScaleUpRateLimit


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


@dataclass(frozen=True)
class PredictionSettings:
    """Which model forecasts, how far ahead (``horizon``), from how much past (``history``) and
    with which ``seasonality`` (None: none known)."""

    model: ModelName = ModelName.NONE
    horizon: float = 180.0
    history: float = 6 * 3600.0
    seasonality: float | None = None


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
        scale_up_limit=_rate_limit(limits.scale_up),
        scale_down_limit=_rate_limit(limits.scale_down),
        prediction=PredictionSettings(
            model=ModelName(prediction.model),
            horizon=prediction.horizon.total_seconds(),
            history=prediction.history.total_seconds(),
            seasonality=(None if prediction.seasonality is None else prediction.seasonality.total_seconds()),
        ),
        fallback=FallbackSettings(
            failure_threshold=fallback.failure_threshold,
            action=FallbackAction(fallback.action),
            replicas=fallback.replicas,
        ),
        interval=spec.interval.total_seconds(),
    )


def _rate_limit(limit: ScaleUpRateLimit | ScaleDownRateLimit) -> RateLimit:
    return RateLimit(
        max_pods=limit.max_pods,
        max_percent=float(limit.max_percent),
        period=limit.period.total_seconds(),
    )
