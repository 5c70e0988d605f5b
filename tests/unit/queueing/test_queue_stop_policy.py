"""A FairQueue's stopPolicy: Hold admits nothing and claims no share, HoldAndDrain also takes
back what the queue runs; None admits as usual."""

from dataclasses import replace

import pytest
from preemption_sim import running, usage_of
from queue_builders import T0, cores, job, queue
from test_reclaim_victims import NOW, backlog, jobs_running

from ebbtide.api.fairqueue_vocabulary import PreemptionReason, StopPolicy, WaitReason
from ebbtide.queueing import PreemptionPolicy, QueueSpec, Snapshot, plan_admissions, plan_preemptions

pytestmark = pytest.mark.unit


def stopped(name: str, policy: StopPolicy, **preemption: bool) -> QueueSpec:
    return replace(queue(name).build(), stop_policy=policy, preemption=PreemptionPolicy(**preemption))


def test_a_held_queue_admits_nothing_and_leaves_the_cohort_to_the_others() -> None:
    snap = Snapshot(
        queues=[stopped("held", StopPolicy.HOLD), queue("open").build()],
        cohort_capacity={"": cores(4, 1024)},
        pending=backlog("held", 3) + backlog("open", 6),
        usage={},
    )
    plan = plan_admissions(snap)
    assert sorted(a.workload.name for a in plan.admissions) == [f"open-wait-{i}" for i in range(4)]
    held = [w for w in plan.waiting if w.workload.queue == "held"]
    assert {w.reason for w in held} == {WaitReason.QUEUE_STOPPED}
    assert held[0].message == "queue 'held' admits nothing while its stopPolicy is Hold"
    assert plan.queues["held"].blocked is None


def test_hold_keeps_running_work_and_hold_and_drain_takes_back_jobs_at_once() -> None:
    runs = jobs_running("q", 2)
    for policy, expected in ((StopPolicy.HOLD, []), (StopPolicy.HOLD_AND_DRAIN, ["q-run-0", "q-run-1"])):
        snap = Snapshot(
            queues=[stopped("q", policy)],
            cohort_capacity={"": cores(20, 1024)},
            pending=[],
            usage=usage_of(runs),
        )
        taken = plan_preemptions(snap, running=runs, now=T0)  # runtime does not matter
        assert sorted(p.victim.name for p in taken) == expected
        assert {p.reason for p in taken} <= {PreemptionReason.QUEUE_DRAINED}
        assert all(p.for_workload is None and p.by_queue == "q" for p in taken)


def test_drain_deletes_bare_pods_only_where_the_queue_allows_pod_preemption() -> None:
    pod = running(job("q-pod").in_queue("q").requests(1).kind("Pod").build(), at=T0)
    for pods, expected in ((False, []), (True, ["q-pod"])):
        snap = Snapshot(
            queues=[stopped("q", StopPolicy.HOLD_AND_DRAIN, pods=pods)],
            cohort_capacity={"": cores(20, 1024)},
            pending=[],
            usage=usage_of([pod]),
        )
        assert [p.victim.name for p in plan_preemptions(snap, running=[pod], now=NOW)] == expected
