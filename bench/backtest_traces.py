"""ebbtide's default policy against the stock HPA on recorded load traces, under one scoring model.

For every CSV trace in the traces directory (default ``../shared/traces`` beside the repository)
a policy naming only ``model: Auto`` and ``horizon: 3m`` (everything else: the API's defaults) is
replayed through ``ebbtide backtest``'s engine, beside the baselines of
:mod:`ebbtide.scaling.backtest_comparison`, under the autoscaling yardstick's model: load held on
a 15 s grid, 60 s metrics lag, 120 s start-up, a target of 70 % of what one replica serves, where
one replica serves 1/30 of the trace's peak; overload is a step whose load exceeds what the ready
replicas serve, cost the ready replicas' replica-hours.

Every replay starts at one ready replica, as the yardstick's do. The policy's timeline is also
scored by the yardstick itself (``autoscale.py`` beside the traces, its ``ext`` policy, against
its own ``hpa``): those are the headline figures, and the in-repo ones beside them cross-check
the replay.

Printed per trace and on average: overload and cost as ratios to the stock HPA's (measured in
the same run) for the policy, the reactive-only policy, the stock HPA at a 0.6 target (plain
headroom) and perfect foresight; the averages over odd- and even-indexed traces, and over the
later half of each trace alone (nothing is tuned per trace: these show whether the figures hold
on load the defaults were not chosen on).

    .venv/bin/python bench/backtest_traces.py [TRACES_DIR] [--jobs 2] [--nice 15] [--only NAME,...] [--days 8]

It replays every 15 s step of every trace through the planner (3.2 million steps for the
shared traces, the taxi trace alone 1.24 million), so it takes about 15 minutes of CPU (seven
minutes of wall time with ``--jobs 2``): on a shared machine run it in the background
with ``--nice`` so it yields to others.
The yardstick scores the load on its 15 s grid and allows no resampling, so neither does this.
``--days N`` replays only the first N days of every trace (the peak that sizes a replica is then
theirs): eight days take a few minutes, for trying a change before the full run.

Writes bench/results/backtest_traces.json (with ``--days N``: backtest_traces-Ndays.json).
"""

from __future__ import annotations

import os

# Single-threaded numerical work: a threaded BLAS only adds threads spinning for cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib.util
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from ebbtide.api import ScalingPolicy
from ebbtide.scaling.backtest import ReplayConditions, initial_replicas
from ebbtide.scaling.backtest_comparison import Run, _run, compare
from ebbtide.scaling.baselines import stock_hpa
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec
from ebbtide.scaling.trace_csv import parse_trace_csv
from result_files import result_path

REPO = Path(__file__).resolve().parent.parent
RESULTS = result_path("backtest_traces.json")
PEAK_REPLICAS = 30
TARGET_UTILISATION = 0.7
HEADROOM_UTILISATION = 0.6
CONDITIONS = ReplayConditions(step=15.0, metrics_lag=60.0, startup_delay=120.0, initial=1)
YARDSTICK = REPO.parent / "shared" / "yardstick" / "autoscale.py"
LAG_STEPS = round(CONDITIONS.metrics_lag / CONDITIONS.step)


def held_back(trace: LoadSeries) -> LoadSeries:
    """``trace`` with its first sample also held over the metrics lag before it: the yardstick
    takes the load before a trace to be its first sample, so its policies see that sample from
    the first step on. The replay's first ``LAG_STEPS`` steps are then that lead-in (one replica,
    nothing visible yet), cut before the yardstick scores the timeline."""
    lead = trace.first_time - CONDITIONS.step * np.arange(LAG_STEPS, 0, -1, dtype=np.float64)
    return LoadSeries(
        times=np.concatenate((lead, trace.times)),
        values=np.concatenate((np.full(LAG_STEPS, trace.values[0]), trace.values)),
    )


def first_days(trace: LoadSeries, days: float) -> LoadSeries:
    """The samples of ``trace`` within ``days`` days of its first: a quick replay that scores
    the same way (the peak, and so a replica's capacity, is then the shortened trace's)."""
    keep = trace.times <= trace.first_time + days * 86400.0
    return LoadSeries(times=trace.times[keep], values=trace.values[keep])


PREDICTION = {"model": "Auto", "horizon": "3m"}


