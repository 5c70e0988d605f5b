from dataclasses import dataclass

import pytest
from queue_builders import SnapshotBuilder, job, queue, snapshot

from ebbtide.queueing import NEVER_ADMITTABLE, WaitingWorkload, WaitReason, plan_admissions

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Case:
    name: str
    snapshot: SnapshotBuilder
    workload: str
    reason: WaitReason
    message_mentions: str


CASES = [
    Case(
        "workload naming a missing queue",
        snapshot().with_capacity(cpu=4).with_pending(job("w").in_queue("nope")),
        "w",
        WaitReason.QUEUE_NOT_FOUND,
        "'nope'",
    ),
    Case(
        "namespace outside the queue's selector",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("q").namespaces("team-a"))
        .with_pending(job("w").namespace("team-b")),
        "w",
        WaitReason.NAMESPACE_NOT_ALLOWED,
        "'team-b'",
    ),
    Case(
        "workload bigger than its queue's limit",
        snapshot()
        .with_capacity(cpu=64)
        .with_queues(queue("q").limit(cpu=4))
        .with_pending(job("w").requests(cpu=5)),
        "w",
        WaitReason.EXCEEDS_QUEUE_LIMIT,
        "cpu 5",
    ),
    Case(
        "workload bigger than its whole cohort",
        snapshot().with_capacity(cpu=4).with_queues(queue("q")).with_pending(job("w").requests(cpu=8)),
        "w",
        WaitReason.EXCEEDS_COHORT_CAPACITY,
        "cluster-wide cohort",
    ),
    Case(
        "workload in an empty-capacity cohort",
        snapshot().with_queues(queue("q").cohort("gpu")).with_pending(job("w")),
        "w",
        WaitReason.EXCEEDS_COHORT_CAPACITY,
        "cohort 'gpu'",
    ),
    Case(
        "head that does not fit the free capacity",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("q"))
        .with_usage("q", cpu=3)
        .with_pending(job("w").requests(cpu=2)),
        "w",
        WaitReason.WAITING_FOR_CAPACITY,
        "has cpu 1, memory 1Ti free",
    ),
    Case(
        "head that would take its queue past the limit",
        snapshot()
        .with_capacity(cpu=16)
        .with_queues(queue("q").limit(cpu=4))
        .with_usage("q", cpu=3)
        .with_pending(job("w").requests(cpu=2)),
        "w",
        WaitReason.WAITING_FOR_QUEUE_LIMIT,
        "limit",
    ),
    Case(
        "free capacity held for a queue with a stronger claim",
        snapshot()
        .with_capacity(cpu=8)
        .with_queues(queue("a"), queue("b"))
        .with_usage("b", cpu=6)
        .with_pending(job("a-big").in_queue("a").requests(cpu=3))
        .with_pending(job("w").in_queue("b")),
        "w",
        WaitReason.WAITING_FOR_FAIR_SHARE,
        "'a'",
    ),
    Case(
        "workload behind a blocked head waits for the same reason",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("q"))
        .with_usage("q", cpu=3)
        .with_pending(job("head").requests(cpu=2), job("w").created(5)),
        "w",
        WaitReason.WAITING_FOR_CAPACITY,
        "behind Pod default/head",
    ),
]


def waiting(snap: SnapshotBuilder) -> dict[str, WaitingWorkload]:
    return {item.workload.name: item for item in plan_admissions(snap.build()).waiting}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_waiting_workload_says_why(case: Case) -> None:
    item = waiting(case.snapshot)[case.workload]
    assert item.reason is case.reason
    assert case.message_mentions in item.message


@pytest.mark.parametrize("case", [c for c in CASES if c.reason in NEVER_ADMITTABLE], ids=lambda c: c.name)
def test_never_admittable_workloads_have_no_position(case: Case) -> None:
    item = waiting(case.snapshot)[case.workload]
    assert (item.queue_position, item.cohort_position) == (None, None)


def test_never_admittable_workload_does_not_block_its_queue() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("q").limit(cpu=2))
        .with_pending(job("too-big").requests(cpu=3).created(0), job("ok").created(1))
    )
    assert [a.workload.name for a in plan_admissions(snap.build()).admissions] == ["ok"]


def test_positions_count_within_the_queue_and_in_cohort_fair_order() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=2)
        .with_queues(queue("a"), queue("b"))
        .with_usage("a", cpu=1)
        .with_usage("b", cpu=1)
        .with_pending(*[job(f"a{i}").in_queue("a").created(i) for i in range(3)])
        .with_pending(*[job(f"b{i}").in_queue("b").created(i) for i in range(2)])
    )
    items = waiting(snap)
    assert {name: item.queue_position for name, item in items.items()} == {
        "a0": 1,
        "a1": 2,
        "a2": 3,
        "b0": 1,
        "b1": 2,
    }
    # Projected fair order from equal shares: a and b alternate (a wins ties by name) until
    # b runs out.
    assert {name: item.cohort_position for name, item in items.items()} == {
        "a0": 1,
        "b0": 2,
        "a1": 3,
        "b1": 4,
        "a2": 5,
    }
    plan = plan_admissions(snap.build())
    assert [item.workload.name for item in plan.waiting] == ["a0", "b0", "a1", "b1", "a2"]


def test_cohort_positions_restart_in_each_cohort() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=1, cohort="x")
        .with_capacity(cpu=1, cohort="y")
        .with_queues(queue("a").cohort("x"), queue("b").cohort("y"))
        .with_usage("a", cpu=1)
        .with_usage("b", cpu=1)
        .with_pending(job("a0").in_queue("a"), job("a1").in_queue("a").created(1))
        .with_pending(job("b0").in_queue("b"), job("b1").in_queue("b").created(1))
    )
    items = waiting(snap)
    assert {name: item.cohort_position for name, item in items.items()} == {
        "a0": 1,
        "a1": 2,
        "b0": 1,
        "b1": 2,
    }
