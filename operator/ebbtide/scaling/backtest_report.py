"""The backtest's comparison as a small table for people, the ratios to the stock HPA first."""

from __future__ import annotations

from collections import Counter

from ebbtide.scaling.backtest import ReplayConditions
from ebbtide.scaling.backtest_comparison import Comparison
from ebbtide.scaling.backtest_summary import OVERLOAD_UTILISATION
from ebbtide.scaling.settings import PlannerSettings


def report(comparison: Comparison, *, settings: PlannerSettings, conditions: ReplayConditions) -> str:
    """The headline (the policy's overload and cost as multiples of the stock HPA's), the
    replay's conditions, then per run overload, cost and changes, then which models forecast."""
    policy = comparison.runs[1]
    overload, cost = comparison.ratios(policy)
    headline = "overload n/a (the stock HPA had none)" if overload is None else f"overload {overload:.2f}x"
    result = comparison.policy
    lines = [
        f"{policy.label} against the stock HPA: {headline}, cost {cost:.2f}x",
        f"{result.summary.steps} steps of {conditions.step:g}s, metrics lag "
        f"{conditions.metrics_lag:g}s, start-up delay {conditions.startup_delay:g}s, "
        f"target {settings.target_per_replica:g} per replica",
        f"{'':24} {'overload':>9} {'overload x':>10} {'replica-hours':>14} {'cost x':>7} {'changes':>8}",
    ]
    for run in comparison.runs:
        summary = run.summary
        over_x, cost_x = comparison.ratios(run)
        over_text = "n/a" if over_x is None else f"{over_x:.2f}x"
        lines.append(
            f"{run.label:24} {summary.overload_share:>9.2%} {over_text:>10} "
            f"{summary.ready_replica_hours:>14.1f} {cost_x:>6.2f}x {summary.changes:>8d}"
        )
    used = Counter(m for m in result.timeline.models if m)
    if used:
        total = sum(used.values())
        shares = ", ".join(f"{m} {n / total:.0%}" for m, n in used.most_common())
        lines.append(f"forecasts by: {shares}")
    lines.append(
        f"overload: load above ready replicas x targetPerReplica / {OVERLOAD_UTILISATION:g}; "
        "cost: ready replica-hours"
    )
    return "\n".join(lines)
