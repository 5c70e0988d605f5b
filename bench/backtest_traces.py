"""ebbtide's default policy against the stock HPA on recorded load traces, under one scoring model.

For every CSV trace in the traces directory (default ``../shared/traces`` beside the repository)
a policy naming only ``model: Auto`` and ``horizon: 3m`` (everything else: the API's defaults) is
replayed through ``ebbtide backtest``'s engine, beside the baselines of
:mod:`ebbtide.scaling.backtest_comparison`, under the autoscaling yardstick's model: load held on
a 15 s grid, 60 s metrics lag, 120 s start-up, a target of 70 % of what one replica serves, where
one replica serves 1/30 of the trace's peak; overload is a step whose load exceeds what the ready
replicas serve, cost the ready replicas' replica-hours.

Printed per trace and on average: overload and cost as ratios to the stock HPA's (measured in
the same run) for the policy, the reactive-only policy, the stock HPA at a 0.6 target (plain
headroom) and perfect foresight. Nothing is tuned per trace.

    .venv/bin/python bench/backtest_traces.py [TRACES_DIR] [--jobs 2] [--only NAME,...]

Writes bench/results/backtest_traces.json.
"""

from __future__ import annotations

import os

# Single-threaded numerical work: a threaded BLAS only adds threads spinning for cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
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
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec
from ebbtide.scaling.trace_csv import parse_trace_csv
from result_files import result_path

REPO = Path(__file__).resolve().parent.parent
RESULTS = result_path("backtest_traces.json")
PEAK_REPLICAS = 30
TARGET_UTILISATION = 0.7
HEADROOM_UTILISATION = 0.6
CONDITIONS = ReplayConditions(step=15.0, metrics_lag=60.0, startup_delay=120.0)
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


def bench_trace(path: Path) -> dict[str, Any]:
    with path.open(newline="") as stream:
        trace = parse_trace_csv(stream, source=path.name)
    target = TARGET_UTILISATION * float(np.nanmax(trace.values)) / PEAK_REPLICAS
    settings = policy_settings(target)
    wall, cpu = time.perf_counter(), time.process_time()
    comparison = compare(trace, settings=settings, conditions=CONDITIONS)
    cpu = time.process_time() - cpu
    load = comparison.policy.timeline.load
    initial = initial_replicas(float(load[0]), settings=settings)
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
        "target_per_replica": target,
        "policy_cpu_seconds": cpu,
        "policy_cpu_ms_per_decision": 1000 * cpu / max(1, load.size),
        "wall_seconds": time.perf_counter() - wall,
        "runs": {run.label: _figures(run, comparison.hpa) for run in runs},
        "reasons": reasons,
        "forecasts_by": models,
    }


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
    return averages


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("traces", nargs="?", type=Path, default=REPO.parent / "shared" / "traces")
    parser.add_argument("--jobs", type=int, default=1, help="traces replayed in parallel")
    parser.add_argument("--only", default="", help="comma-separated trace file names")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    paths = sorted(args.traces.glob("*.csv"))
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        paths = [p for p in paths if p.name in wanted or p.stem in wanted]
    if not paths:
        print(f"no CSV traces in {args.traces}", file=sys.stderr)
        return 2
    reports: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # Shortest replay first; each trace is reported (and the JSON rewritten) as soon as it is
        # done, so a long run is readable while it goes.
        futures = [pool.submit(bench_trace, p) for p in sorted(paths, key=_replay_steps)]
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
