"""What one scaling decision costs in CPU, per prediction model, with the history it reads.

The operator's share of a round that grows with the model is the planner: forecast, quantiles,
the decision. This replays N policies (default 500) round-robin for R rounds each (default 40,
ten minutes of 15-second rounds), each with its own synthetic daily load (phase-shifted, noisy)
and the history window its settings ask for (a spec naming only ``model`` and ``horizon: 3m``,
so the defaults decide it), and measures process CPU per decision after ``--warmup`` rounds
(default 40: a model's first rounds after a start replay its history to calibrate, a one-off
cost reported separately). Memos carry over between a policy's rounds as in the operator.
The reactive-only policy (``None``) is the baseline measured
in the same run; the figure that matters for 500 policies at 15 s is
``500 / 15 x CPU per decision`` = share of one core.

    .venv/bin/python bench/planner_cost.py [--policies 500] [--rounds 40] [--models None,Linear,Auto]

Writes bench/results/planner_cost.json. It uses only ``plan`` and ``settings_from_spec``, so the
same script measures an older tree (PYTHONPATH=<tree>/operator) for a before/after figure.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ebbtide.api import ScalingPolicy
from ebbtide.scaling.decision import PlannerState
from ebbtide.scaling.planner import plan
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec
from result_files import result_path

RESULTS = result_path("planner_cost.json")
STEP = 15.0
DAY = 86400.0
T0 = 1_700_000_000.0


def policy_settings(model: str) -> PlannerSettings:
    manifest = {
        "apiVersion": "ebbtide.io/v1alpha1",
        "kind": "ScalingPolicy",
        "metadata": {"name": "bench"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "bench"},
            "maxReplicas": 200,
            "metric": {"query": "bench", "targetPerReplica": 10.0},
            "prediction": {"model": model, "horizon": "3m"},
        },
    }
    return settings_from_spec(ScalingPolicy.model_validate(manifest).spec)


def load_series(count: int, *, phase: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    times = np.arange(count) * STEP
    daily = 60 + 40 * np.sin(2 * np.pi * (times / DAY + phase))
    return np.maximum(0.0, daily * (1 + rng.normal(0, 0.05, count)))


def measure(model: str, *, policies: int, rounds: int, warmup: int) -> dict[str, Any]:
    settings = policy_settings(model)
    window = max(2, int(settings.prediction.history / STEP))
    total = window + warmup + rounds
    traces = [load_series(total, phase=i / policies, seed=i) for i in range(policies)]
    times = T0 + STEP * np.arange(total)
    states = [PlannerState() for _ in range(policies)]
    replicas = [6] * policies
    cpu = time.process_time()
    warm_seconds = 0.0
    for round_ in range(warmup + rounds):
        if round_ == warmup:
            warm_seconds = time.process_time() - cpu
            cpu = time.process_time()
        end = window + round_
        for index in range(policies):
            reading = LoadSeries(times=times[end - window : end], values=traces[index][end - window : end])
            decision, states[index] = plan(
                settings=settings,
                reading=reading,
                current_replicas=replicas[index],
                ready_replicas=replicas[index],
                now=float(times[end - 1]),
                state=states[index],
            )
            replicas[index] = decision.desired_replicas
    seconds = time.process_time() - cpu
    per_decision = seconds / (policies * rounds)
    return {
        "model": model,
        "history_seconds": settings.prediction.history,
        "decisions": policies * rounds,
        "cpu_seconds": seconds,
        "warmup_rounds": warmup,
        "warmup_cpu_seconds": warm_seconds,
        "cpu_ms_per_decision": 1000 * per_decision,
        "core_share_500_at_15s": per_decision * 500 / STEP,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--models", default="None,Linear,Auto")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = [
        measure(m.strip(), policies=args.policies, rounds=args.rounds, warmup=args.warmup)
        for m in args.models.split(",")
    ]
    base = rows[0]["cpu_ms_per_decision"]
    print(
        f"{'model':8} {'history':>8} {'ms/decision':>12} {'x ' + rows[0]['model']:>8} "
        f"{'core share, 500 @ 15s':>22}"
    )
    for row in rows:
        print(
            f"{row['model']:8} {row['history_seconds'] / 3600:>7.0f}h {row['cpu_ms_per_decision']:>12.3f} "
            f"{row['cpu_ms_per_decision'] / base:>7.1f}x {row['core_share_500_at_15s']:>21.1%}"
            f"   (warm-up: {row['warmup_cpu_seconds']:.1f}s CPU for {row['warmup_rounds']} rounds)"
        )
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
