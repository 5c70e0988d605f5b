"""Fairness over many cycles: a tiny tick-driven cluster where jobs arrive and finish."""

import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from queue_builders import T0

from ebbtide.api.resources import Resources
from ebbtide.queueing import PendingWorkload, QueueSpec, Snapshot, plan_admissions

pytestmark = pytest.mark.unit


@dataclass
class TickCluster:
    """Each tick finishes due jobs, tops every queue's backlog up, then plans once.

    A queue counts as backlogged only if it could fill the whole cluster by itself, so each
    queue's pending requests are topped up to the cluster's capacity (or to ``trickle_cpu``
    for the queues listed there, which then submit at most that much per tick). Sizes and
    durations are random up to the maxima unless fixed per queue.
    """

    queues: list[QueueSpec]
    capacity_cpu: int
    max_job_cpu: int
    max_job_ticks: int
    seed: int
    job_cpu: dict[str, int] = field(default_factory=dict)  # fixed job size for some queues
    first_tick: dict[str, int] = field(default_factory=dict)  # when a queue's jobs start coming
    job_ticks: dict[str, int] = field(default_factory=dict)  # fixed job duration for some queues
    trickle_cpu: dict[str, int] = field(default_factory=dict)
    received: Counter[str] = field(default_factory=Counter)
    admission_ticks: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def run(self, ticks: int) -> None:
        rng = random.Random(self.seed)
        pending: list[PendingWorkload] = []
        running: list[tuple[int, PendingWorkload]] = []  # (finish tick, workload)
        serial = 0
        for tick in range(ticks):
            running = [(end, w) for end, w in running if end > tick]
            for spec in self.queues:
                if tick < self.first_tick.get(spec.name, 0):
                    continue
                backlog = sum(w.requests.cpu_millis for w in pending if w.queue == spec.name)
                while backlog < self.trickle_cpu.get(spec.name, self.capacity_cpu) * 1000:
                    serial += 1
                    pending.append(
                        PendingWorkload(
                            namespace="default",
                            name=f"{spec.name}-{serial}",
                            queue=spec.name,
                            requests=Resources(self._job_cpu(spec.name, rng) * 1000, 0),
                            created_at=T0 + timedelta(seconds=serial),
                        )
                    )
                    backlog += pending[-1].requests.cpu_millis
            usage: defaultdict[str, Resources] = defaultdict(lambda: Resources.ZERO)
            for _, workload in running:
                usage[workload.queue] = usage[workload.queue] + workload.requests
            plan = plan_admissions(
                Snapshot(
                    queues=self.queues,
                    cohort_capacity={"": Resources(self.capacity_cpu * 1000, 0)},
                    pending=pending,
                    usage=usage,
                )
            )
            admitted = {a.workload.ref for a in plan.admissions}
            for admission in plan.admissions:
                workload = admission.workload
                duration = self.job_ticks.get(workload.queue) or rng.randint(1, self.max_job_ticks)
                running.append((tick + duration, workload))
                self.admission_ticks[workload.queue].append(tick)
            pending = [w for w in pending if w.ref not in admitted]
            for _, workload in running:
                self.received[workload.queue] += workload.requests.cpu_millis

    def _job_cpu(self, queue: str, rng: random.Random) -> int:
        return self.job_cpu.get(queue) or rng.randint(1, self.max_job_cpu)