def policy_settings(target: float) -> PlannerSettings:
    """The user's policy: only ``model: Auto`` and ``horizon: 3m`` set."""
    manifest = {
        "apiVersion": "ebbtide.io/v1alpha1",
        "kind": "ScalingPolicy",
        "metadata": {"name": "bench"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "bench"},
            "minReplicas": 1,
            "maxReplicas": 200,
            "metric": {"query": "bench", "targetPerReplica": target},
            "prediction": PREDICTION,
        },
    }
    return settings_from_spec(ScalingPolicy.model_validate(manifest).spec)


def bench_trace(path: Path, days: float | None = None) -> dict[str, Any]:
    with path.open(newline="") as stream:
        trace = parse_trace_csv(stream, source=path.name)
    if days is not None:
        trace = first_days(trace, days)
    target = TARGET_UTILISATION * float(np.nanmax(trace.values)) / PEAK_REPLICAS
    settings = policy_settings(target)
    trace = held_back(trace)
    wall, cpu = time.perf_counter(), time.process_time()
    comparison = compare(trace, settings=settings, conditions=CONDITIONS)
    cpu = time.process_time() - cpu
    load = comparison.policy.timeline.load
    initial = initial_replicas(float(load[0]), settings=settings, given=CONDITIONS.initial)
    headroom = stock_hpa(
        load,
        step=CONDITIONS.step,
        target_per_replica=target * HEADROOM_UTILISATION / TARGET_UTILISATION,
        initial=initial,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        metrics_lag=CONDITIONS.metrics_lag,
        startup_delay=CONDITIONS.startup_delay,
    )
    runs = [
        *comparison.runs,
        _run("stock HPA, 0.6 target", *headroom, load, settings, initial, CONDITIONS.step),
    ]
    reasons: dict[str, int] = {}
    for reason in comparison.policy.timeline.reasons:
        reasons[reason] = reasons.get(reason, 0) + 1
    models: dict[str, int] = {}
    for model in comparison.policy.timeline.models:
        if model:
            models[model] = models.get(model, 0) + 1
    return {
        "trace": path.name,
        "steps": int(load.size),
        "yardstick": yardstick_scores(
            path, comparison.policy.timeline.desired_replicas[LAG_STEPS:].tolist(), shortened=days is not None
        ),
        "later_half": {run.label: _later_half(run, comparison.hpa, load, target) for run in runs},
        "target_per_replica": target,
        "policy_cpu_seconds": cpu,
        "policy_cpu_ms_per_decision": 1000 * cpu / max(1, load.size),
        "wall_seconds": time.perf_counter() - wall,
        "runs": {run.label: _figures(run, comparison.hpa) for run in runs},
        "reasons": reasons,
        "forecasts_by": models,
    }


