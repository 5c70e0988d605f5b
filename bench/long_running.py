"""Long-running and never-ending work with staggered arrivals: do shares converge to the weights?

Part of bench/queue_policies.py (its second table). Tenants become backlogged one after the
other, ``stagger`` seconds apart; each submits at once more than the whole cluster (half
services that never end, half jobs of about an hour) and keeps submitting long jobs, so every
tenant that has arrived stays backlogged. Without preemption, whoever came first keeps what it
got; with reclaim (Fair+reclaim) or time slices (TimeSlice) capacity moves.

Figures, per policy, from :func:`bench.preempting_sim.simulate_preempting` (one cycle every
10 s of simulated time, the operator's planners):

* Jain's index of weighted shares over time, ``J = (sum x)^2 / (n * sum x^2)`` with ``x_i`` the
  cpu tenant ``i`` holds divided by its weight, over the tenants that have arrived: mean over
  the whole run after the second arrival, and over the last stretch (all tenants present);
* time to converge after a tenant becomes backlogged: until every arrived tenant holds its
  weighted target (capacity * weight / sum of arrived weights) within one job's cpu; ``inf``
  when that does not happen before the next arrival (or the end of the run). The table shows
  the median over every arrival of every seed and how many arrivals converged at all;
* preemptions per hour (churn), and the work lost to preemption (cpu-hours run since the
  preempted job's admission, for jobs that do not checkpoint) as a fraction of the work done.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np

from ebbtide.api.resources import Resources
from ebbtide.queueing import PreemptionPolicy, QueueOrder, QueueSpec
from preempting_sim import LongJob, PreemptingResult, simulate_preempting

GI = 1024**3
LONG_POLICIES = ("FIFO", "RoundRobin", "ShortestJobFirst", "TimeSlice", "Fair", "Fair+reclaim")
JOB_CORES = (1, 2)
TIME_SLICE = timedelta(minutes=10)
MIN_RUNTIME = timedelta(minutes=2)


def long_jobs(
    *, seed: int, cpu: int, tenants: list[tuple[str, float]], stagger: float, horizon: float
) -> list[LongJob]:
    rng = np.random.default_rng(seed)
    jobs: list[LongJob] = []
    for index, (tenant, _) in enumerate(tenants):
        start = index * stagger
        offered = 0.0
        while offered < 1.5 * cpu:  # the opening backlog: more than the whole cluster
            cores = float(rng.choice(JOB_CORES))
            service = offered < 0.75 * cpu
            duration = (
                math.inf if service else float(np.clip(rng.lognormal(np.log(3600), 0.5), 600, 6 * 3600))
            )
            arrival = start + float(rng.uniform(0, 60))  # staggered within a minute too
            jobs.append(_job(jobs, tenant, arrival, duration, cores))
            offered += cores
        arrival = start + 60
        while arrival < horizon:  # then a long job every ~10 minutes, so the backlog stays
            arrival += float(rng.exponential(600))
            duration = float(np.clip(rng.lognormal(np.log(3600), 0.5), 600, 6 * 3600))
            jobs.append(_job(jobs, tenant, arrival, duration, float(rng.choice(JOB_CORES))))
    return jobs


def _job(jobs: list[LongJob], tenant: str, arrival: float, duration: float, cores: float) -> LongJob:
    return LongJob(
        name=f"{tenant}-{len(jobs):05d}",
        tenant=tenant,
        arrival=round(arrival, 3),
        duration=duration,
        requests=Resources.from_quantities(cpu_cores=cores, memory_bytes=cores * 4 * GI),
    )


def long_queues(policy: str, tenants: list[tuple[str, float]]) -> tuple[list[QueueSpec], Any]:
    if policy in ("Fair", "Fair+reclaim"):
        preemption = PreemptionPolicy(reclaim=policy == "Fair+reclaim", min_runtime=MIN_RUNTIME)
        queues = [QueueSpec(name=name, weight=weight, preemption=preemption) for name, weight in tenants]
        return queues, lambda job: job.tenant
    spec = QueueSpec(name="shared", order=QueueOrder(policy))
    if policy == "TimeSlice":
        spec = replace(spec, time_slice=TIME_SLICE, preemption=PreemptionPolicy(min_runtime=MIN_RUNTIME))
    return [spec], lambda job: "shared"


def jain(values: list[float]) -> float:
    total = sum(v * v for v in values)
    return 1.0 if total == 0 else sum(values) ** 2 / (len(values) * total)


def measure_long(
    result: PreemptingResult, *, cpu: int, tenants: list[tuple[str, float]], stagger: float, horizon: float
) -> dict[str, Any]:
    weights = dict(tenants)
    arrivals = {name: index * stagger for index, (name, _) in enumerate(tenants)}
    tolerance = max(JOB_CORES) * 1000
    jain_all, jain_last, timeline = [], [], []
    converged_at: dict[str, float] = {}
    for (at, held), _ in zip(result.usage, result.waiting, strict=True):
        present = [name for name in weights if arrivals[name] <= at]
        if len(present) < 2:
            continue
        index = jain([held[name] / weights[name] for name in present])
        jain_all.append(index)
        if at >= arrivals[tenants[-1][0]] + stagger / 2:
            jain_last.append(index)
        if int(at) % 300 == 0:
            timeline.append({"t_min": at / 60, "jain": index, "cpu": {n: held[n] / 1000 for n in present}})
        newest = max(present, key=lambda name: arrivals[name])
        total_weight = sum(weights[name] for name in present)
        on_target = all(
            abs(held[name] - cpu * 1000 * weights[name] / total_weight) <= tolerance for name in present
        )
        if on_target and newest not in converged_at:
            converged_at[newest] = at - arrivals[newest]
    convergence = [converged_at.get(name, math.inf) for name, _ in tenants[1:]]
    hours = horizon / 3600
    return {
        "jain_mean": statistics.fmean(jain_all),
        "jain_all_present": statistics.fmean(jain_last),
        "converge_s": convergence,
        "converge_mean_s": statistics.fmean(convergence),
        "preemptions_per_hour": len(result.preemptions) / hours,
        "lost_cpu_hours": result.lost_cpu_seconds / 3600,
        "lost_fraction": result.lost_cpu_seconds
        / max(result.delivered_cpu_seconds + result.lost_cpu_seconds, 1),
        "completed": result.completed,
        "planner_seconds": result.planner_seconds,
        "timeline": timeline,
    }


def run_long(
    *, seeds: list[int], cpu: int, tenants: list[tuple[str, float]], stagger: float, horizon: float
) -> dict[str, Any]:
    capacity = Resources(cpu * 1000, cpu * 4 * GI)
    runs: dict[str, list[dict[str, Any]]] = {policy: [] for policy in LONG_POLICIES}
    for seed in seeds:
        jobs = long_jobs(seed=seed, cpu=cpu, tenants=tenants, stagger=stagger, horizon=horizon)
        for policy in LONG_POLICIES:
            queues, queue_for = long_queues(policy, tenants)
            result = simulate_preempting(
                jobs=jobs, capacity=capacity, queues=queues, queue_for=queue_for, horizon=horizon
            )
            runs[policy].append(
                measure_long(result, cpu=cpu, tenants=tenants, stagger=stagger, horizon=horizon)
            )
    keys = (
        "jain_mean",
        "jain_all_present",
        "preemptions_per_hour",
        "lost_cpu_hours",
        "lost_fraction",
    )
    summary = {
        policy: {key: statistics.fmean(run[key] for run in policy_runs) for key in keys}
        for policy, policy_runs in runs.items()
    }
    for policy, policy_runs in runs.items():
        # Pooled over every arrival of every seed: the median, and how many converged at all.
        times = [value for run in policy_runs for value in run["converge_s"]]
        summary[policy]["converge_median_s"] = statistics.median(times)
        summary[policy]["converged"] = sum(1 for value in times if not math.isinf(value))
        summary[policy]["arrivals"] = len(times)
    return {"summary": summary, "runs": runs}


def print_long_table(summary: dict[str, dict[str, float]]) -> None:
    baseline = summary["FIFO"]["jain_all_present"]
    header = (
        f"{'policy':<18}{'Jain (w)':>10}{'all present':>13}{'vs FIFO':>9}{'converge (n)':>17}"
        f"{'preempt/h':>11}{'lost cpu-h':>12}{'lost %':>8}"
    )
    print(header)
    print("-" * len(header))
    for policy, row in summary.items():
        converge = row["converge_median_s"]
        converge_text = "never" if math.isinf(converge) else f"{converge / 60:.1f}m"
        converge_text += f" ({row['converged']:.0f}/{row['arrivals']:.0f})"
        print(
            f"{policy:<18}{row['jain_mean']:>10.3f}{row['jain_all_present']:>13.3f}"
            f"{row['jain_all_present'] / baseline:>8.2f}x{converge_text:>17}"
            f"{row['preemptions_per_hour']:>11.1f}{row['lost_cpu_hours']:>12.1f}{row['lost_fraction']:>8.1%}"
        )
