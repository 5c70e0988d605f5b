"""Reclaim within a cohort and priority within a queue: which admitted workloads are taken back."""

from dataclasses import replace
from datetime import timedelta

import pytest
from preemption_sim import SimCluster, running, usage_of
from queue_builders import T0, cores, job, queue

from ebbtide.api.fairqueue_vocabulary import PreemptionReason
from ebbtide.api.resources import Resources
from ebbtide.queueing import PreemptionPolicy, QueueSpec, RunningWorkload, Snapshot, plan_preemptions

pytestmark = pytest.mark.unit

RECLAIM = PreemptionPolicy(reclaim=True)
NOW = T0 + timedelta(hours=1)


def reclaiming(name: str, weight: float = 1, **policy: object) -> QueueSpec:
    return replace(queue(name).weight(weight).build(), preemption=replace(RECLAIM, **policy))


def jobs_running(queue_name: str, count: int, *, cpu: float = 1, start: int = 0) -> list[RunningWorkload]:
    """``count`` Jobs of ``queue_name``, admitted one minute apart (the last is the newest)."""
    return [
        running(
            job(f"{queue_name}-run-{i}").in_queue(queue_name).requests(cpu).kind("Job").build(),
            at=T0 + timedelta(minutes=start + i),
        )
        for i in range(count)
    ]


def backlog(queue_name: str, count: int, *, cpu: float = 1) -> list:
    return [
        job(f"{queue_name}-wait-{i}").in_queue(queue_name).requests(cpu).kind("Job").build()
        for i in range(count)
    ]


def preempt(queues: list[QueueSpec], runs: list[RunningWorkload], pending: list, *, cpu: float = 20):
    snap = Snapshot(
        queues=queues, cohort_capacity={"": cores(cpu, 1024)}, pending=pending, usage=usage_of(runs)
    )
    return plan_preemptions(snap, running=runs, now=NOW)


def test_queue_below_its_entitlement_takes_back_the_newest_workloads_of_the_queue_above() -> None:
    runs = jobs_running("low", 10) + jobs_running("high", 10)
    taken = preempt(
        [reclaiming("low", 1), reclaiming("high", 3)], runs, backlog("low", 10) + backlog("high", 10)
    )
    assert [p.victim.name for p in taken] == [f"low-run-{i}" for i in (9, 8, 7, 6, 5)]
    assert {p.reason for p in taken} == {PreemptionReason.RECLAIMED}
    assert {p.by_queue for p in taken} == {"high"}
    assert taken[0].message.startswith("reclaimed by high: 0.50 of its 0.75 share of the cluster-wide cohort")


def test_without_reclaim_nothing_is_preempted() -> None:
    runs = jobs_running("low", 10) + jobs_running("high", 10)
    plain = [queue("low").weight(1).build(), queue("high").weight(3).build()]
    assert preempt(plain, runs, backlog("low", 10) + backlog("high", 10)) == ()


def test_a_queue_without_waiting_work_reclaims_nothing() -> None:
    runs = jobs_running("low", 15) + jobs_running("high", 5)
    assert preempt([reclaiming("low", 1), reclaiming("high", 3)], runs, backlog("low", 5)) == ()


def test_workloads_younger_than_the_minimum_runtime_are_not_taken() -> None:
    runs = jobs_running("low", 10, start=0) + jobs_running("high", 10, start=0)
    young = [replace(w, admitted_at=NOW - timedelta(minutes=1)) for w in runs[7:10]]
    runs = runs[:7] + young + runs[10:]
    queues = [reclaiming("low", 1, min_runtime=timedelta(minutes=5)), reclaiming("high", 3)]
    taken = preempt(queues, runs, backlog("low", 10) + backlog("high", 10))
    assert [p.victim.name for p in taken] == [f"low-run-{i}" for i in (6, 5, 4, 3, 2)]


def test_pods_are_taken_only_from_queues_that_allow_pod_preemption() -> None:
    pods = [replace(w, kind="Pod") for w in jobs_running("low", 10)]
    pending = backlog("low", 10) + backlog("high", 10)
    queues = [reclaiming("low", 1), reclaiming("high", 3)]
    assert preempt(queues, pods + jobs_running("high", 10), pending) == ()
    queues[0] = reclaiming("low", 1, pods=True)
    assert len(preempt(queues, pods + jobs_running("high", 10), pending)) == 5