@pytest.mark.parametrize(
    ("capacity_cpu", "tolerance"),
    [
        pytest.param(48, 1.15, id="coarse jobs: 3-cpu jobs against an 8-cpu entitlement"),
        pytest.param(192, 1.05, id="fine jobs: 3-cpu jobs against a 32-cpu entitlement"),
    ],
)
def test_backlogged_queues_converge_to_weighted_shares(capacity_cpu: int, tolerance: float) -> None:
    # Whole jobs cannot split capacity exactly: a queue admitted when its share is lowest
    # overshoots its entitlement by up to one job, which weighs more against a small
    # entitlement. The error therefore shrinks as jobs get small relative to entitlements.
    queues = [QueueSpec(name=f"w{w}", weight=w) for w in (1, 2, 3)]
    cluster = TickCluster(queues=queues, capacity_cpu=capacity_cpu, max_job_cpu=3, max_job_ticks=6, seed=7)
    cluster.run(ticks=300)
    per_weight = [cluster.received[q.name] / q.weight for q in queues]
    assert max(per_weight) / min(per_weight) < tolerance


@settings(max_examples=10, deadline=None)
@given(
    weights=st.lists(st.sampled_from([1.0, 1.5, 2.0, 3.0]), min_size=2, max_size=3),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_weighted_shares_converge_for_any_weights(weights: list[float], seed: int) -> None:
    # Capacity sized so that the smallest entitlement holds eight of the largest jobs.
    capacity_cpu = int(8 * 2 * sum(weights) / min(weights))
    queues = [QueueSpec(name=f"q{i}", weight=w) for i, w in enumerate(weights)]
    cluster = TickCluster(queues=queues, capacity_cpu=capacity_cpu, max_job_cpu=2, max_job_ticks=5, seed=seed)
    cluster.run(ticks=200)
    per_weight = [cluster.received[q.name] / q.weight for q in queues]
    assert max(per_weight) / min(per_weight) < 1.12


@settings(max_examples=20, deadline=None)
@given(
    weights=st.lists(st.sampled_from([0.5, 1.0, 2.0, 10.0, 100.0]), min_size=2, max_size=4),
    max_job_cpu=st.integers(min_value=1, max_value=4),
    spare_cpu=st.integers(min_value=0, max_value=12),
    max_job_ticks=st.integers(min_value=2, max_value=5),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_no_queue_starves(
    weights: list[float], max_job_cpu: int, spare_cpu: int, max_job_ticks: int, seed: int
) -> None:
    # Even a queue whose jobs are far larger than its entitlement (weight 0.5 beside 100)
    # keeps being admitted: once its own work drains it is the least served queue and
    # reserves the capacity it waits for. The bound allows every queue a turn, twice.
    queues = [QueueSpec(name=f"q{i}", weight=w) for i, w in enumerate(weights)]
    cluster = TickCluster(
        queues=queues,
        capacity_cpu=max_job_cpu + spare_cpu,
        max_job_cpu=max_job_cpu,
        max_job_ticks=max_job_ticks,
        seed=seed,
    )
    ticks = 150
    cluster.run(ticks=ticks)
    bound = 2 * (len(queues) + 1) * max_job_ticks
    for spec in queues:
        admitted_at = [-1, *cluster.admission_ticks[spec.name], ticks]
        longest_gap = max(b - a for a, b in itertools.pairwise(admitted_at))
        assert longest_gap <= bound, f"{spec.name} went {longest_gap} ticks without an admission"


def test_big_jobs_are_not_starved_by_a_stream_of_small_ones() -> None:
    # The small-job queue submits one 1-cpu, 8-tick job per tick, so once the cluster is
    # full exactly one cpu frees each tick. Without the reservation rule it would take every
    # freed cpu and the 4-cpu jobs arriving from tick 20 would never find room.
    queues = [QueueSpec(name="big"), QueueSpec(name="small")]
    cluster = TickCluster(
        queues=queues,
        capacity_cpu=8,
        max_job_cpu=1,
        max_job_ticks=8,
        seed=3,
        job_cpu={"big": 4, "small": 1},
        job_ticks={"big": 8, "small": 8},
        first_tick={"big": 20},
        trickle_cpu={"small": 1},
    )
    cluster.run(ticks=200)
    assert cluster.admission_ticks["big"][0] <= 20 + 4
    assert 0.8 < cluster.received["big"] / cluster.received["small"] < 1.25
