"""Predictive against reactive scaling on recorded load traces, through ``ebbtide backtest``'s
engine (the planner the controller runs).

For every CSV trace in the traces directory (default ``../shared/traces`` beside the repository)
the same policy is replayed with each prediction model (None = reactive only, Linear,
HoltWinters, SeasonalNaive, Auto). Nothing is tuned to a trace; per trace only what the trace
dictates is derived, by fixed rules:

* step = the trace's median sampling interval (the replay cannot resolve less);
* targetPerReplica = mean load / 7.5, so the mean load needs 7.5 replicas;
* start-up delay = horizon = max(2 min, step): a pod starts in two minutes, but no faster than
  one planning step can show; the metrics lag is the command's default, 60 s;
* seasonality 24h and history 72h (three seasons) for all, as for any service with a daily
  cycle; everything else takes the API defaults (tolerance 0.1, scale-down window 5m, rate
  limits 4 pods or 100 % per 15 s up and 100 % per 15 s down), minReplicas 1, maxReplicas 1000.

Figures per run: overload (share of steps where load > ready x target / 0.7), replica-hours,
replica changes and wall time. Per trace also: the replica-hours of perfect foresight
(``ceil(load / target)`` at every step, the cost of never lagging), and the overload reactive
scaling has when given the same replica-hours as a model (by sizing for a lower target:
interpolated on a curve of reactive runs), which says whether prediction beats plain headroom.
A last row, ``PerfectForecast``, runs the same planner with the true future load as its forecast:
the best any model can do under the planner's rules (``max(reactive, predictive)``, never down on
a forecast alone). The aim is at least half the reactive overload at no more replica-hours.

    .venv/bin/python bench/backtest_traces.py [TRACES_DIR] [--models Linear,Auto]

Prints a table per trace and writes bench/results/backtest_traces.json.
"""

from __future__ import annotations

import os

# The replays are single-threaded loops of small numerical problems: a threaded BLAS only adds
# threads spinning for cores, which on a busy machine costs more than the work. Set before numpy
# loads its BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ebbtide.api import ScalingPolicy
from ebbtide.scaling.backtest import BacktestResult, ReplayConditions, run_backtest
from ebbtide.scaling.backtest_summary import summarise
from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.grid import hold_on_grid
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec
from ebbtide.scaling.trace_csv import parse_trace_csv
from result_files import result_path

REPO = Path(__file__).resolve().parent.parent
RESULTS = result_path("backtest_traces.json")
MODELS = ("None", "Linear", "HoltWinters", "SeasonalNaive", "Auto")
REPLICAS_FOR_MEAN_LOAD = 7.5
METRICS_LAG = 60.0
# Reactive runs with extra headroom (target divided by these), to price headroom in overload.
HEADROOMS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.45, 1.6)


def policy_settings(*, model: str, target: float, horizon: float) -> PlannerSettings:
    """The benchmark's policy, built through the API model like ``ebbtide backtest -f``."""
    manifest = {
        "apiVersion": "ebbtide.io/v1alpha1",
        "kind": "ScalingPolicy",
        "metadata": {"name": "bench"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "bench"},
            "minReplicas": 1,
            "maxReplicas": 1000,
            "metric": {"query": "bench", "targetPerReplica": target},
            "prediction": {
                "model": model,
                "horizon": f"{horizon:g}s",
                "history": "72h",
                "seasonality": "24h",
            },
        },
    }
    return settings_from_spec(ScalingPolicy.model_validate(manifest).spec)


@dataclass(frozen=True)
class PerfectForecast:
    """A forecaster that knows the future: the replayed load at the target time."""

    truth: LoadSeries

    @property
    def name(self) -> ModelName:
        return ModelName.LINEAR

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        value = self.truth.value_at(history.last_time + horizon)
        return Forecast(value=history.last_value if value is None else value, model=ModelName.LINEAR)


