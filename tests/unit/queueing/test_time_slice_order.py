"""The TimeSlice order: a workload whose quantum is used yields to one that waits, and goes to the back."""

from dataclasses import replace
from datetime import timedelta

import pytest
from preemption_sim import SimCluster, running, usage_of
from queue_builders import T0, cores, job, queue

from ebbtide.api.fairqueue_vocabulary import PreemptionReason
from ebbtide.queueing import QueueOrder, Snapshot, plan_preemptions
from ebbtide.queueing.orders import order_workloads

pytestmark = pytest.mark.unit

SLICED = replace(queue("q").order(QueueOrder.TIME_SLICE).build(), time_slice=timedelta(minutes=10))


def test_a_workload_past_its_quantum_yields_to_a_waiting_one() -> None:
    old = running(job("old").kind("Job").requests(4).build(), at=T0)
    fresh = running(job("fresh").kind("Job").requests(4).build(), at=T0 + timedelta(minutes=8))
    waiting = job("waiting").kind("Job").requests(4).created(60).build()
    snap = Snapshot(
        queues=[SLICED], cohort_capacity={"": cores(8, 64)}, pending=[waiting], usage=usage_of([old, fresh])
    )
    taken = plan_preemptions(snap, running=[old, fresh], now=T0 + timedelta(minutes=11))
    assert [(p.victim.name, p.reason, p.for_workload.name) for p in taken] == [
        ("old", PreemptionReason.TIME_SLICE_EXPIRED, "waiting")
    ]
    assert "time slice of 10m0s" in taken[0].message


def test_nothing_yields_while_no_one_waits_or_before_the_quantum() -> None:
    old = running(job("old").kind("Job").requests(4).build(), at=T0)
    snap = Snapshot(queues=[SLICED], cohort_capacity={"": cores(8, 64)}, pending=[], usage=usage_of([old]))
    assert plan_preemptions(snap, running=[old], now=T0 + timedelta(hours=5)) == ()
    waiting = job("waiting").kind("Job").requests(8).created(60).build()
    snap = replace(snap, pending=[waiting])
    assert plan_preemptions(snap, running=[old], now=T0 + timedelta(minutes=9)) == ()


def test_a_workload_that_yielded_goes_to_the_back_of_its_queue() -> None:
    first = job("first").created(0).build()
    second = job("second").created(10).build()
    requeued = replace(first, queued_at=T0 + timedelta(minutes=20))
    assert [w.name for w in order_workloads(order=QueueOrder.TIME_SLICE, workloads=[requeued, second])] == [
        "second",
        "first",
    ]


def test_workloads_take_turns_on_a_full_cluster() -> None:
    cluster = SimCluster(
        queues=[SLICED],
        capacity=cores(2, 64),
        pending=[job(f"w{i}").kind("Job").created(i).build() for i in range(4)],
    )
    ran: set[str] = set()
    for _ in range(6):
        cluster.round(step=timedelta(minutes=6))
        ran |= {w.name for w in cluster.running}
    assert ran == {"w0", "w1", "w2", "w3"}
