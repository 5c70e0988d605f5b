"""The backtest's summary as a small table for people."""

from __future__ import annotations

from collections import Counter

from ebbtide.scaling.backtest import BacktestResult, ReplayConditions
from ebbtide.scaling.backtest_summary import OVERLOAD_UTILISATION
from ebbtide.scaling.settings import PlannerSettings


def report(
    result: BacktestResult,
    *,
    baseline: BacktestResult,
    settings: PlannerSettings,
    conditions: ReplayConditions,
) -> str:
    """The replay's conditions, then overload, replica-hours and changes for the policy and (if
    it is not the same run) its reactive-only baseline, then which models made the forecasts."""
    model = settings.prediction.model
    lines = [
        f"{result.summary.steps} steps of {conditions.step:g}s, metrics lag "
        f"{conditions.metrics_lag:g}s, start-up delay {conditions.startup_delay:g}s, "
        f"target {settings.target_per_replica:g} per replica",
        f"{'':24} {'overload':>9} {'replica-hours':>14} {'changes':>8}",
    ]
    rows = [(f"policy ({model})", result)]
    if baseline is not result:
        rows.append(("reactive only", baseline))
    for label, run in rows:
        summary = run.summary
        lines.append(
            f"{label:24} {summary.overload_share:>9.2%} {summary.replica_hours:>14.1f} {summary.changes:>8d}"
        )
    used = Counter(m for m in result.timeline.models if m)
    if used:
        total = sum(used.values())
        shares = ", ".join(f"{m} {n / total:.0%}" for m, n in used.most_common())
        lines.append(f"forecasts by: {shares}")
    lines.append(f"overload: load above ready replicas x targetPerReplica / {OVERLOAD_UTILISATION:g}")
    return "\n".join(lines)