def timed(
    trace: LoadSeries,
    settings: PlannerSettings,
    conditions: ReplayConditions,
    forecaster: Forecaster | None = None,
) -> tuple[BacktestResult, float, float]:
    """The run, its wall time and its CPU time (the fairer figure on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(trace, settings=settings, conditions=conditions, forecaster=forecaster)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def overload_at(result: BacktestResult, *, target: float, step: float) -> float:
    """The overload of a run measured against ``target`` (not the run's own target)."""
    timeline = result.timeline
    return summarise(
        timeline.load,
        desired=timeline.desired_replicas,
        ready=timeline.ready_replicas,
        initial=int(timeline.desired_replicas[0]),
        step=step,
        target_per_replica=target,
    ).overload_share


def bench_trace(path: Path, models: list[str]) -> dict[str, Any]:
    with path.open(newline="") as stream:
        trace = parse_trace_csv(stream, source=path.name)
    step = float(np.median(np.diff(trace.times)))
    target = float(np.nanmean(trace.values)) / REPLICAS_FOR_MEAN_LOAD
    delay = max(120.0, step)
    conditions = ReplayConditions(step=step, metrics_lag=METRICS_LAG, startup_delay=delay)
    print(
        f"\n{path.name}: {len(trace)} samples, step {step:g}s, target {target:.4g} per replica, "
        f"start-up delay and horizon {delay:g}s",
        flush=True,
    )

    count = math.floor((trace.last_time - trace.first_time) / step + 1e-9) + 1
    grid = hold_on_grid(trace, start=trace.first_time, step=step, count=count)
    truth = LoadSeries(times=trace.first_time + step * np.arange(count), values=grid)
    runs: dict[str, dict[str, Any]] = {}
    for model in [*models, "PerfectForecast"]:
        settings = policy_settings(
            model="Linear" if model == "PerfectForecast" else model, target=target, horizon=delay
        )
        oracle = PerfectForecast(truth) if model == "PerfectForecast" else None
        result, seconds, cpu_seconds = timed(trace, settings, conditions, oracle)
        used: dict[str, int] = {}
        for name in result.timeline.models:
            if name:
                used[name] = used.get(name, 0) + 1
        runs[model] = {
            "overload_share": result.summary.overload_share,
            "replica_hours": result.summary.replica_hours,
            "changes": result.summary.changes,
            "wall_seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "forecasts_by": {k: v / max(1, sum(used.values())) for k, v in used.items()},
        }
        print(f"  ran {model:15} in {seconds:6.1f}s ({cpu_seconds:.1f}s CPU)", flush=True)

    reactive = policy_settings(model="None", target=target, horizon=delay)
    curve = []
    for headroom in HEADROOMS:
        result, _, _ = timed(trace, replace(reactive, target_per_replica=target / headroom), conditions)
        curve.append((result.summary.replica_hours, overload_at(result, target=target, step=step), headroom))
    foresight_hours = float(np.ceil(grid / target).sum() * step / 3600)
    return {
        "trace": path.name,
        "samples": len(trace),
        "step_seconds": step,
        "target_per_replica": target,
        "startup_delay_seconds": delay,
        "horizon_seconds": delay,
        "metrics_lag_seconds": METRICS_LAG,
        "runs": runs,
        "reactive_headroom_curve": [
            {"headroom": h, "replica_hours": rh, "overload_share": o} for rh, o, h in curve
        ],
        "perfect_foresight_replica_hours": foresight_hours,
    }


def same_cost_reactive_overload(report: dict[str, Any], replica_hours: float) -> float | None:
    """Reactive overload at ``replica_hours``, interpolated on the headroom curve (None when
    outside it)."""
    points = sorted((p["replica_hours"], p["overload_share"]) for p in report["reactive_headroom_curve"])
    hours = [p[0] for p in points]
    if not hours[0] <= replica_hours <= hours[-1]:
        return None
    return float(np.interp(replica_hours, hours, [p[1] for p in points]))


def judge(report: dict[str, Any]) -> None:
    """Add to each run its standing against reactive only: extra replica-hours, whether the
    overload was halved, whether the aim was met, and reactive's overload at the same cost."""
    runs = report["runs"]
    base = runs["None"]
    for model, run in runs.items():
        if model == "None":
            continue
        run["extra_replica_hours"] = run["replica_hours"] / base["replica_hours"] - 1
        run["overload_halved"] = run["overload_share"] <= base["overload_share"] / 2
        run["aim_met"] = run["overload_halved"] and run["extra_replica_hours"] <= 0
        run["reactive_overload_at_same_cost"] = same_cost_reactive_overload(report, run["replica_hours"])


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{report['trace']}  (perfect foresight: "
        f"{report['perfect_foresight_replica_hours']:.1f} replica-hours)"
    )
    print(
        f"  {'model':15} {'overload':>9} {'replica-h':>10} {'vs reactive':>12} {'changes':>8} "
        f"{'reactive, same cost':>20} {'aim met':>16} {'wall':>7} {'CPU':>7}"
    )
    for model, run in report["runs"].items():
        versus = same_cost = aim = ""
        if model != "None":
            versus = f"{run['extra_replica_hours']:+.1%} rh"
            peer = run["reactive_overload_at_same_cost"]
            same_cost = "n/a" if peer is None else f"{peer:.2%}"
            aim = "yes" if run["aim_met"] else ("halved, costlier" if run["overload_halved"] else "no")
        print(
            f"  {model:15} {run['overload_share']:>9.2%} {run['replica_hours']:>10.1f} {versus:>12} "
            f"{run['changes']:>8d} {same_cost:>20} {aim:>16} {run['wall_seconds']:>6.1f}s "
            f"{run['cpu_seconds']:>6.1f}s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="?", type=Path, default=REPO.parent / "shared" / "traces")
    parser.add_argument(
        "--models", default=",".join(MODELS[1:]), help="models besides None (always run), comma-separated"
    )
    args = parser.parse_args(argv)
    paths = sorted(args.traces.glob("*.csv"))
    if not paths:
        print(f"no CSV traces in {args.traces}", file=sys.stderr)
        return 2
    models = ["None", *(m.strip() for m in args.models.split(",") if m.strip() and m.strip() != "None")]
    reports = [bench_trace(path, models) for path in paths]
    for report in reports:
        judge(report)
        print_table(report)
    print(
        "\naim met: overload at most half of reactive's at no more replica-hours; 'reactive, same "
        "cost': reactive's overload when sized with extra headroom to spend the same replica-hours"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    RESULTS.write_text(json.dumps({"meta": meta, "traces": reports}, indent=2, default=_jsonable))
    print(f"\nwrote {RESULTS.relative_to(REPO)}")
    return 0


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON: {value!r}")


if __name__ == "__main__":
    sys.exit(main())