def test_a_queue_is_never_pushed_below_its_guarantee() -> None:
    low = replace(reclaiming("low", 1), guaranteed=cores(0, 10))
    runs = [replace(w, requests=cores(1, 1)) for w in jobs_running("low", 10)] + jobs_running("high", 10)
    pending = [replace(w, requests=cores(1, 1)) for w in backlog("low", 10)] + backlog("high", 10)
    assert preempt([low, reclaiming("high", 3)], runs, pending) == ()


def test_victims_come_from_the_queue_furthest_above_its_share_first() -> None:
    runs = jobs_running("a", 8) + jobs_running("b", 6) + jobs_running("c", 4)
    pending = backlog("a", 5) + backlog("b", 5) + backlog("c", 5)
    taken = preempt([reclaiming("a"), reclaiming("b"), reclaiming("c", 2)], runs, pending, cpu=18)
    # Entitlements 4.5 : 4.5 : 9. c takes from a (share 1.78) until a is no longer furthest above.
    assert [p.victim.queue for p in taken][:2] == ["a", "a"]
    assert all(p.by_queue == "c" for p in taken)


def test_as_few_victims_as_possible() -> None:
    # The newest workload of the queue above is small: taking it first would not be enough,
    # and once the large one is taken the small one is not needed.
    big = running(job("big").in_queue("low").requests(4).kind("Job").build(), at=T0)
    small = running(
        job("small").in_queue("low").requests(1).kind("Job").build(), at=T0 + timedelta(minutes=5)
    )
    runs = [big, small, *jobs_running("low", 7, start=10), *jobs_running("high", 4)]
    pending = [*backlog("low", 4), job("wide").in_queue("high").requests(4).kind("Job").build()]
    taken = preempt([reclaiming("low", 1), reclaiming("high", 1)], runs, pending, cpu=16)
    victims = [p.victim.name for p in taken]
    assert len(victims) == len(set(victims))
    assert "small" not in victims or "big" not in victims
    freed = sum((p.victim.requests for p in taken), Resources.ZERO)
    assert freed.cpu_millis >= 4000


def test_the_preemptor_never_ends_above_the_queue_it_takes_from() -> None:
    runs = jobs_running("low", 3, cpu=3) + jobs_running("high", 1, cpu=3)
    # high (weight 1.2) is below its entitlement, but after admitting its 6-cpu workload
    # it would be further above than low after losing one: no preemption.
    pending = backlog("low", 2, cpu=3) + backlog("high", 1, cpu=6)
    assert preempt([reclaiming("low", 1), reclaiming("high", 1.2)], runs, pending, cpu=12) == ()


def test_a_higher_priority_workload_preempts_the_lowest_priority_one_of_its_queue() -> None:
    spec = replace(queue("q").build(), preemption=PreemptionPolicy(by_priority=True))
    runs = [replace(w, priority=p) for w, p in zip(jobs_running("q", 4, cpu=5), (10, 0, 0, 5), strict=True)]
    urgent = job("urgent").in_queue("q").requests(5).kind("Job").priority(20).build()
    taken = preempt([spec], runs, [urgent])
    assert [p.victim.name for p in taken] == ["q-run-2"]
    assert taken[0].reason is PreemptionReason.PREEMPTED_BY_PRIORITY


def test_repeated_rounds_converge_to_the_weights_and_stop() -> None:
    cluster = SimCluster(
        queues=[reclaiming("low", 1), reclaiming("high", 3)],
        capacity=cores(20, 1024),
        pending=[],
    )
    # Staggered arrivals: low fills the cluster first, high arrives later.
    cluster.pending = [replace(w, created_at=T0) for w in backlog("low", 30)]
    cluster.round()
    cluster.pending += [replace(w, created_at=T0 + timedelta(minutes=2)) for w in backlog("high", 30)]
    for _ in range(10):
        cluster.round()
    assert cluster.usage("low").cpu_millis == 5000
    assert cluster.usage("high").cpu_millis == 15000
    admitted, taken = cluster.round()
    assert (admitted, taken) == (0, [])