def _yardstick() -> Any:
    spec = importlib.util.spec_from_file_location("yardstick", YARDSTICK)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(YARDSTICK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def yardstick_scores(path: Path, desired: list[int], *, shortened: bool = False) -> dict[str, Any] | None:
    """The yardstick's own scores of its HPA and of ``desired`` (its ``ext`` policy), whole and
    for the later half of the trace; None when the yardstick is not there."""
    if not YARDSTICK.exists():
        return None
    ys = _yardstick()
    _, load = ys.load_trace(str(path))
    if shortened:
        # A shortened replay (--days) is scored on the steps it covers, its capacity from their peak.
        load = load[: len(desired)]
    cap = max(load) / PEAK_REPLICAS
    startup, lag = CONDITIONS.startup_delay, round(CONDITIONS.metrics_lag / CONDITIONS.step)
    hpa = ys.hpa(load, cap, TARGET_UTILISATION, startup, lag, 1, 200)
    size = min(len(load), len(desired))
    figures: dict[str, Any] = {"length_difference": len(load) - len(desired)}
    for part, first in (("whole", 0), ("later_half", size // 2)):
        scores = {}
        for label, timeline in (("hpa", hpa[:size]), ("policy", desired[:size])):
            ready = ys.readiness(timeline, startup, 1)[first:]
            part_load = load[first:size]
            over = sum(1 for value, count in zip(part_load, ready, strict=True) if value > count * cap)
            scores[label] = {
                "overload_share": over / len(part_load),
                "ready_replica_hours": sum(ready) * CONDITIONS.step / 3600.0,
            }
        base, mine = scores["hpa"], scores["policy"]
        figures[part] = {
            **scores,
            "overload_x": None
            if base["overload_share"] == 0
            else mine["overload_share"] / base["overload_share"],
            "cost_x": mine["ready_replica_hours"] / base["ready_replica_hours"],
        }
    return figures


def _later_half(run: Run, hpa: Run, load: Any, target: float) -> dict[str, Any]:
    """``run``'s ratios to the HPA's over the second half of the steps only."""
    first = load.size // 2
    line = target / TARGET_UTILISATION

    def figures(ready: Any) -> tuple[float, float]:
        part = ready[first:]
        return float(np.mean(load[first:] > part * line)), float(part.sum())

    over, cost = figures(run.ready)
    base_over, base_cost = figures(hpa.ready)
    return {"overload_x": None if base_over == 0 else over / base_over, "cost_x": cost / base_cost}


def _figures(run: Run, hpa: Run) -> dict[str, Any]:
    summary, base = run.summary, hpa.summary
    return {
        "overload_share": summary.overload_share,
        "ready_replica_hours": summary.ready_replica_hours,
        "changes": summary.changes,
        "overload_x": None if base.overload_share == 0 else summary.overload_share / base.overload_share,
        "cost_x": summary.ready_replica_hours / base.ready_replica_hours,
    }


def print_report(reports: list[dict[str, Any]]) -> dict[str, Any]:
    labels = [label for label in reports[0]["runs"] if label != "stock HPA"]
    header = "".join(f" {label[:22]:>22}" for label in labels)
    print(f"\n{'trace':38} {'HPA overload':>12}{header}")
    print(f"{'':38} {'':>12}" + "".join(f" {'overload x':>11}{'cost x':>11}" for _ in labels))
    for report in reports:
        runs = report["runs"]
        cells = "".join(
            f" {_x(runs[label]['overload_x']):>11}{runs[label]['cost_x']:>10.3f}x" for label in labels
        )
        print(f"{report['trace']:38} {runs['stock HPA']['overload_share']:>12.2%}{cells}")
    averages: dict[str, Any] = {}
    for label in labels:
        overloads = [
            r["runs"][label]["overload_x"] for r in reports if r["runs"][label]["overload_x"] is not None
        ]
        costs = [r["runs"][label]["cost_x"] for r in reports]
        pooled_over = sum(r["runs"][label]["overload_share"] * r["steps"] for r in reports) / sum(
            r["runs"]["stock HPA"]["overload_share"] * r["steps"] for r in reports
        )
        averages[label] = {
            "mean_overload_x": float(np.mean(overloads)),
            "mean_cost_x": float(np.mean(costs)),
            "pooled_overload_x": pooled_over,
        }
    cells = "".join(
        f" {averages[label]['mean_overload_x']:>10.3f}x{averages[label]['mean_cost_x']:>10.3f}x"
        for label in labels
    )
    print(f"{'mean of per-trace ratios':38} {'':>12}{cells}")
    cpu = [r["policy_cpu_ms_per_decision"] for r in reports]
    print(f"\npolicy CPU per decision: mean {np.mean(cpu):.3f} ms (max {np.max(cpu):.3f} ms)")
    print("aim: overload <= 0.5x the stock HPA's at cost <= 1.05x, on average")
    averages["yardstick"] = print_headline(reports)
    return averages


def _mean_ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    overloads = [row["overload_x"] for row in rows if row["overload_x"] is not None]
    return {
        "mean_overload_x": float(np.mean(overloads)) if overloads else float("nan"),
        "mean_cost_x": float(np.mean([row["cost_x"] for row in rows])) if rows else float("nan"),
        "traces": len(rows),
    }


def print_headline(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The policy against the stock HPA as the yardstick scores both, per trace and averaged
    over all traces, the odd- and even-indexed ones, and the later half of every trace; beside
    them the in-repo replay's own ratios (the cross-check)."""
    scored = [r for r in reports if r["yardstick"] is not None]
    if not scored:
        print("\nthe yardstick was not found: no headline figures")
        return {}
    print(f"\nthe policy against the stock HPA, scored by the yardstick ({YARDSTICK})")
    print(
        f"{'#':>2} {'trace':36} {'HPA overload':>12} {'overload x':>10} {'cost x':>8}  "
        f"{'later half':>18}  {'in-repo replay':>18}"
    )
    for index, report in enumerate(scored):
        whole, later = report["yardstick"]["whole"], report["yardstick"]["later_half"]
        mine = report["runs"][labels_policy(report["runs"])]
        print(
            f"{index:>2} {report['trace'][:36]:36} {whole['hpa']['overload_share']:>12.3%} "
            f"{_x(whole['overload_x']):>10} {whole['cost_x']:>7.3f}x  "
            f"{_x(later['overload_x']):>9} {later['cost_x']:>7.3f}x  "
            f"{_x(mine['overload_x']):>9} {mine['cost_x']:>7.3f}x"
        )
    groups = {
        "all traces": [r["yardstick"]["whole"] for r in scored],
        "odd-indexed traces": [r["yardstick"]["whole"] for i, r in enumerate(scored) if i % 2],
        "even-indexed traces": [r["yardstick"]["whole"] for i, r in enumerate(scored) if not i % 2],
        "later half of every trace": [r["yardstick"]["later_half"] for r in scored],
    }
    headline = {name: _mean_ratios(rows) for name, rows in groups.items()}
    for name, figures in headline.items():
        print(
            f"mean over {name:26} overload {figures['mean_overload_x']:.3f}x "
            f"cost {figures['mean_cost_x']:.3f}x ({figures['traces']} traces)"
        )
    return headline


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("traces", nargs="?", type=Path, default=REPO.parent / "shared" / "traces")
    parser.add_argument("--jobs", type=int, default=1, help="traces replayed in parallel")
    parser.add_argument("--only", default="", help="comma-separated trace file names")
    parser.add_argument("--nice", type=int, default=0, help="niceness added to the replaying processes")
    parser.add_argument("--output", type=Path, default=None, help=f"default {RESULTS} (--days: beside it)")
    parser.add_argument(
        "--days", type=float, default=None, help="replay only the first DAYS days of each trace (quick)"
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = RESULTS if args.days is None else RESULTS.with_stem(f"{RESULTS.stem}-{args.days:g}days")
    paths = sorted(args.traces.glob("*.csv"))
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        paths = [p for p in paths if p.name in wanted or p.stem in wanted]
    if not paths:
        print(f"no CSV traces in {args.traces}", file=sys.stderr)
        return 2
    reports: list[dict[str, Any]] = []
    with ProcessPoolExecutor(
        max_workers=max(1, args.jobs), initializer=os.nice, initargs=(args.nice,)
    ) as pool:
        # Longest replay first, so that the long taxi trace does not end the run alone on one
        # core; each trace is reported (and the JSON rewritten) as soon as it is done, so a long
        # run is readable while it goes.
        futures = [
            pool.submit(bench_trace, p, args.days) for p in sorted(paths, key=_replay_steps, reverse=True)
        ]
        for future in as_completed(futures):
            reports.append(future.result())
            runs = reports[-1]["runs"]
            print(
                f"{reports[-1]['trace']}: policy overload {_x(runs[labels_policy(runs)]['overload_x'])}, "
                f"cost {runs[labels_policy(runs)]['cost_x']:.3f}x",
                flush=True,
            )
            _write(args.output, reports)
    reports.sort(key=lambda r: r["trace"])
    averages = print_report(reports)
    _write(args.output, reports, averages)
    print(f"\nwrote {args.output}")
    return 0


def _replay_steps(path: Path) -> float:
    """How many 15 s steps the trace's replay takes."""
    with path.open(newline="") as stream:
        trace = parse_trace_csv(stream, source=path.name)
    return (trace.last_time - trace.first_time) / CONDITIONS.step


def labels_policy(runs: dict[str, Any]) -> str:
    """The policy's label among a trace's runs."""
    return next(label for label in runs if label.startswith("policy"))


def _write(path: Path, reports: list[dict[str, Any]], averages: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "conditions": str(CONDITIONS),
        "prediction": PREDICTION,
    }
    path.write_text(json.dumps({"meta": meta, "averages": averages, "traces": reports}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
