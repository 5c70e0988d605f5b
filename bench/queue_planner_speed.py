"""How long one admission-planning cycle takes: 10,000 pending workloads over 50 queues.

The planner (``ebbtide.queueing.plan_admissions``) runs once per cycle over the whole
snapshot: triage, per-queue ordering, entitlements, the fair walk and a position for every
waiting workload. This measures it on a synthetic snapshot (seeded): queues with mixed
weights and all four orders, workloads from 20 namespaces with mixed requests, priorities and
expected durations, in three situations:

* ``fill``: an empty cluster with room for about a fifth of the pending work (a cold start
  or a large scale-up: many admissions in one cycle);
* ``one-slot``: a full cluster where one large job's worth (4 cpu, 8 GiB) frees (the common
  steady-state cycle: one admission, or a few small ones);
* ``full``: nothing fits (every workload is only reported).

Reports wall-clock and process cpu time (the cpu figure is the planner's own cost even on a
busy machine); asserts nothing. For comparison, the API server writes that carry out one
admission take milliseconds each.

    .venv/bin/python bench/queue_planner_speed.py [--repeats 7]

Prints a table and writes bench/results/queue_planner_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from ebbtide.api.resources import Resources
from ebbtide.queueing import PendingWorkload, QueueOrder, QueueSpec, Snapshot, plan_admissions
from result_files import result_path

RESULTS = result_path("queue_planner_speed.json")
GI = 1024**3
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SIZES = ((1_000, 50), (10_000, 50), (10_000, 500), (50_000, 50))


def make_snapshot(*, pending: int, queues: int, situation: str, seed: int) -> Snapshot:
    rng = random.Random(seed)
    orders = list(QueueOrder)
    specs = [
        QueueSpec(name=f"q{i:03d}", weight=rng.choice([0.5, 1, 1, 2, 3, 5]), order=orders[i % len(orders)])
        for i in range(queues)
    ]
    workloads = [
        PendingWorkload(
            namespace=f"ns{rng.randrange(20):02d}",
            name=f"w{i:06d}",
            queue=specs[rng.randrange(queues)].name,
            requests=Resources(rng.choice([250, 500, 1000, 2000, 4000]), rng.choice([1, 2, 4, 8]) * GI),
            created_at=T0 + timedelta(seconds=rng.randrange(86_400)),
            priority=rng.randrange(10),
            expected_duration=timedelta(seconds=rng.randrange(10, 7200)) if rng.random() < 0.8 else None,
        )
        for i in range(pending)
    ]
    demand_cpu = sum(w.requests.cpu_millis for w in workloads)
    demand_memory = sum(w.requests.memory_bytes for w in workloads)
    if situation == "fill":
        capacity = Resources(demand_cpu // 5, demand_memory // 5)
        usage: dict[str, Resources] = {}
    else:
        # Every queue already runs an equal slice of a cluster as large as in "fill".
        capacity = Resources(demand_cpu // 5, demand_memory // 5)
        per_queue = Resources(capacity.cpu_millis // queues, capacity.memory_bytes // queues)
        usage = {spec.name: per_queue for spec in specs}
        used = Resources(per_queue.cpu_millis * queues, per_queue.memory_bytes * queues)
        room = Resources(4000, 8 * GI) if situation == "one-slot" else Resources.ZERO
        capacity = used + room
    return Snapshot(queues=specs, cohort_capacity={"": capacity}, pending=workloads, usage=usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    print(
        f"{'pending':>8}{'queues':>8}  {'situation':<10}{'admitted':>9}"
        f"{'wall ms (median)':>17}{'wall ms (max)':>14}{'cpu ms (median)':>16}{'cpu us/pending':>15}"
    )
    for pending, queues in SIZES:
        for situation in ("fill", "one-slot", "full"):
            snapshot = make_snapshot(pending=pending, queues=queues, situation=situation, seed=args.seed)
            timings, cpu_times = [], []
            for _ in range(args.repeats):
                started, cpu_started = time.perf_counter(), time.process_time()
                plan = plan_admissions(snapshot)
                timings.append(time.perf_counter() - started)
                cpu_times.append(time.process_time() - cpu_started)
            median = statistics.median(timings)
            cpu_median = statistics.median(cpu_times)
            row = {
                "pending": pending,
                "queues": queues,
                "situation": situation,
                "admitted": len(plan.admissions),
                "median_ms": 1000 * median,
                "max_ms": 1000 * max(timings),
                "cpu_median_ms": 1000 * cpu_median,
                "cpu_us_per_pending": 1e6 * cpu_median / pending,
            }
            rows.append(row)
            print(
                f"{pending:>8}{queues:>8}  {situation:<10}{row['admitted']:>9}{row['median_ms']:>17.1f}"
                f"{row['max_ms']:>14.1f}{row['cpu_median_ms']:>16.1f}{row['cpu_us_per_pending']:>15.1f}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "repeats": args.repeats,
                "seed": args.seed,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
