"""What the planner returns (:class:`Decision`) and carries from one call to the next
(:class:`PlannerState`)."""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.scaling.forecasting.base import ModelName
from ebbtide.scaling.limits import ScaleEvent
from ebbtide.scaling.stabilisation import TimedRecommendation


@dataclass(frozen=True)
class Decision:
    """The replica count to set and why.

    ``reason`` is one of :mod:`ebbtide.api.scalingpolicy_vocabulary`; ``message`` is for people. ``load`` is
    the observed load used (None when it could not be read); ``predicted_load`` and ``model`` are
    the forecast for ``now + horizon`` and the model that made it (None without one).
    ``forecast_warnings`` are warnings the model's fitting raised, recorded for status.
    ``predicted_peak`` is the load the predictive part sized for at ``now + horizon`` (at most
    ``prediction.quantile`` of it, see :mod:`~ebbtide.scaling.forecasting.sizing`; the point
    forecast from a model without a distribution);
    ``model_scores`` are Auto's candidates as ``(model, mean capacity asked, overload share)``
    on the policy's recent history. ``wanted_replicas`` is
    the count before the scale-up cooldown, the rate limits and the min/max clamp (None when the
    load could not be read): where it differs from ``desired_replicas``, a limit bound.
    """

    desired_replicas: int
    reason: str
    message: str
    load: float | None = None
    predicted_load: float | None = None
    model: ModelName | None = None
    forecast_warnings: tuple[str, ...] = ()
    predicted_peak: float | None = None
    model_scores: tuple[tuple[str, float, float], ...] = ()
    wanted_replicas: int | None = None


@dataclass(frozen=True)
class PlannerState:
    """Everything the planner remembers between calls; start with ``PlannerState()``.

    ``failures`` counts consecutive unusable load reads; ``recommendations`` feed the scale-down
    stabilisation window; ``events`` are recent changes for the rate limits; ``last_scale_up``
    drives the scale-up cooldown; ``forecast_memo`` is the forecaster's opaque memo (fitted
    models, Auto's choice). Losing it (an operator restart) is safe: the planner starts afresh.
    """

    failures: int = 0
    recommendations: tuple[TimedRecommendation, ...] = ()
    events: tuple[ScaleEvent, ...] = ()
    last_scale_up: float | None = None
    forecast_memo: object | None = None
