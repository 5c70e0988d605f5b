"""The backtest engine: a recorded load series replayed through the controller's own planner.

The series is put on a regular grid of ``step`` seconds by holding each sample until the next.
At each step the planner sees only the grid points at or before ``now - metrics_lag`` (what
Prometheus would have had), at most ``prediction.history`` of them; replicas it asks for become
ready ``startup_delay`` later, and replicas it removes go at once. Planning starts at the first
step with a visible sample; until then the initial count holds. The initial count is what the
first sample needs, all ready, as if the workload had been scaled for it before the trace began,
unless the conditions name one (the autoscaling yardstick starts every policy at one ready
replica).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ebbtide.scaling.backtest_summary import Summary, summarise
from ebbtide.scaling.decision import PlannerState
from ebbtide.scaling.forecasting.base import Forecaster, ModelName
from ebbtide.scaling.grid import hold_on_grid
from ebbtide.scaling.hpa import replicas_for_load
from ebbtide.scaling.planner import plan
from ebbtide.scaling.series import FloatArray, LoadSeries
from ebbtide.scaling.settings import PlannerSettings
from ebbtide.scaling.simulated_replicas import SimulatedReplicas

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


@dataclass(frozen=True)
class ReplayConditions:
    """How the replayed world behaves: the planning ``step``, how late samples become visible
    (``metrics_lag``), how long a new replica takes to become ready (``startup_delay``), all in
    seconds, the time of the last step (``end``; None: the trace's last sample) and the ready
    replicas at the start (``initial``; None: what the first sample needs)."""

    step: float = 15.0
    metrics_lag: float = 60.0
    startup_delay: float = 120.0
    end: float | None = None
    initial: int | None = None


@dataclass(frozen=True, eq=False)
class Timeline:
    """One entry per step: the time, the load then, the forecast made then (NaN without one),
    the replicas asked for and the replicas ready after the step's decision, and the reason."""

    timestamps: FloatArray
    load: FloatArray
    predicted_load: FloatArray
    desired_replicas: IntArray
    ready_replicas: IntArray
    reasons: tuple[str, ...]
    models: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    timeline: Timeline
    summary: Summary


def reactive_only(settings: PlannerSettings) -> PlannerSettings:
    """The same policy without prediction: the baseline a model must beat."""
    return replace(settings, prediction=replace(settings.prediction, model=ModelName.NONE))


def initial_replicas(first: float, *, settings: PlannerSettings, given: int | None = None) -> int:
    """The count a replay starts with: ``given``, else what the first sample needs; within min
    and max."""
    if given is not None:
        initial = given
    else:
        initial = replicas_for_load(first, target_per_replica=settings.target_per_replica)
        initial = initial if math.isfinite(first) else settings.min_replicas
    return min(max(initial, settings.min_replicas), settings.max_replicas)


def run_backtest(
    trace: LoadSeries,
    *,
    settings: PlannerSettings,
    conditions: ReplayConditions,
    forecaster: Forecaster | None = None,
) -> BacktestResult:
    """Replay ``trace`` through the planner with ``settings`` (and ``forecaster`` in place of
    the model they name, see :func:`~ebbtide.scaling.planner.plan`); raises ValueError on an
    empty trace or a non-positive step."""
    if len(trace) == 0:
        raise ValueError("the trace has no samples")
    step = conditions.step
    if not step > 0:
        raise ValueError("step must be positive")
    # The planner runs once per step, so its interval is the step.
    settings = replace(settings, interval=step)
    start = trace.first_time
    end = trace.last_time if conditions.end is None else conditions.end
    count = max(1, math.floor((end - start) / step + 1e-9) + 1)
    times = start + step * np.arange(count, dtype=np.float64)
    load = hold_on_grid(trace, start=start, step=step, count=count)
    initial = initial_replicas(float(load[0]), settings=settings, given=conditions.initial)
    replicas = SimulatedReplicas(ready=initial, startup_delay=conditions.startup_delay)

    predicted = np.full(count, np.nan)
    desired = np.empty(count, dtype=np.int64)
    ready = np.empty(count, dtype=np.int64)
    reasons: list[str] = []
    models: list[str] = []
    # Grid points visible at each step, and where each step's history window begins.
    visible_ends = np.searchsorted(times, times - conditions.metrics_lag, side="right")
    window_starts = np.searchsorted(times, times - settings.prediction.history, side="left")
    state = PlannerState()
    for index in range(count):
        now = float(times[index])
        visible = int(visible_ends[index])
        reason = model = ""
        if visible > 0:
            window = slice(int(window_starts[index]), visible)
            decision, state = plan(
                settings=settings,
                reading=LoadSeries.unchecked(times[window], values=load[window]),
                current_replicas=replicas.count,
                ready_replicas=replicas.ready(now),
                now=now,
                state=state,
                forecaster=forecaster,
            )
            replicas.scale_to(decision.desired_replicas, now=now)
            if decision.predicted_load is not None:
                predicted[index] = decision.predicted_load
            reason = decision.reason
            model = "" if decision.model is None else str(decision.model)
        desired[index] = replicas.count
        ready[index] = replicas.ready(now)
        reasons.append(reason)
        models.append(model)
    timeline = Timeline(
        timestamps=times,
        load=load,
        predicted_load=predicted,
        desired_replicas=desired,
        ready_replicas=ready,
        reasons=tuple(reasons),
        models=tuple(models),
    )
    summary = summarise(
        timeline.load,
        desired=desired,
        ready=ready,
        initial=initial,
        step=step,
        target_per_replica=settings.target_per_replica,
    )
    return BacktestResult(timeline=timeline, summary=summary)
