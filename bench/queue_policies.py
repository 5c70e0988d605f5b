"""FIFO, RoundRobin, ShortestJobFirst and weighted Fair admission on one synthetic workload.

The source documents compared Round Robin, Shortest Job First and time-slice scheduling;
this benchmark compares the orders ebbtide implements, all through the same pure planner
(``ebbtide.queueing.plan_admissions``) driven by a discrete-event cluster (bench/queue_sim.py)
that replans whenever a job arrives or capacity frees. Every job here ends and nothing is
preempted; the second table (bench/long_running.py) adds long-running and never-ending work
with staggered arrivals, where preemption matters, and compares FIFO, RoundRobin,
ShortestJobFirst, TimeSlice, Fair and Fair+reclaim on it.

Workload (seeded, reproducible): four tenants with different weights and job mixes submit
jobs as Poisson arrivals over ``--window`` minutes to a fixed cluster of ``--cpu`` cores
(4 GiB of memory per core, so cpu is every job's dominant resource). Each tenant offers
``--offered`` of the cluster's capacity over the window (default 0.6 each, 2.4x in total),
more than its weighted share, so every tenant stays backlogged and a fair policy has
something to arbitrate; after the window the backlog drains. A job's expected duration
(what ShortestJobFirst sorts by) is its true duration times log-normal noise (sigma 0.3).

Policies: FIFO, RoundRobin (across tenants) and ShortestJobFirst are one queue holding every
tenant's jobs with that order; Fair is one queue per tenant with the tenant's weight (FIFO
within each).

Figures, per policy: mean and p95 wait (arrival to admission) over all jobs; makespan (first
arrival to last completion); and Jain's fairness index of weighted shares,
``J = (sum x)^2 / (n * sum x^2)`` with ``x_i`` = cpu-seconds tenant ``i`` received during the
contended period divided by its weight. J is 1 when every tenant received cpu exactly in
proportion to its weight and 1/n when one tenant received everything. The contended period
runs from the first moment every tenant has a job waiting to the earliest moment some tenant
has its last job admitted: throughout it, every tenant still has work it has not been given.

    .venv/bin/python bench/queue_policies.py [--seeds 1,2,3] [--cpu 32] [--window 60]
        [--stagger 30] [--horizon 4]

Prints two tables (means over the seeds), writes bench/results/queue_policies.json (the
long-running figures under ``long_running``) and bench/results/queue_policies.png.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from ebbtide.api.resources import Resources
from ebbtide.queueing import QueueOrder, QueueSpec
from long_running import print_long_table, run_long
from queue_sim import Job, SimResult, simulate
from result_files import RESULTS_DIR

RESULTS = RESULTS_DIR
GI = 1024**3
MEMORY_PER_CORE = 4 * GI


@dataclass(frozen=True)
class TenantProfile:
    name: str
    weight: float
    cores: tuple[float, ...]  # a job's cpu request is drawn from these
    median_duration: float  # seconds; durations are log-normal around it
    duration_sigma: float


TENANTS = (
    TenantProfile("analytics", weight=1, cores=(2, 4), median_duration=600, duration_sigma=0.5),
    TenantProfile("ci", weight=2, cores=(1,), median_duration=120, duration_sigma=0.6),
    TenantProfile("training", weight=4, cores=(2, 4, 8), median_duration=600, duration_sigma=0.4),
    TenantProfile("adhoc", weight=1, cores=(1, 2), median_duration=300, duration_sigma=1.0),
)
POLICIES = ("FIFO", "RoundRobin", "ShortestJobFirst", "Fair")


def make_jobs(*, seed: int, cpu: int, window: float, offered: float) -> list[Job]:
    """Each tenant's jobs, offering ``offered`` x the cluster's capacity over ``window`` seconds.

    Job sizes and durations are drawn until the tenant's cpu-seconds reach its target, so
    every tenant offers the same load whatever its job mix (a tenant with few large jobs
    would otherwise swing far from its target); arrival times are then uniform over the
    window, i.e. a Poisson process conditioned on its number of arrivals.
    """
    rng = np.random.default_rng(seed)
    jobs = []
    for tenant in TENANTS:
        target = offered * cpu * window
        drawn: list[tuple[float, float]] = []  # (cores, duration)
        while sum(cores * duration for cores, duration in drawn) < target:
            median = np.log(tenant.median_duration)
            duration = float(np.clip(rng.lognormal(median, tenant.duration_sigma), 30, 4 * 3600))
            drawn.append((float(rng.choice(tenant.cores)), duration))
        arrivals = np.sort(rng.uniform(0, window, size=len(drawn)))
        for (cores, duration), arrival in zip(drawn, arrivals, strict=True):
            jobs.append(
                Job(
                    name=f"{tenant.name}-{len(jobs):05d}",
                    tenant=tenant.name,
                    arrival=round(float(arrival), 3),
                    duration=round(duration, 3),
                    requests=Resources.from_quantities(cpu_cores=cores, memory_bytes=cores * MEMORY_PER_CORE),
                    expected_duration=round(duration * float(rng.lognormal(0, 0.3))),
                )
            )
    return jobs


def policy_queues(policy: str) -> tuple[list[QueueSpec], Callable[[Job], str]]:
    if policy == "Fair":
        queues = [QueueSpec(name=t.name, weight=t.weight, order=QueueOrder.FIFO) for t in TENANTS]
        return queues, lambda job: job.tenant
    return [QueueSpec(name="shared", order=QueueOrder(policy))], lambda job: "shared"


def contended_period(result: SimResult) -> tuple[float, float]:
    tenants = [t.name for t in TENANTS]
    start = next(t for t, waiting in result.backlog if all(waiting[name] for name in tenants))
    last_admission = {name: 0.0 for name in tenants}
    for record in result.records:
        last_admission[record.job.tenant] = max(last_admission[record.job.tenant], record.admitted_at)
    return start, min(last_admission.values())


def jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def measure(result: SimResult, *, cpu: int) -> dict[str, Any]:
    waits = np.array([record.wait for record in result.records])
    start, end = contended_period(result)
    received = {t.name: 0.0 for t in TENANTS}
    for record in result.records:
        overlap = min(end, record.finished_at) - max(start, record.admitted_at)
        if overlap > 0:
            received[record.job.tenant] += overlap * record.job.requests.cpu_millis / 1000
    total = sum(received.values())
    backlogged = _backlogged_fraction(result, start=start, end=end)
    weights = {t.name: t.weight for t in TENANTS}
    tenant_waits = {
        t.name: float(np.mean([r.wait for r in result.records if r.job.tenant == t.name])) for t in TENANTS
    }
    return {
        "mean_wait_s": float(waits.mean()),
        "p95_wait_s": float(np.percentile(waits, 95)),
        "makespan_s": max(r.finished_at for r in result.records) - min(r.job.arrival for r in result.records),
        "jain_weighted": jain([received[name] / weights[name] for name in received]),
        "contended_period_s": [start, end],
        "utilisation_in_period": total / (cpu * (end - start)),
        "planner_calls": result.planner_calls,
        "planner_ms_per_call": 1000 * result.planner_seconds / result.planner_calls,
        "tenants": {
            name: {
                "weight": weights[name],
                "cpu_share_in_period": received[name] / total,
                "weighted_target": weights[name] / sum(weights.values()),
                "mean_wait_s": tenant_waits[name],
                "backlogged_fraction": backlogged[name],
            }
            for name in received
        },
    }


def _backlogged_fraction(result: SimResult, *, start: float, end: float) -> dict[str, float]:
    """Share of the period during which each tenant had at least one job waiting."""
    covered = {t.name: 0.0 for t in TENANTS}
    timeline = result.backlog
    for (at, waiting), (following, _) in itertools.pairwise(timeline):
        overlap = min(end, following) - max(start, at)
        if overlap > 0:
            for name, count in waiting.items():
                covered[name] += overlap if count else 0.0
    return {name: value / (end - start) for name, value in covered.items()}


def mean_over_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    scalar = [
        "mean_wait_s",
        "p95_wait_s",
        "makespan_s",
        "jain_weighted",
        "utilisation_in_period",
        "planner_ms_per_call",
    ]
    summary: dict[str, Any] = {key: statistics.fmean(run[key] for run in runs) for key in scalar}
    summary["tenants"] = {
        name: {
            key: statistics.fmean(run["tenants"][name][key] for run in runs)
            for key in (
                "weight",
                "cpu_share_in_period",
                "weighted_target",
                "mean_wait_s",
                "backlogged_fraction",
            )
        }
        for name in runs[0]["tenants"]
    }
    return summary


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'policy':<18}{'mean wait':>11}{'p95 wait':>11}{'makespan':>11}"
        f"{'Jain (w)':>10}{'util':>7}{'plan ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for policy, row in summary.items():
        print(
            f"{policy:<18}{row['mean_wait_s'] / 60:>9.1f}m {row['p95_wait_s'] / 60:>9.1f}m "
            f"{row['makespan_s'] / 60:>9.1f}m {row['jain_weighted']:>9.3f} "
            f"{row['utilisation_in_period']:>6.0%}"
            f"{row['planner_ms_per_call']:>9.2f}"
        )
    print()
    names = list(next(iter(summary.values()))["tenants"])
    print("per tenant: cpu share in the contended period (weighted target), time backlogged in it, mean wait")
    print(f"{'policy':<18}" + "".join(f"{name:>30}" for name in names))
    for policy, row in summary.items():
        cells = "".join(
            f"{t['cpu_share_in_period']:>9.1%} ({t['weighted_target']:.1%})"
            f"{t['backlogged_fraction']:>6.0%}{t['mean_wait_s'] / 60:>7.1f}m"
            for t in row["tenants"].values()
        )
        print(f"{policy:<18}{cells}")


def plot(summary: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    policies = list(summary)
    names = list(summary[policies[0]]["tenants"])
    x = np.arange(len(policies))
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    ax.bar(x - 0.2, [summary[p]["mean_wait_s"] / 60 for p in policies], 0.4, label="mean")
    ax.bar(x + 0.2, [summary[p]["p95_wait_s"] / 60 for p in policies], 0.4, label="p95")
    ax.set(title="Wait from arrival to admission", ylabel="minutes", xticks=x, xticklabels=policies)
    ax.legend()
    ax = axes[0][1]
    ax.bar(x, [summary[p]["jain_weighted"] for p in policies], 0.5, color="tab:green")
    ax.set(
        title="Jain's index of weighted cpu shares (1 = weighted fair)",
        ylim=(0, 1.05),
        xticks=x,
        xticklabels=policies,
    )
    ax = axes[1][0]
    width = 0.8 / (len(policies) + 1)
    tenant_x = np.arange(len(names))
    targets = [summary[policies[0]]["tenants"][n]["weighted_target"] for n in names]
    ax.bar(tenant_x, targets, width, color="black", alpha=0.3, label="weighted target")
    for i, p in enumerate(policies, start=1):
        ax.bar(
            tenant_x + i * width,
            [summary[p]["tenants"][n]["cpu_share_in_period"] for n in names],
            width,
            label=p,
        )
    ax.set(
        title="cpu share in the contended period",
        xticks=tenant_x + width * len(policies) / 2,
        xticklabels=names,
    )
    ax.legend(fontsize="small")
    ax = axes[1][1]
    for i, p in enumerate(policies):
        ax.bar(
            tenant_x + i * width,
            [summary[p]["tenants"][n]["mean_wait_s"] / 60 for n in names],
            width,
            label=p,
        )
    ax.set(
        title="mean wait per tenant",
        ylabel="minutes",
        xticks=tenant_x + width * (len(policies) - 1) / 2,
        xticklabels=names,
    )
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated workload seeds")
    parser.add_argument("--cpu", type=int, default=32, help="cluster cores")
    parser.add_argument("--window", type=float, default=60, help="arrival window, minutes")
    parser.add_argument("--offered", type=float, default=0.6, help="each tenant's offered load")
    parser.add_argument("--stagger", type=float, default=30, help="long-running: minutes between tenants")
    parser.add_argument("--horizon", type=float, default=4, help="long-running: hours simulated")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    capacity = Resources(args.cpu * 1000, args.cpu * MEMORY_PER_CORE)
    runs: dict[str, list[dict[str, Any]]] = {policy: [] for policy in POLICIES}
    started = time.perf_counter()
    job_counts = []
    for seed in seeds:
        jobs = make_jobs(seed=seed, cpu=args.cpu, window=args.window * 60, offered=args.offered)
        job_counts.append(len(jobs))
        for policy in POLICIES:
            queues, queue_for = policy_queues(policy)
            result = simulate(jobs=jobs, capacity=capacity, queues=queues, queue_for=queue_for)
            runs[policy].append(measure(result, cpu=args.cpu))
    summary = {policy: mean_over_seeds(policy_runs) for policy, policy_runs in runs.items()}
    print(
        f"{args.cpu} cores, {len(TENANTS)} tenants (weights "
        f"{', '.join(f'{t.name} {t.weight:g}' for t in TENANTS)}), arrivals over {args.window:g} min, "
        f"offered {args.offered:g} x capacity each; seeds {seeds} ({', '.join(map(str, job_counts))} jobs); "
        f"means over seeds; {time.perf_counter() - started:.0f}s"
    )
    print()
    print_table(summary)
    tenants = [(t.name, t.weight) for t in TENANTS]
    long_started = time.perf_counter()
    long_running = run_long(
        seeds=seeds, cpu=args.cpu, tenants=tenants, stagger=args.stagger * 60, horizon=args.horizon * 3600
    )
    print()
    print(
        f"long-running and never-ending work: tenants backlogged {args.stagger:g} min apart "
        f"({', '.join(name for name, _ in tenants)}), {args.horizon:g} h, cycles every 10 s, "
        f"TimeSlice 10m, minRuntime 2m; means over seeds; {time.perf_counter() - long_started:.0f}s"
    )
    print()
    print_long_table(long_running["summary"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "queue_policies.json").write_text(
        json.dumps(
            {
                "config": {
                    **vars(args),
                    "seeds": seeds,
                    "jobs_per_seed": job_counts,
                    "tenants": [vars(t) for t in TENANTS],
                },
                "summary": summary,
                "runs": runs,
                "long_running": long_running,
            },
            indent=2,
        )
    )
    plot(summary, RESULTS / "queue_policies.png")
    print(f"\nwrote {RESULTS / 'queue_policies.json'} and {RESULTS / 'queue_policies.png'}")


if __name__ == "__main__":
    main()
