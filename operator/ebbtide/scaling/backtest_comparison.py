"""A policy's backtest beside its baselines, under the same lag and start-up delay.

The baselines (see :mod:`.baselines`): the stock HPA with default behaviour, the same policy
without prediction (reactive only), and perfect foresight. The headline is the policy's overload
and cost as ratios to the stock HPA's: what a user decides by.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebbtide.scaling.backtest import (
    BacktestResult,
    ReplayConditions,
    initial_replicas,
    reactive_only,
    run_backtest,
)
from ebbtide.scaling.backtest_summary import Summary, summarise
from ebbtide.scaling.baselines import IntArray, oracle, stock_hpa
from ebbtide.scaling.forecasting.base import ModelName
from ebbtide.scaling.series import FloatArray, LoadSeries
from ebbtide.scaling.settings import PlannerSettings


@dataclass(frozen=True, eq=False)
class Run:
    """One replay's replicas (asked for, ready) per step and its summary."""

    label: str
    desired: IntArray
    ready: IntArray
    summary: Summary


@dataclass(frozen=True, eq=False)
class Comparison:
    """The policy's backtest and the baseline runs, in order: stock HPA, reactive only (when
    the policy predicts), perfect foresight."""

    policy: BacktestResult
    runs: tuple[Run, ...]

    @property
    def hpa(self) -> Run:
        return self.runs[0]

    def ratios(self, run: Run) -> tuple[float | None, float]:
        """``run``'s (overload, cost) as multiples of the stock HPA's; overload None when the
        HPA had none."""
        hpa = self.hpa.summary
        overload = None if hpa.overload_share == 0 else run.summary.overload_share / hpa.overload_share
        return overload, run.summary.ready_replica_hours / hpa.ready_replica_hours


def compare(trace: LoadSeries, *, settings: PlannerSettings, conditions: ReplayConditions) -> Comparison:
    """Replay ``trace`` through the policy and its baselines."""
    result = run_backtest(trace, settings=settings, conditions=conditions)
    timeline = result.timeline
    load = timeline.load
    step = conditions.step
    initial = initial_replicas(float(load[0]), settings=settings, given=conditions.initial)
    hpa = stock_hpa(
        load,
        step=step,
        target_per_replica=settings.target_per_replica,
        initial=initial,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        metrics_lag=conditions.metrics_lag,
        startup_delay=conditions.startup_delay,
    )
    foresight = oracle(
        load,
        step=step,
        target_per_replica=settings.target_per_replica,
        initial=initial,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        startup_delay=conditions.startup_delay,
    )
    policy = _run(
        f"policy ({settings.prediction.model})",
        timeline.desired_replicas,
        timeline.ready_replicas,
        load,
        settings,
        initial,
        step,
    )
    runs = [
        _run(
            "stock HPA",
            *hpa,
            load,
            settings,
            initial,
            step,
        ),
        policy,
    ]
    if settings.prediction.model is not ModelName.NONE:
        reactive = run_backtest(trace, settings=reactive_only(settings), conditions=conditions).timeline
        runs.append(
            _run(
                "reactive only",
                reactive.desired_replicas,
                reactive.ready_replicas,
                load,
                settings,
                initial,
                step,
            )
        )
    runs.append(_run("perfect foresight", *foresight, load, settings, initial, step))
    return Comparison(policy=result, runs=tuple(runs))


def _run(
    label: str,
    desired: IntArray,
    ready: IntArray,
    load: FloatArray,
    settings: PlannerSettings,
    initial: int,
    step: float,
) -> Run:
    summary = summarise(
        load,
        desired=desired,
        ready=ready,
        initial=initial,
        step=step,
        target_per_replica=settings.target_per_replica,
    )
    return Run(label=label, desired=desired, ready=ready, summary=summary)
